package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/manifests"
)

const (
	tenantID = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
	clientID = "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
	secret   = "s3cr3t"
	staff    = "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9"
	admins   = "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901"
	keysID   = "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d"
	// sales is a group no target names yet.
	sales = "3c4d5e6f-7081-4293-a4b5-c6d7e8f90123"
)

// tenant is an emulated tenant with a default profile for all users, a
// "Security keys" profile for Staff, Admins excluded; and the flags that
// reach it.
type tenant struct {
	emu   *emulator.Emulator
	flags []string
	env   map[string]string
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	return newTenantWithApp(t, emulator.Options{}, emulator.App{ClientID: clientID, ClientSecret: secret, Roles: emulator.ReadWriteRoles})
}

// newTenantWithApp is newTenant with this app registered instead, on an
// emulator with these options.
func newTenantWithApp(t *testing.T, opts emulator.Options, app emulator.App) *tenant {
	t.Helper()
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Seed(emulator.Tenant{
		ID:     tenantID,
		Apps:   []emulator.App{app},
		Groups: []emulator.Group{{ID: staff, DisplayName: "Staff"}, {ID: admins, DisplayName: "Admins"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.PortalEdit(tenantID, func(doc *emulator.Fido2Document) {
		doc.PasskeyProfiles = append(doc.PasskeyProfiles, emulator.PasskeyProfile{ID: keysID, Name: "Security keys",
			PasskeyTypes: "deviceBound", AttestationEnforcement: "disabled", KeyRestrictions: emulator.KeyRestrictions{EnforcementType: "allow"}})
		doc.IncludeTargets = append(doc.IncludeTargets, emulator.IncludeTarget{ID: staff, TargetType: "group", AllowedPasskeyProfiles: []string{keysID}})
		doc.ExcludeTargets = append(doc.ExcludeTargets, emulator.ExcludeTarget{ID: admins, TargetType: "group"})
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(emu)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tenant{
		emu:   emu,
		flags: []string{"--client-id", clientID, "--authority-host", srv.URL, "--graph-endpoint", srv.URL, "--ca-file", ca},
		env:   map[string]string{"AZURE_CLIENT_SECRET": secret, "AZURE_TENANT_ID": tenantID},
	}
}

// run runs passkeyctl with the tenant's environment.
func (tn *tenant) run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return tn.env[k] })
	return code, out.String(), errOut.String()
}

func (tn *tenant) export(t *testing.T, extra ...string) string {
	t.Helper()
	code, out, errOut := tn.run(t, "", append(append([]string{"export", "--name", "contoso"}, tn.flags...), extra...)...)
	if code != exitOK {
		t.Fatalf("export exited %d: %s", code, errOut)
	}
	return out
}

func TestExportWritesValidManifests(t *testing.T) {
	tn := newTenant(t)
	out := tn.export(t)
	for _, want := range []string{
		"kind: EntraTenant", "name: contoso", "type: WorkloadIdentity",
		"# Passkey profile \"Security keys\" (Entra id " + keysID + ").", "displayName: Security keys",
		"# Group \"Staff\" (" + staff + "), allowed the profiles below.", "name: staff",
		"# Group \"Admins\" (" + admins + "), excluded from passkeys.", "mode: Exclude",
		"# All users, allowed the profiles below.", "allUsers: true",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, secret) {
		t.Error("the export contains the client secret")
	}
	code, problems, _ := tn.run(t, out, "validate", "-f", "-")
	if code != exitOK {
		t.Errorf("validate refused the export (exit %d):\n%s", code, problems)
	}

	dir := t.TempDir()
	tn.export(t, "-o", dir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 1+2+3 {
		t.Errorf("export -o wrote %d files, want 6: %v", len(files), files)
	}
}

// Export needs only Policy.Read.AuthenticationMethod: without
// Group.Read.All the groups are named by id in the comments and in the
// resource names, after one refused lookup and one warning.
func TestExportWithoutGroupRead(t *testing.T) {
	tn := newTenantWithApp(t, emulator.Options{}, emulator.App{ClientID: clientID, ClientSecret: secret, Roles: []string{emulator.RolePolicyRead}})
	code, out, errOut := tn.run(t, "", append([]string{"export", "--name", "contoso"}, tn.flags...)...)
	if code != exitOK {
		t.Fatalf("export exited %d: %s", code, errOut)
	}
	for _, want := range []string{
		"# Group " + staff + ", allowed the profiles below.\n", "name: group-1a2b3c4d\n",
		"# Group " + admins + ", excluded from passkeys.\n", "name: exclude-group-2b3c4d5e\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(errOut, "warning:"); n != 1 || !strings.Contains(errOut, "group "+staff+" of tenant "+tenantID) ||
		!strings.Contains(errOut, "Group.Read.All") {
		t.Errorf("want one warning naming Group.Read.All, got:\n%s", errOut)
	}
	if n := tn.emu.Stats().Count(tenantID, "GET", "", 403); n != 1 {
		t.Errorf("export made %d refused lookups, want 1 (no retry of a missing permission per group)", n)
	}
	if code, problems, _ := tn.run(t, out, "validate", "-f", "-"); code != exitOK {
		t.Errorf("validate refused the export (exit %d):\n%s", code, problems)
	}
}

func TestDiff(t *testing.T) {
	const newProfile = `---
apiVersion: passkeys.entraops.dev/v1alpha1
kind: PasskeyProfile
metadata: {name: synced, namespace: identity}
spec: {tenantRef: contoso, displayName: Synced, passkeyTypes: [DeviceBound, Synced]}
`
	for _, tc := range []struct {
		name   string
		change func(exported string) string
		args   []string
		code   int
		want   string
	}{{
		name:   "no-op: the export itself",
		change: func(s string) string { return s },
		code:   exitOK,
		want:   "Tenant contoso (" + tenantID + "): no changes.\n",
	}, {
		name:   "add a profile",
		change: func(s string) string { return s + newProfile },
		code:   exitChanges,
		want: "+ PasskeyProfile identity/synced: profile created\n" +
			"Tenant contoso (" + tenantID + "): applying would send one PATCH with the changes above.\n",
	}, {
		name: "add a profile and a target that names it: two PATCHes",
		change: func(s string) string {
			return s + newProfile + `---
apiVersion: passkeys.entraops.dev/v1alpha1
kind: GroupAssignment
metadata: {name: sales, namespace: identity}
spec: {tenantRef: contoso, target: {groupID: ` + sales + `}, profiles: [synced]}
`
		},
		code: exitChanges,
		want: "+ GroupAssignment identity/sales: target created\n" +
			"+ PasskeyProfile identity/synced: profile created\n" +
			"Tenant contoso (" + tenantID + "): applying would send two PATCHes with the changes above: new profiles first, then the targets that name them.\n",
	}, {
		name: "change a profile",
		change: func(s string) string {
			return strings.Replace(s, "displayName: Security keys\n  passkeyTypes:\n  - DeviceBound\n",
				"displayName: Security keys\n  passkeyTypes:\n  - DeviceBound\n  - Synced\n", 1)
		},
		code: exitChanges,
		want: "~ PasskeyProfile identity/security-keys: passkeyTypes: deviceBound -> deviceBound, synced\n" +
			"Tenant contoso (" + tenantID + "): applying would send one PATCH with the changes above.\n",
	}, {
		name: "remove a target: Authoritative",
		change: func(s string) string {
			return strings.Replace(withoutExclusion(s), "  tenantID: ", "  management: Authoritative\n  tenantID: ", 1)
		},
		code: exitChanges,
		want: "- exclude target " + admins + ": removed\n" +
			"Tenant contoso (" + tenantID + "): applying would send one PATCH with the changes above.\n",
	}, {
		name:   "remove a target: Merge leaves it",
		change: withoutExclusion,
		code:   exitOK,
		want:   "Tenant contoso (" + tenantID + "): no changes.\n",
	}, {
		name: "a change under driftPolicy Report is shown, not sent",
		change: func(s string) string {
			return strings.Replace(s, "displayName: Security keys\n  passkeyTypes:\n  - DeviceBound\n",
				"displayName: Security keys\n  driftPolicy: Report\n  passkeyTypes:\n  - DeviceBound\n  - Synced\n", 1)
		},
		code: exitOK,
		want: "= PasskeyProfile identity/security-keys: passkeyTypes: deviceBound, declared deviceBound, synced (driftPolicy Report: left as it is)\n" +
			"Tenant contoso (" + tenantID + "): no changes.\n",
	}, {
		name: "a group name no group has: the operator would refuse it",
		change: func(s string) string {
			return s + `---
apiVersion: passkeys.entraops.dev/v1alpha1
kind: GroupAssignment
metadata: {name: nobody, namespace: identity}
spec: {tenantRef: contoso, target: {groupName: Nobody}, profiles: [security-keys]}
`
		},
		code: exitError,
		want: "! GroupAssignment identity/nobody: GroupNotFound: no group named \"Nobody\" in tenant " + tenantID +
			"; check spec.target.groupName or use spec.target.groupID\n" +
			"Tenant contoso (" + tenantID + "): no changes. The operator would refuse the resources marked !: fix them first.\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenant(t)
			manifest := tc.change(tn.export(t))
			code, out, errOut := tn.run(t, manifest, append([]string{"diff", "-f", "-"}, tn.flags...)...)
			if code != tc.code || out != tc.want {
				t.Errorf("diff exited %d with:\n%s\nwant %d with:\n%s\nstderr: %s", code, out, tc.code, tc.want, errOut)
			}
			if n := tn.emu.Stats().Count(tenantID, "PATCH", "", emulator.AnyStatus); n != 0 {
				t.Errorf("diff sent %d PATCHes", n)
			}
		})
	}
}

// withoutExclusion drops the exported exclusion (Admins) from a stream.
func withoutExclusion(stream string) string {
	var kept []string
	for _, d := range strings.Split(stream, "---\n") {
		if !strings.Contains(d, "mode: Exclude") {
			kept = append(kept, d)
		}
	}
	return strings.Join(kept, "---\n")
}

// The tenant to sign in to comes from the manifests' EntraTenant; a
// --tenant-id that names another tenant is refused before any call.
func TestDiffTenantID(t *testing.T) {
	tn := newTenant(t)
	manifest := tn.export(t)
	delete(tn.env, "AZURE_TENANT_ID")
	if code, out, errOut := tn.run(t, manifest, append([]string{"diff", "-f", "-"}, tn.flags...)...); code != exitOK {
		t.Errorf("diff without --tenant-id exited %d: %s%s", code, out, errOut)
	}
	const other = "99999999-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
	code, _, errOut := tn.run(t, manifest, append([]string{"diff", "-f", "-", "--tenant-id", other}, tn.flags...)...)
	want := "the manifests' EntraTenant is for tenant " + tenantID + ", but --tenant-id (or AZURE_TENANT_ID) is " + other
	if code != exitError || !strings.Contains(errOut, want) {
		t.Errorf("diff against another tenant exited %d with %q, want 1 with %q", code, errOut, want)
	}
}

// The cloud comes from the manifests' EntraTenant, as for the operator:
// the export names the emulator as a Custom cloud, so diff needs no
// endpoint flags to reach it.
func TestDiffTakesTheCloudFromTheEntraTenant(t *testing.T) {
	tn := newTenant(t)
	manifest := tn.export(t)
	var flags []string
	for i := 0; i < len(tn.flags); i += 2 {
		if name := tn.flags[i]; name != "--authority-host" && name != "--graph-endpoint" {
			flags = append(flags, tn.flags[i:i+2]...)
		}
	}
	code, out, errOut := tn.run(t, manifest, append([]string{"diff", "-f", "-"}, flags...)...)
	if want := "Tenant contoso (" + tenantID + "): no changes.\n"; code != exitOK || out != want {
		t.Errorf("diff without endpoint flags exited %d: %q%s, want 0 and %q", code, out, errOut, want)
	}
}

func TestDiffJSON(t *testing.T) {
	tn := newTenant(t)
	manifest := strings.Replace(tn.export(t), "  target:\n    groupID: "+staff, "  registrationRequired: true\n  target:\n    groupID: "+staff, 1)
	code, out, errOut := tn.run(t, manifest, append([]string{"diff", "-f", "-", "-o", "json"}, tn.flags...)...)
	if code != exitChanges {
		t.Fatalf("diff exited %d: %s", code, errOut)
	}
	var plan manifests.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	want := manifests.Change{Action: "update", Resource: "GroupAssignment identity/staff", Field: "isRegistrationRequired", From: "false", To: "true"}
	if !plan.Patch || len(plan.Changes) != 1 || plan.Changes[0] != want {
		t.Errorf("plan = %+v, want one change %+v", plan, want)
	}
}

func TestValidateReportsFileObjectAndField(t *testing.T) {
	dir := t.TempDir()
	bad := `apiVersion: passkeys.entraops.dev/v1alpha1
kind: GroupAssignment
metadata: {name: staff, namespace: identity}
spec: {tenantRef: contoso, target: {groupName: Staff}, profiles: [missing]}
`
	file := filepath.Join(dir, "staff.yaml")
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"validate", "-f", dir}, nil, &out, &errOut, func(string) string { return "" })
	want := file + `: GroupAssignment identity/staff: spec.tenantRef: no EntraTenant named "contoso" in these files` + "\n" +
		file + `: GroupAssignment identity/staff: spec.profiles: ProfileNotFound: no PasskeyProfile named "missing" in namespace identity` + "\n"
	if code != exitError || out.String() != want {
		t.Errorf("validate exited %d with:\n%s\nwant 1 with:\n%s", code, out.String(), want)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, cmd := range []string{"export", "diff", "validate"} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{cmd, "-h"}, nil, &out, &errOut, func(string) string { return "" })
		if code != exitOK || !strings.Contains(errOut.String(), "Examples:") || !strings.Contains(errOut.String(), "Flags:") {
			t.Errorf("%s -h exited %d without examples and flags:\n%s", cmd, code, errOut.String())
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, nil, &out, &out, nil); code != exitOK || !strings.HasPrefix(out.String(), "passkeyctl ") {
		t.Errorf("--version exited %d: %q", code, out.String())
	}
}

// A default profile as Entra's migration left it validates, with the
// warning kubectl apply would show.
func TestValidateWarnsOnStderr(t *testing.T) {
	manifest := `apiVersion: passkeys.entraops.dev/v1alpha1
kind: EntraTenant
metadata: {name: contoso}
spec: {tenantID: ` + tenantID + `, credentials: {type: WorkloadIdentity, clientID: ` + clientID + `}}
---
apiVersion: passkeys.entraops.dev/v1alpha1
kind: PasskeyProfile
metadata: {name: default, namespace: identity}
spec: {tenantRef: contoso, default: true, attestation: RegistrationOnly, passkeyTypes: [DeviceBound, Synced]}
`
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"validate", "-f", "-"}, strings.NewReader(manifest), &out, &errOut, func(string) string { return "" })
	want := "Warning: -#2: PasskeyProfile identity/default: spec: attestation is enforced while synced passkeys are allowed"
	if code != exitOK || out.String() != "" || !strings.Contains(errOut.String(), want) {
		t.Errorf("validate exited %d with %q, stderr %q; want 0 and a warning %q", code, out.String(), errOut.String(), want)
	}
}
