package manifests

import (
	"bytes"
	"strings"
	"testing"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

const (
	defaultID  = "00000000-0000-0000-0000-000000000001"
	syncedID   = "5b0c0c3e-5d3a-4b8e-9f27-7a0e7f1c2d3e"
	futureID   = "6c1d1d4f-6e4b-4c9f-8038-8b1f802d3e4f"
	yubikey5   = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
	staffGroup = "7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
	labsGroup  = "8d2e3f40-5b6c-7d8e-9f0a-1b2c3d4e5f60"
)

// migratedTenant is shaped like the capture of a real migrated tenant in
// ENTRA-FACTS.md: the default profile enforces attestation with synced
// passkeys allowed and lists an AAGUID twice; a synced-only profile; and,
// from a later Graph, a profile with a passkey type this version does not
// know, and the target that allows it.
func migratedTenant() policy.Policy {
	return policy.Policy{
		State:            policy.StateEnabled,
		DefaultProfileID: defaultID,
		Profiles: []policy.Profile{{
			ID: defaultID, Name: "Default passkey profile",
			PasskeyTypes:           []string{policy.PasskeyDeviceBound, policy.PasskeySynced},
			AttestationEnforcement: policy.AttestationRegistrationOnly,
			KeyRestrictions: policy.KeyRestrictions{IsEnforced: true, EnforcementType: policy.EnforcementAllow,
				AAGUIDs: []string{yubikey5, strings.ToUpper(yubikey5)}},
		}, {
			ID: syncedID, Name: "Synced only", PasskeyTypes: []string{policy.PasskeySynced},
			AttestationEnforcement: policy.AttestationDisabled,
			KeyRestrictions:        policy.KeyRestrictions{EnforcementType: policy.EnforcementBlock},
		}, {
			ID: futureID, Name: "Future", PasskeyTypes: []string{policy.PasskeyDeviceBound, "unknownFutureValue"},
			AttestationEnforcement: policy.AttestationDisabled,
			KeyRestrictions:        policy.KeyRestrictions{EnforcementType: policy.EnforcementBlock},
		}},
		IncludeTargets: []policy.Target{
			{ID: policy.AllUsers, TargetType: policy.TargetTypeGroup, AllowedPasskeyProfiles: []string{defaultID}},
			{ID: staffGroup, TargetType: policy.TargetTypeGroup, AllowedPasskeyProfiles: []string{syncedID}},
			{ID: labsGroup, TargetType: policy.TargetTypeGroup, AllowedPasskeyProfiles: []string{futureID}},
		},
	}
}

// TestExportWritesOnlyWhatTheAPIServerAdmits: exporting a real tenant's
// state gives manifests that validate clean, leaving out (with a warning)
// what cannot be declared.
func TestExportWritesOnlyWhatTheAPIServerAdmits(t *testing.T) {
	objects, warnings := Export(migratedTenant(), ExportOptions{TenantName: "contoso", Namespace: "identity",
		Tenant: passkeysv1alpha1.EntraTenantSpec{TenantID: "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"}})
	wantWarnings := []string{
		`passkey profile "Future" (` + futureID + `) holds passkeyTypes member "unknownFutureValue", which this version cannot declare; it is left out and stays unmanaged`,
		`include target ` + labsGroup + ` allows passkey profile ` + futureID + `, which is left out; so is the target, which stays unmanaged`,
	}
	if strings.Join(warnings, "\n") != strings.Join(wantWarnings, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(wantWarnings, "\n"))
	}

	for _, w := range wantWarnings {
		if !strings.Contains(objects[0].Comment, "Not exported: "+w) {
			t.Errorf("the EntraTenant's comment does not say %q:\n%s", w, objects[0].Comment)
		}
	}

	var def *passkeysv1alpha1.PasskeyProfile
	var comment string
	for _, o := range objects {
		if p, ok := o.Object.(*passkeysv1alpha1.PasskeyProfile); ok && p.Spec.Default {
			def, comment = p, o.Comment
		}
	}
	if def == nil {
		t.Fatal("no default profile exported")
	}
	if def.Spec.DisplayName != "" {
		t.Errorf("the default profile is exported with displayName %q; Entra's default cannot be renamed", def.Spec.DisplayName)
	}
	if got := def.Spec.KeyRestrictions.AAGUIDs; len(got) != 1 || got[0] != yubikey5 {
		t.Errorf("aaguids = %v, want %s once", got, yubikey5)
	}
	for _, want := range []string{"more than once; it is declared once", "cannot be registered"} {
		if !strings.Contains(comment, want) {
			t.Errorf("the default profile's comment does not say %q:\n%s", want, comment)
		}
	}

	rendered, err := Render(objects)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Load([]string{"-"}, bytes.NewReader(rendered))
	if err != nil {
		t.Fatal(err)
	}
	if _, problems, err := Validate(docs); err != nil || len(problems) > 0 {
		t.Errorf("the export does not validate (%v):\n%s\n%s", err, join(problems), rendered)
	}
	if strings.Contains(string(rendered), "Future") && !strings.Contains(string(rendered), "unknownFutureValue") {
		t.Errorf("the left-out profile is declared:\n%s", rendered)
	}
}

// TestExportNamesAuthenticators: each AAGUID the catalog knows gets its
// model's name as a comment on its line; the others stay bare, and the
// manifest still parses to the same AAGUIDs.
func TestExportNamesAuthenticators(t *testing.T) {
	names := map[string]string{yubikey5: "YubiKey 5 Series"}
	objects, _ := Export(migratedTenant(), ExportOptions{TenantName: "contoso", Namespace: "identity",
		Tenant:            passkeysv1alpha1.EntraTenantSpec{TenantID: "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"},
		AuthenticatorName: func(id string) string { return names[id] }})
	out, err := Render(objects)
	if err != nil {
		t.Fatal(err)
	}
	if want := "- " + yubikey5 + " # YubiKey 5 Series\n"; !strings.Contains(string(out), want) {
		t.Errorf("the export does not name the AAGUID (want %q):\n%s", want, out)
	}
	docs, err := decode("export", out)
	if err != nil {
		t.Fatal(err)
	}
	if _, problems, err := Validate(docs); err != nil || len(problems) > 0 {
		t.Errorf("the commented export does not validate: %v %v", problems, err)
	}
}
