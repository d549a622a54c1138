package manifests

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/policy"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

const keysID = "9c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f"

// heldTenant is what the tenant holds before the manifests: the default
// profile for all users and a "keys" profile no target names.
func heldTenant() policy.Policy {
	return policy.Policy{
		State:            policy.StateEnabled,
		DefaultProfileID: defaultID,
		Profiles: []policy.Profile{
			heldProfile(defaultID, "Default passkey profile", policy.PasskeyDeviceBound, policy.PasskeySynced),
			heldProfile(keysID, "keys", policy.PasskeyDeviceBound),
		},
		IncludeTargets: []policy.Target{{ID: policy.AllUsers, TargetType: policy.TargetTypeGroup, AllowedPasskeyProfiles: []string{defaultID}}},
		ExcludeTargets: []policy.Target{},
	}
}

// heldProfile is a profile without attestation or key restrictions, as
// Graph sends it.
func heldProfile(id, name string, types ...string) policy.Profile {
	return policy.Profile{ID: id, Name: name, PasskeyTypes: types, AttestationEnforcement: policy.AttestationDisabled,
		KeyRestrictions: policy.KeyRestrictions{EnforcementType: policy.EnforcementBlock}}
}

// previewOf previews the manifests in yaml, which must be valid, against
// heldTenant.
func previewOf(t *testing.T, yaml string) Preview {
	t.Helper()
	docs, err := Load([]string{"-"}, strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	set, problems, err := Validate(docs)
	if err != nil || len(problems) > 0 {
		t.Fatalf("the manifests do not validate (%v):\n%s", err, join(problems))
	}
	tenant, err := set.Tenant("")
	if err != nil {
		t.Fatal(err)
	}
	profiles, assignments := set.ofTenant(tenant.Name)
	declared, err := specs.Declared(context.Background(), tenant, profiles, assignments, offlineGroups{}, specs.Catalog{})
	if err != nil {
		t.Fatal(err)
	}
	return preview(tenant, heldTenant(), declared)
}

// bothTypesForStaff previews a profile of the name allowing both passkey
// types, for the staff group, and checks it takes that many patches.
func bothTypesForStaff(t *testing.T, name string, patches int) Preview {
	t.Helper()
	p := previewOf(t, stream(validTenant, profile(name, "  passkeyTypes: [DeviceBound, Synced]\n"),
		assignment("staff", "{groupID: "+staffGroup+"}", "  profiles: ["+name+"]\n")))
	if p.Plan.Patches != patches {
		t.Fatalf("plan = %+v, want %d patches", p.Plan, patches)
	}
	return p
}

// profileNamed returns the profile of p with the name, or fails.
func profileNamed(t *testing.T, p policy.Policy, name string) policy.Profile {
	t.Helper()
	i := slices.IndexFunc(p.Profiles, func(pr policy.Profile) bool { return pr.Name == name })
	if i < 0 {
		t.Fatalf("no profile %q in %+v", name, p.Profiles)
	}
	return p.Profiles[i]
}

// The planned policy is what the writes leave in Entra, from the same
// decision as the plan.
func TestPreview(t *testing.T) {
	t.Run("nothing to write: the policy Entra holds", func(t *testing.T) {
		p := previewOf(t, stream(validTenant, profile("keys", "")))
		if p.Plan.Patch || !reflect.DeepEqual(p.Planned, heldTenant()) || !reflect.DeepEqual(p.Observed, heldTenant()) {
			t.Errorf("patch %v, planned %+v; want none and the held policy", p.Plan.Patch, p.Planned)
		}
	})

	t.Run("drift a Report resource leaves is not planned", func(t *testing.T) {
		p := previewOf(t, stream(validTenant, profile("keys", "  driftPolicy: Report\n  passkeyTypes: [DeviceBound, Synced]\n")))
		if len(p.Plan.Changes) != 1 || p.Plan.Changes[0].Action != "report" || p.Plan.Patch {
			t.Fatalf("plan = %+v, want one report and no patch", p.Plan)
		}
		if !reflect.DeepEqual(p.Planned, heldTenant()) {
			t.Errorf("planned %+v, want the held policy", p.Planned)
		}
	})

	t.Run("one write: its document", func(t *testing.T) {
		p := bothTypesForStaff(t, "keys", 1)
		if keys := profileNamed(t, p.Planned, "keys"); keys.ID != keysID || len(keys.PasskeyTypes) != 2 {
			t.Errorf("planned keys profile = %+v, want %s with both types", keys, keysID)
		}
		e := policy.Explain(p.Planned, "user", []policy.Group{{ID: staffGroup}})
		if len(e.Profiles) != 2 || e.Profiles[1].Profile.ID != keysID {
			t.Errorf("a member of the group gets %+v, want the default and keys profiles", e.Profiles)
		}
		if len(p.Observed.IncludeTargets) != 1 || len(p.Observed.Profiles[1].PasskeyTypes) != 1 {
			t.Errorf("the observed policy changed: %+v", p.Observed)
		}
	})

	t.Run("a new profile and a target naming it: the second write's document", func(t *testing.T) {
		p := bothTypesForStaff(t, "synced", 2)
		synced := profileNamed(t, p.Planned, "synced")
		if synced.ID == "" || slices.ContainsFunc(p.Observed.Profiles, func(pr policy.Profile) bool { return pr.ID == synced.ID }) {
			t.Errorf("the new profile's id %q is not one of the preview's own", synced.ID)
		}
		i := slices.IndexFunc(p.Planned.IncludeTargets, func(tg policy.Target) bool { return tg.ID == staffGroup })
		if i < 0 || !slices.Equal(p.Planned.IncludeTargets[i].AllowedPasskeyProfiles, []string{synced.ID}) {
			t.Errorf("include targets %+v, want %s naming %s", p.Planned.IncludeTargets, staffGroup, synced.ID)
		}
	})
}

// A profile Entra would create, which no target names yet, is planned as
// it is sent: without an id, Entra gives it one.
func TestPreviewNewProfileWithoutTarget(t *testing.T) {
	p := previewOf(t, stream(validTenant, profile("synced", "  passkeyTypes: [DeviceBound, Synced]\n")))
	if !p.Plan.Patch || p.Plan.Patches != 1 || p.Plan.Tenant != "contoso" {
		t.Errorf("plan = %+v, want one patch for contoso", p.Plan)
	}
	if synced := profileNamed(t, p.Planned, "synced"); synced.ID != "" {
		t.Errorf("the new profile has id %q before Entra gives it one", synced.ID)
	}
}
