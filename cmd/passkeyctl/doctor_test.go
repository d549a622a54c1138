package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/doctor"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// probeGroup is an empty group no target names.
const probeGroup = "4d5e6f70-8192-43a4-b5c6-d7e8f9012345"

func (tn *tenant) doctor(t *testing.T, extra ...string) (int, doctor.Report, string) {
	t.Helper()
	code, out, errOut := tn.run(t, "", append(append([]string{"doctor", "-o", "json"}, tn.flags...), extra...)...)
	var r doctor.Report
	if code != exitError {
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("doctor exited %d with no JSON report: %v\n%s\nstderr: %s", code, err, out, errOut)
		}
	}
	return code, r, errOut
}

func (tn *tenant) fido2JSON(t *testing.T) string {
	t.Helper()
	raw, _, err := tn.emu.Fido2JSON(tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func permission(r doctor.Report, name string) doctor.Permission {
	for _, p := range r.Permissions {
		if p.Name == name {
			return p
		}
	}
	return doctor.Permission{}
}

func containsAll(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	joined := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, joined)
		}
	}
}

const (
	defaultProfileID = "00000000-0000-0000-0000-000000000001"
	yubiKey          = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
)

// richDocument is a migrated tenant's policy with what the model does not
// know at every level and every state the API warns about.
var richDocument = `{
  "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
  "id": "Fido2",
  "state": "enabled",
  "isSelfServiceRegistrationAllowed": true,
  "isAttestationEnforced": true,
  "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []},
  "defaultPasskeyProfile": "` + defaultProfileID + `",
  "futureSetting": {"level": 2},
  "passkeyProfiles": [
    {"id": "` + defaultProfileID + `", "name": "Default passkey profile", "passkeyTypes": "deviceBound,synced",
     "attestationEnforcement": "registrationOnly", "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []}},
    {"id": "` + keysID + `", "name": "Security keys", "passkeyTypes": "deviceBound,quantumBound", "attestationEnforcement": "disabled",
     "keyRestrictions": {"isEnforced": false, "enforcementType": "allow", "aaGuids": ["` + yubiKey + `", "` + yubiKey + `"], "strictness": "high"},
     "colour": "blue"}
  ],
  "includeTargets": [
    {"id": "all_users", "targetType": "group", "isRegistrationRequired": false, "allowedPasskeyProfiles": ["` + defaultProfileID + `"], "priority": 1},
    {"id": "` + staff + `", "targetType": "device", "isRegistrationRequired": false, "allowedPasskeyProfiles": ["` + keysID + `"]}
  ],
  "excludeTargets": [{"id": "` + admins + `", "targetType": "group", "reason": "break-glass"}]
}`

func newRichTenant(t *testing.T) *tenant {
	t.Helper()
	tn := newTenant(t)
	if err := tn.emu.PutFido2(tenantID, []byte(richDocument)); err != nil {
		t.Fatal(err)
	}
	return tn
}

// Read-only: the report lists every unknown property and enum value, and
// every state the API warns about; the model round-trips the document; and
// nothing is written.
func TestDoctorReadOnly(t *testing.T) {
	tn := newRichTenant(t)
	code, r, errOut := tn.doctor(t)
	if code != exitOK || len(r.Attention) != 0 {
		t.Errorf("doctor exited %d, attention %q: %s", code, r.Attention, errOut)
	}
	if r.Credentials != doctor.StatusOK || !r.RoundTrip.Checked || !r.RoundTrip.Equal || len(r.RoundTrip.Differences) != 0 {
		t.Errorf("credentials %q, round trip %+v; want ok and equal", r.Credentials, r.RoundTrip)
	}
	for name, want := range map[string]string{
		"Policy.Read.AuthenticationMethod":      doctor.StatusOK,
		"Group.Read.All":                        doctor.StatusOK,
		"Policy.ReadWrite.AuthenticationMethod": doctor.StatusNotChecked,
	} {
		if got := permission(r, name).Status; got != want {
			t.Errorf("permission %s: %q, want %q", name, got, want)
		}
	}
	keys := `passkey profile "Security keys" (` + keysID + `)`
	containsAll(t, "unmodelled", r.Unmodelled,
		`fido2 configuration: property "futureSetting" = {"level":2}`,
		keys+`: property "colour" = "blue"`,
		keys+` keyRestrictions: property "strictness" = "high"`,
		keys+`: passkeyTypes member "quantumBound"`,
		`include target all_users: property "priority" = 1`,
		`include target `+staff+`: targetType "device"`,
		`exclude target `+admins+`: property "reason" = "break-glass"`,
	)
	if len(r.Unmodelled) != 7 {
		t.Errorf("unmodelled lists %d items, want 7:\n%s", len(r.Unmodelled), strings.Join(r.Unmodelled, "\n"))
	}
	containsAll(t, "warnings", r.Warnings,
		`passkey profile "Default passkey profile" (`+defaultProfileID+`): attestation is enforced while synced passkeys are allowed`,
		keys+": keyRestrictions.aaGuids repeats "+yubiKey,
		keys+": keyRestrictions list 2 AAGUIDs with isEnforced false",
	)
	if len(r.Warnings) != 3 || r.Probe != nil || r.Emulator.NewProfileIDs != doctor.NotProbed {
		t.Errorf("warnings %q (want 3), probe %+v, emulator %+v", r.Warnings, r.Probe, r.Emulator)
	}
	if n := tn.emu.Stats().Count(tenantID, "PATCH", "", emulator.AnyStatus); n != 0 {
		t.Errorf("doctor without --probe-writes sent %d PATCHes", n)
	}

	// The text form says the same.
	code, out, _ := tn.run(t, "", append([]string{"doctor"}, tn.flags...)...)
	for _, want := range []string{"Round trip: ok", `property "futureSetting"`, "Write probes: not run", "Every check passed."} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("text report (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
}

// A tenant never migrated has no default profile.
func TestDoctorNoDefaultProfile(t *testing.T) {
	tn := newTenant(t)
	if err := tn.emu.PutFido2(tenantID, []byte(`{"state": "disabled", "isSelfServiceRegistrationAllowed": true,
		"isAttestationEnforced": false, "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []},
		"includeTargets": [], "excludeTargets": []}`)); err != nil {
		t.Fatal(err)
	}
	code, r, errOut := tn.doctor(t)
	if code != exitOK || !r.RoundTrip.Equal {
		t.Errorf("doctor exited %d, round trip %+v: %s", code, r.RoundTrip, errOut)
	}
	containsAll(t, "warnings", r.Warnings, "fido2 configuration: Entra has not moved this tenant to passkey profiles yet")
}

func TestDoctorPermissions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		roles   []string
		missing []string
		ok      []string
	}{
		{"policy read only", []string{emulator.RolePolicyRead}, []string{"Group.Read.All"}, []string{"Policy.Read.AuthenticationMethod"}},
		{"group read only", []string{emulator.RoleGroupRead}, []string{"Policy.Read.AuthenticationMethod"}, []string{"Group.Read.All"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenantWithApp(t, emulator.Options{}, emulator.App{ClientID: clientID, ClientSecret: secret, Roles: tc.roles})
			code, r, errOut := tn.doctor(t)
			if code != exitChanges {
				t.Errorf("doctor exited %d, want 2: %s", code, errOut)
			}
			for _, name := range tc.missing {
				if p := permission(r, name); p.Status != doctor.StatusMissing {
					t.Errorf("permission %s: %+v, want missing", name, p)
				}
				containsAll(t, "attention", r.Attention, "permission missing: "+name)
			}
			for _, name := range tc.ok {
				if p := permission(r, name); p.Status != doctor.StatusOK {
					t.Errorf("permission %s: %+v, want ok", name, p)
				}
			}
			if p := permission(r, "Group.Read.All"); p.Status == doctor.StatusMissing && !strings.Contains(p.Detail, "only needed for groupName targets") {
				t.Errorf("Group.Read.All detail %q does not say it is only needed for groupName targets", p.Detail)
			}
		})
	}
	t.Run("read-only app probing writes", func(t *testing.T) {
		tn := newTenantWithApp(t, emulator.Options{}, emulator.App{ClientID: clientID, ClientSecret: secret,
			Roles: []string{emulator.RolePolicyRead, emulator.RoleGroupRead}})
		before := tn.fido2JSON(t)
		code, r, errOut := tn.doctor(t, "--probe-writes")
		if p := permission(r, "Policy.ReadWrite.AuthenticationMethod"); code != exitChanges || p.Status != doctor.StatusMissing {
			t.Errorf("doctor exited %d with %+v, want 2 and missing: %s", code, p, errOut)
		}
		if r.Probe == nil || !r.Probe.Restore.Restored || r.Probe.Restore.Patched || tn.fido2JSON(t) != before {
			t.Errorf("probe %+v: want the document untouched and no restore PATCH", r.Probe)
		}
	})
}

// Under every answer the emulator can give, the write probes name that
// answer, and leave the document as it was.
func TestDoctorProbeWrites(t *testing.T) {
	for _, ids := range []emulator.NewProfileIDs{emulator.NewProfileIDsAssign, emulator.NewProfileIDsHonour, emulator.NewProfileIDsReject} {
		for _, ref := range []emulator.Verdict{emulator.Refuse, emulator.Allow} {
			t.Run(string(ids)+"/"+string(ref), func(t *testing.T) {
				tn := newRichTenant(t)
				if err := tn.emu.Seed(emulator.Tenant{ID: tenantID, Groups: []emulator.Group{{ID: probeGroup, DisplayName: "Doctor probe"}}}); err != nil {
					t.Fatal(err)
				}
				if err := tn.emu.SetBehavior(tenantID, emulator.Behavior{NewProfileIDs: ids, SamePatchReference: ref}); err != nil {
					t.Fatal(err)
				}
				before := tn.fido2JSON(t)
				code, r, errOut := tn.doctor(t, "--probe-writes", "--probe-group", probeGroup)
				if code != exitOK || len(r.Attention) != 0 || r.Probe == nil {
					t.Fatalf("doctor exited %d, attention %q: %s", code, r.Attention, errOut)
				}
				wantRef := string(ref)
				if ids != emulator.NewProfileIDsHonour {
					wantRef = doctor.Any // unobservable: see the report
				}
				if r.Emulator.NewProfileIDs != string(ids) || r.Emulator.SamePatchReference != wantRef {
					t.Errorf("report names %+v, want %s and %s", r.Emulator, ids, wantRef)
				}
				wantFlags := "--new-profile-ids " + string(ids)
				if ids == emulator.NewProfileIDsHonour {
					wantFlags += " --same-patch-reference " + string(ref)
				}
				if r.Emulator.Flags != wantFlags {
					t.Errorf("flags %q, want %q", r.Emulator.Flags, wantFlags)
				}
				if !policyIsGUID(r.Probe.AssignedID) {
					t.Errorf("assigned id %q is not a GUID", r.Probe.AssignedID)
				}
				if ids == emulator.NewProfileIDsReject && r.Probe.RejectStatus != 400 {
					t.Errorf("reject status %d, want 400", r.Probe.RejectStatus)
				}
				if ids == emulator.NewProfileIDsHonour && ref == emulator.Refuse && r.Probe.RefuseStatus != 400 {
					t.Errorf("refuse status %d, want 400", r.Probe.RefuseStatus)
				}
				if after := tn.fido2JSON(t); after != before {
					t.Errorf("the document changed:\nbefore %s\nafter  %s", before, after)
				}
				if !r.Probe.Restore.Restored || !r.Probe.Restore.Patched {
					t.Errorf("restore %+v, want patched and restored", r.Probe.Restore)
				}
				// Every write carried the default profile and the targets as read.
				if n := tn.emu.Stats().Count(tenantID, "PATCH", "", emulator.AnyStatus); n < 2 {
					t.Errorf("doctor sent %d PATCHes, want the probes and the restore", n)
				}
			})
		}
	}
}

func policyIsGUID(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4
}

// With three profiles there is no slot for a temporary one: nothing is
// written.
func TestDoctorProbeWritesNeedsAFreeSlot(t *testing.T) {
	tn := newTenant(t)
	if _, err := tn.emu.PortalEdit(tenantID, func(doc *emulator.Fido2Document) {
		doc.PasskeyProfiles = append(doc.PasskeyProfiles, emulator.PasskeyProfile{Name: "Third",
			PasskeyTypes: "deviceBound", AttestationEnforcement: "disabled", KeyRestrictions: emulator.KeyRestrictions{EnforcementType: "allow"}})
	}); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := tn.doctor(t, "--probe-writes")
	if want := "--probe-writes needs a free passkey profile slot, but the tenant holds 3 profiles"; code != exitError || !strings.Contains(errOut, want) {
		t.Errorf("doctor exited %d with %q, want 1 and %q", code, errOut, want)
	}
	if n := tn.emu.Stats().Count(tenantID, "PATCH", "", emulator.AnyStatus); n != 0 {
		t.Errorf("doctor sent %d PATCHes", n)
	}
}

func TestDoctorFlags(t *testing.T) {
	tn := newTenant(t)
	code, _, errOut := tn.run(t, "", append([]string{"doctor", "--probe-group", probeGroup}, tn.flags...)...)
	if code != exitError || !strings.Contains(errOut, "--probe-group writes: it needs --probe-writes") {
		t.Errorf("--probe-group alone exited %d: %s", code, errOut)
	}
	code, _, errOut = tn.run(t, "", "doctor", "-h")
	if code != exitOK || !strings.Contains(errOut, "Examples:") || !strings.Contains(errOut, "--probe-writes") {
		t.Errorf("doctor -h exited %d:\n%s", code, errOut)
	}
	if n := tn.emu.Stats().Count(tenantID, "", "", emulator.AnyStatus); n != 0 {
		t.Errorf("doctor sent %d requests on bad flags", n)
	}
}
