package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/policy"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

// The directory explain reads: alice is in Staff and, through Engineering,
// in Security Team; bob is in Staff and Admins; carol is in no group.
const (
	aliceID      = "a1a1a1a1-0000-4000-8000-000000000001"
	bobID        = "b2b2b2b2-0000-4000-8000-000000000002"
	carolID      = "c3c3c3c3-0000-4000-8000-000000000003"
	engineering  = "5e6f7081-9203-44b5-86c7-d8e9f0123456"
	securityTeam = "6f708192-a3b4-45c6-97d8-e9f012345678"
	hardwareID   = "9b0c1d2e-3f4a-4b5c-9d6e-7f8a9b0c1d2e"
	feitian      = "833b721a-ff5f-4d00-bb2e-bdda3ec01e29" // Feitian ePass FIDO2 Authenticator
)

// explainRoles may read the policy, users and memberships.
var explainRoles = []string{emulator.RolePolicyRead, emulator.RoleUserRead, emulator.RoleGroupMemberRead}

// newDirectory is newTenant's tenant, with this app, the directory above
// and its policy enabled, then edited by edit (when not nil).
func newDirectory(t *testing.T, roles []string, edit func(doc *emulator.Fido2Document)) *tenant {
	t.Helper()
	tn := newTenantWithApp(t, emulator.Options{}, emulator.App{ClientID: clientID, ClientSecret: secret, Roles: roles})
	if err := tn.emu.Seed(emulator.Tenant{
		ID: tenantID,
		Users: []emulator.User{
			{ID: aliceID, UserPrincipalName: "alice@contoso.com", DisplayName: "Alice"},
			{ID: bobID, UserPrincipalName: "bob@contoso.com", DisplayName: "Bob"},
			{ID: carolID, UserPrincipalName: "carol@contoso.com", DisplayName: "Carol"},
		},
		Groups: []emulator.Group{
			{ID: staff, DisplayName: "Staff", Members: []string{aliceID, bobID}},
			{ID: admins, DisplayName: "Admins", Members: []string{bobID}},
			{ID: engineering, DisplayName: "Engineering", Members: []string{aliceID}},
			{ID: securityTeam, DisplayName: "Security Team", Members: []string{engineering}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.emu.PortalEdit(tenantID, func(doc *emulator.Fido2Document) {
		doc.State = emulator.StateEnabled
		if edit != nil {
			edit(doc)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return tn
}

// directoryUsers are the directory's users: userPrincipalName and object id.
var directoryUsers = [][2]string{{"alice@contoso.com", aliceID}, {"bob@contoso.com", bobID}, {"carol@contoso.com", carolID}}

// heading is explain's first lines for a user of the directory, by
// userPrincipalName or object id, in tenant, a member of groups.
func heading(user, tenant, groups string) string {
	for _, u := range directoryUsers {
		if user == u[0] || user == u[1] {
			user = "User " + u[0] + " (" + u[1] + ")"
		}
	}
	return user + " in tenant " + tenant + "\nGroups, direct or nested: " + groups + "\n"
}

func (tn *tenant) explain(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return tn.run(t, stdin, append(append([]string{"explain"}, args...), tn.flags...)...)
}

// Security keys enforce attestation and allow YubiKeys only.
func strictKeys(doc *emulator.Fido2Document) {
	doc.PasskeyProfiles[1].AttestationEnforcement = "registrationOnly"
	doc.PasskeyProfiles[1].KeyRestrictions = emulator.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{yubiKey}}
}

// hardwareFor adds a profile "Hardware keys" that enforces attestation and
// allows Feitian keys only, for Security Team, which requires registration.
func hardwareFor(doc *emulator.Fido2Document) {
	addProfileFor(doc, securityTeam, true, emulator.PasskeyProfile{ID: hardwareID, Name: "Hardware keys",
		PasskeyTypes: "deviceBound", AttestationEnforcement: "registrationOnly",
		KeyRestrictions: emulator.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{feitian}}})
}

// phonesFor adds a profile "Phones" for synced passkeys from any
// authenticator but Feitian's, for Security Team.
func phonesFor(doc *emulator.Fido2Document) {
	addProfileFor(doc, securityTeam, false, emulator.PasskeyProfile{ID: hardwareID, Name: "Phones",
		PasskeyTypes: "synced", AttestationEnforcement: "disabled",
		KeyRestrictions: emulator.KeyRestrictions{IsEnforced: true, EnforcementType: "block", AAGUIDs: []string{feitian}}})
}

func addProfileFor(doc *emulator.Fido2Document, group string, registrationRequired bool, p emulator.PasskeyProfile) {
	doc.PasskeyProfiles = append(doc.PasskeyProfiles, p)
	doc.IncludeTargets = append(doc.IncludeTargets, emulator.IncludeTarget{ID: group, TargetType: "group",
		IsRegistrationRequired: registrationRequired, AllowedPasskeyProfiles: []string{p.ID}})
}

// withoutAllUsers drops the all-users target.
func withoutAllUsers(doc *emulator.Fido2Document) {
	doc.IncludeTargets = doc.IncludeTargets[1:]
}

func edits(fs ...func(*emulator.Fido2Document)) func(*emulator.Fido2Document) {
	return func(doc *emulator.Fido2Document) {
		for _, f := range fs {
			f(doc)
		}
	}
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*emulator.Fido2Document)
		user string
		// groups is the heading's list of groups, want what follows it.
		groups string
		want   string
	}{{
		name:   "all users: the default profile",
		user:   "carol@contoso.com",
		groups: "none",
		want: "In scope: yes — included by all users\n" +
			"Profiles in scope:\n" +
			"  Default passkey profile, through all users: device-bound and synced; no attestation; any authenticator\n" +
			"May register: device-bound and synced passkeys\n" +
			"Attestation: not required (Default passkey profile does not enforce it)\n" +
			"Authenticators: any authenticator\n" +
			"Registration required: no\n",
	}, {
		name:   "by object id, with the profiles of all users and of a group",
		edit:   strictKeys,
		user:   aliceID,
		groups: "Engineering, Security Team, Staff",
		want: "In scope: yes — included by all users and group Staff\n" +
			"Profiles in scope:\n" +
			"  Default passkey profile, through all users: device-bound and synced; no attestation; any authenticator\n" +
			"  Security keys, through group Staff: device-bound; attestation enforced; only " + yubiKey + "\n" +
			"May register: device-bound and synced passkeys\n" +
			"Attestation: not required (Default passkey profile does not enforce it)\n" +
			"Authenticators: any authenticator\n" +
			"Registration required: no\n",
	}, {
		name:   "overlapping profiles that all enforce attestation, through a nested group",
		edit:   edits(strictKeys, hardwareFor, withoutAllUsers),
		user:   "alice@contoso.com",
		groups: "Engineering, Security Team, Staff",
		want: "In scope: yes — included by group Staff and group Security Team\n" +
			"Profiles in scope:\n" +
			"  Security keys, through group Staff: device-bound; attestation enforced; only " + yubiKey + "\n" +
			"  Hardware keys, through group Security Team: device-bound; attestation enforced; only " + feitian + "\n" +
			"May register: device-bound passkeys\n" +
			"Attestation: required: every profile in scope enforces it\n" +
			"Authenticators: only " + yubiKey + ", " + feitian + "\n" +
			"Registration required: yes, by group Security Team\n",
	}, {
		name:   "overlapping profiles of two groups: the types add up, attestation needs them all",
		edit:   edits(strictKeys, phonesFor, withoutAllUsers),
		user:   "alice@contoso.com",
		groups: "Engineering, Security Team, Staff",
		want: "In scope: yes — included by group Staff and group Security Team\n" +
			"Profiles in scope:\n" +
			"  Security keys, through group Staff: device-bound; attestation enforced; only " + yubiKey + "\n" +
			"  Phones, through group Security Team: synced; no attestation; any authenticator except " + feitian + "\n" +
			"May register: device-bound and synced passkeys\n" +
			"Attestation: not required (Phones does not enforce it)\n" +
			"Authenticators: any authenticator except " + feitian + "\n" +
			"Registration required: no\n",
	}, {
		name:   "exclusion beats inclusion",
		user:   "bob@contoso.com",
		groups: "Admins, Staff",
		want:   "In scope: no — excluded by group Admins, which beats the inclusion by all users and group Staff\n",
	}, {
		name:   "no target names the user",
		edit:   withoutAllUsers,
		user:   "carol@contoso.com",
		groups: "none",
		want:   "In scope: no — no include target names the user or one of their groups\n",
	}, {
		name: "the method is disabled",
		edit: func(doc *emulator.Fido2Document) {
			doc.State = emulator.StateDisabled
			doc.IsSelfServiceRegistrationAllowed = false
		},
		user:   "carol@contoso.com",
		groups: "none",
		want: "In scope: no — the passkey (FIDO2) method is disabled\n" +
			"Notes:\n" +
			"  - self-service registration is off: the user cannot register a passkey in My Security Info themselves\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newDirectory(t, explainRoles, tc.edit)
			code, out, errOut := tn.explain(t, "", "--user", tc.user)
			want := heading(tc.user, tenantID, tc.groups) + "Policy: as the tenant holds it\n" + tc.want
			if code != exitOK || out != want {
				t.Errorf("explain exited %d with:\n%s\nwant 0 with:\n%s\nstderr: %s", code, out, want, errOut)
			}
		})
	}
}

// Errors a person can act on: the user is not there, or the application
// lacks the permission to read users or their groups, named.
func TestExplainErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		roles []string
		args  []string
		want  string
	}{{
		name:  "unknown user",
		roles: explainRoles,
		args:  []string{"--user", "nobody@contoso.com"},
		want:  "passkeyctl: no user nobody@contoso.com in tenant " + tenantID + "\n",
	}, {
		name:  "without User.Read.All",
		roles: []string{emulator.RolePolicyRead, emulator.RoleGroupMemberRead},
		args:  []string{"--user", "alice@contoso.com"},
		want:  "grant the application the Microsoft Graph application permission User.Read.All",
	}, {
		name:  "without --user",
		roles: explainRoles,
		want:  "passkeyctl: --user is required\n",
	}, {
		name:  "--tenant without -f",
		roles: explainRoles,
		args:  []string{"--user", "alice@contoso.com", "--tenant", "contoso"},
		want:  "passkeyctl: --tenant names an EntraTenant of the manifests: it needs -f\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newDirectory(t, tc.roles, nil)
			code, out, errOut := tn.explain(t, "", tc.args...)
			if code != exitError || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("explain exited %d with %q, stderr:\n%s\nwant 1, nothing on stdout and %q", code, out, errOut, tc.want)
			}
		})
	}
}

// With User.Read.All alone Graph lists the user's groups without their
// names: explain still explains, naming the groups by id.
func TestExplainWithoutGroupNames(t *testing.T) {
	tn := newDirectory(t, []string{emulator.RolePolicyRead, emulator.RoleUserRead}, nil)
	code, out, errOut := tn.explain(t, "", "--user", "alice@contoso.com")
	if code != exitOK {
		t.Fatalf("explain exited %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Groups, direct or nested: " + staff + ", " + engineering + ", " + securityTeam + "\n",
		"In scope: yes — included by all users and group " + staff + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
}

// groupAssignment is a GroupAssignment of contoso's in namespace identity,
// as a document to add to a stream.
func groupAssignment(name, target, profile string) string {
	return "---\napiVersion: passkeys.entraops.dev/v1alpha1\nkind: GroupAssignment\nmetadata: {name: " + name + ", namespace: identity}\n" +
		"spec: {tenantRef: contoso, target: " + target + ", profiles: [" + profile + "]}\n"
}

// syncedForSecurityTeam adds to manifests a profile allowing synced
// passkeys and gives it to Security Team, which alice is in through
// Engineering.
var syncedForSecurityTeam = `---
apiVersion: passkeys.entraops.dev/v1alpha1
kind: PasskeyProfile
metadata: {name: synced, namespace: identity}
spec: {tenantRef: contoso, displayName: Synced, passkeyTypes: [DeviceBound, Synced]}
` + groupAssignment("security-team", "{groupID: "+securityTeam+"}", "synced")

// onlySecurityKeys is what Staff alone gets from strictKeys.
const onlySecurityKeys = "In scope: yes — included by group Staff\n" +
	"Profiles in scope:\n" +
	"  Security keys, through group Staff: device-bound; attestation enforced; only " + yubiKey + "\n" +
	"May register: device-bound passkeys\n" +
	"Attestation: required: every profile in scope enforces it\n" +
	"Authenticators: only " + yubiKey + "\n" +
	"Registration required: no\n"

// With -f, explain shows the policy the manifests would produce and what
// changes for the user; the tenant is only read.
func TestExplainManifests(t *testing.T) {
	for _, tc := range []struct {
		name   string
		user   string
		change func(exported string) string
		// groups is the heading's list of groups, want what follows it.
		groups     string
		want       string
		wantStderr string
	}{{
		name:   "a new profile for a nested group of the user",
		user:   "alice@contoso.com",
		change: func(s string) string { return s + syncedForSecurityTeam },
		groups: "Engineering, Security Team, Staff",
		want: "In scope: yes — included by group Staff and group Security Team\n" +
			"Profiles in scope:\n" +
			"  Security keys, through group Staff: device-bound; attestation enforced; only " + yubiKey + "\n" +
			"  Synced (new), through group Security Team: device-bound and synced; no attestation; any authenticator\n" +
			"May register: device-bound and synced passkeys\n" +
			"Attestation: not required (Synced does not enforce it)\n" +
			"Authenticators: any authenticator\n" +
			"Registration required: no\n" +
			"\n" +
			"What changes for alice@contoso.com:\n" +
			"  - still in scope: included by group Staff and group Security Team\n" +
			"  - profile Synced now applies, through group Security Team\n" +
			"  - may now register synced passkeys\n" +
			"  - attestation no longer required\n" +
			"  - may now register any authenticator\n",
	}, {
		name:   "the same manifests, for a user they do not reach",
		user:   "carol@contoso.com",
		change: func(s string) string { return s + syncedForSecurityTeam },
		groups: "none",
		want: "In scope: no — no include target names the user or one of their groups\n" +
			"\n" +
			"What changes for carol@contoso.com: nothing changes for this user\n",
	}, {
		name: "an exclusion removed",
		user: "bob@contoso.com",
		change: func(s string) string {
			return strings.Replace(withoutExclusion(s), "  tenantID: ", "  management: Authoritative\n  tenantID: ", 1)
		},
		groups: "Admins, Staff",
		want: onlySecurityKeys +
			"\n" +
			"What changes for bob@contoso.com:\n" +
			"  - now in scope: included by group Staff\n",
	}, {
		name:   "a resource the operator would refuse is left out, with a warning",
		user:   "alice@contoso.com",
		change: func(s string) string { return s + groupAssignment("nobody", "{groupName: Nobody}", "security-keys") },
		groups: "Engineering, Security Team, Staff",
		want: onlySecurityKeys +
			"\n" +
			"What changes for alice@contoso.com: nothing changes for this user\n",
		wantStderr: "warning: the operator would refuse GroupAssignment identity/nobody, so its changes are not in the policy explained here: GroupNotFound: no group named \"Nobody\"",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			roles := append([]string{emulator.RoleGroupRead}, explainRoles...)
			tn := newDirectory(t, roles, edits(strictKeys, withoutAllUsers))
			manifest := tc.change(tn.export(t))
			code, out, errOut := tn.explain(t, manifest, "--user", tc.user, "-f", "-")
			want := heading(tc.user, "contoso ("+tenantID+")", tc.groups) + "Policy: as applying the manifests would leave it\n" + tc.want
			if code != exitOK || out != want {
				t.Errorf("explain -f exited %d with:\n%s\nwant 0 with:\n%s\nstderr: %s", code, out, want, errOut)
			}
			if !strings.Contains(errOut, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, errOut)
			}
			if n := tn.emu.Stats().Count(tenantID, "PATCH", "", emulator.AnyStatus); n != 0 {
				t.Errorf("explain sent %d PATCHes", n)
			}
		})
	}
}

// explain -f refuses what diff refuses: manifests with problems, and
// manifests for another tenant.
func TestExplainManifestsRefused(t *testing.T) {
	tn := newDirectory(t, explainRoles, nil)
	manifest := tn.export(t)
	const other = "99999999-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
	code, _, errOut := tn.explain(t, manifest, "--user", "alice@contoso.com", "-f", "-", "--tenant-id", other)
	if want := "is for tenant " + tenantID + ", but --tenant-id (or AZURE_TENANT_ID) is " + other; code != exitError || !strings.Contains(errOut, want) {
		t.Errorf("explain against another tenant exited %d with %q, want 1 with %q", code, errOut, want)
	}
	broken := manifest + groupAssignment("engineering", "{groupID: "+engineering+"}", "missing")
	code, out, errOut := tn.explain(t, broken, "--user", "alice@contoso.com", "-f", "-")
	if code != exitError || !strings.Contains(out, "ProfileNotFound") || !strings.Contains(errOut, "problems in the manifests; nothing planned") {
		t.Errorf("explain of broken manifests exited %d with:\n%s\nstderr: %s", code, out, errOut)
	}
}

func TestExplainJSON(t *testing.T) {
	roles := append([]string{emulator.RoleGroupRead}, explainRoles...)
	tn := newDirectory(t, roles, edits(strictKeys, hardwareFor))
	code, out, errOut := tn.explain(t, "", "--user", "alice@contoso.com", "-o", "json")
	if code != exitOK {
		t.Fatalf("explain exited %d: %s", code, errOut)
	}
	if strings.Contains(out, `"planned"`) || strings.Contains(out, `"changes"`) {
		t.Errorf("without -f, the JSON has planned or changes:\n%s", out)
	}
	var got explainOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	c := got.Current
	switch {
	case got.Tenant.ID != tenantID || got.User != (userJSON{ID: aliceID, UserPrincipalName: "alice@contoso.com", DisplayName: "Alice"}):
		t.Errorf("tenant %+v, user %+v", got.Tenant, got.User)
	case len(got.Groups) != 3 || got.Groups[1] != (groupJSON{ID: securityTeam, DisplayName: "Security Team"}):
		t.Errorf("groups = %+v, want Engineering, Security Team, Staff", got.Groups)
	case !c.Enabled || !c.InScope || len(c.IncludedBy) != 3 || c.IncludedBy[2] != (targetJSON{ID: securityTeam, TargetType: "group", Label: "group Security Team"}):
		t.Errorf("scope: %+v", c)
	case len(c.Profiles) != 3 || c.Profiles[1].ID != keysID || !c.Profiles[1].AttestationEnforced || c.Profiles[1].New ||
		c.Profiles[1].Authenticators.Mode != "allow" || len(c.Profiles[1].Authenticators.AAGUIDs) != 1 || c.Profiles[1].Authenticators.AAGUIDs[0].AAGUID != yubiKey:
		t.Errorf("profiles = %+v", c.Profiles)
	case strings.Join(c.PasskeyTypes, ",") != "deviceBound,synced" || c.AttestationRequired || strings.Join(c.AttestationEnforcedBy, ",") != "Security keys,Hardware keys":
		t.Errorf("types %v, attestation %v by %v", c.PasskeyTypes, c.AttestationRequired, c.AttestationEnforcedBy)
	case c.Authenticators.Mode != "any" || len(c.Authenticators.AAGUIDs) != 0:
		t.Errorf("authenticators = %+v, want any", c.Authenticators)
	case !c.RegistrationRequired || strings.Join(c.RegistrationRequiredBy, ",") != "group Security Team":
		t.Errorf("registration required %v by %v", c.RegistrationRequired, c.RegistrationRequiredBy)
	case c.Notes == nil || c.ExcludedBy == nil || c.MissingProfiles == nil:
		t.Errorf("empty lists are not []: %s", out)
	}
}

func TestExplainManifestsJSON(t *testing.T) {
	roles := append([]string{emulator.RoleGroupRead}, explainRoles...)
	tn := newDirectory(t, roles, edits(strictKeys, withoutAllUsers))
	manifest := tn.export(t) + syncedForSecurityTeam
	code, out, errOut := tn.explain(t, manifest, "--user", "alice@contoso.com", "-f", "-", "-o", "json")
	if code != exitOK {
		t.Fatalf("explain exited %d: %s", code, errOut)
	}
	var got explainOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Tenant != (tenantJSON{ID: tenantID, Name: "contoso"}) || got.Planned == nil || got.Changes == nil {
		t.Fatalf("tenant %+v, planned %v, changes %v", got.Tenant, got.Planned, got.Changes)
	}
	if !got.Current.AttestationRequired || len(got.Current.Profiles) != 1 {
		t.Errorf("current = %+v, want Security keys alone, enforcing attestation", got.Current)
	}
	p := got.Planned
	if p.AttestationRequired || strings.Join(p.PasskeyTypes, ",") != "deviceBound,synced" || len(p.Profiles) != 2 {
		t.Errorf("planned = %+v, want Security keys and Synced: both types, no attestation", p)
	}
	if synced := p.Profiles[1]; synced.Name != "Synced" || !synced.New || synced.ID != "" {
		t.Errorf("the planned profile %+v is not new and without id", synced)
	}
	containsAll(t, "changes", *got.Changes, "may now register synced passkeys", "attestation no longer required")
}

// Every AAGUID explain shows is named from the catalog: text shows
// "Name [aaguid]", JSON the name beside the aaguid, and the changes name
// the authenticators too.
func TestExplainNamesAuthenticators(t *testing.T) {
	anyKey := policy.Profile{ID: keysID, Name: "Security keys", PasskeyTypes: []string{policy.PasskeyDeviceBound}}
	yubiKeysOnly := anyKey
	yubiKeysOnly.KeyRestrictions = policy.KeyRestrictions{IsEnforced: true, EnforcementType: policy.EnforcementAllow, AAGUIDs: []string{yubiKey}}
	before := policy.Policy{State: policy.StateEnabled, Profiles: []policy.Profile{anyKey},
		IncludeTargets: []policy.Target{{ID: policy.AllUsers, TargetType: policy.TargetTypeGroup, AllowedPasskeyProfiles: []string{keysID}}}}
	after := before
	after.Profiles = []policy.Profile{yubiKeysOnly}
	current, planned := policy.Explain(before, aliceID, nil), policy.Explain(after, aliceID, nil)
	x := explained{tenant: tenantJSON{ID: tenantID}, user: entra.User{ID: aliceID, UserPrincipalName: "alice@contoso.com"}, current: current, planned: &planned, existing: before.Profiles}
	catalog := specs.Catalog{Models: mds.New(1, time.Now().Add(time.Hour), []mds.Model{{AAGUID: yubiKey, Name: "YubiKey 5 Series"}})}
	out := newExplainOutput(x, catalog)

	var text bytes.Buffer
	printExplain(&text, out)
	named := "YubiKey 5 Series [" + yubiKey + "]"
	for _, want := range []string{
		"  Security keys, through all users: device-bound; no attestation; only " + named + "\n",
		"Authenticators: only " + named + "\n",
		"  - may now register only authenticators " + named + "\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text lacks %q:\n%s", want, text.String())
		}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"aaguids":[{"aaguid":"` + yubiKey + `","name":"YubiKey 5 Series"}]`; !strings.Contains(string(raw), want) {
		t.Errorf("the JSON lacks %s:\n%s", want, raw)
	}
}

func TestExplainHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"explain", "-h"}, nil, &out, &errOut, func(string) string { return "" })
	for _, want := range []string{"Examples:", "Flags:", "-user", "GroupMember.Read.All"} {
		if code != exitOK || !strings.Contains(errOut.String(), want) {
			t.Errorf("explain -h exited %d without %q:\n%s", code, want, errOut.String())
		}
	}
}
