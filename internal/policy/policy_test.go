package policy

import (
	"testing"
)

func TestCloneIsDeep(t *testing.T) {
	original := mergeObserved()
	original.Profiles[1].KeyRestrictions.AAGUIDs = []string{aaguid(1)}
	want := mergeObserved()
	want.Profiles[1].KeyRestrictions.AAGUIDs = []string{aaguid(1)}

	c := original.Clone()
	assertEqual(t, "clone", c, original)
	*c.SelfServiceRegistration = false
	c.Profiles[1].PasskeyTypes[0] = "changed"
	c.Profiles[1].KeyRestrictions.AAGUIDs[0] = "changed"
	c.Profiles[1].Extra["futureField"].(map[string]any)["nested"].([]any)[0] = "changed"
	c.IncludeTargets[0].AllowedPasskeyProfiles[0] = "changed"
	c.IncludeTargets[1].Extra["futureTargetField"] = false
	c.ExcludeTargets[0].Extra["new"] = 1
	assertEqual(t, "original after changing the clone", original, want)
}

func TestCloneKeepsNilAndEmpty(t *testing.T) {
	p := Policy{Profiles: []Profile{}, IncludeTargets: nil, ExcludeTargets: []Target{{ID: gid(1), Extra: map[string]any{}}}}
	c := p.Clone()
	if c.Profiles == nil || c.IncludeTargets != nil || c.ExcludeTargets[0].Extra == nil || c.ExcludeTargets[0].AllowedPasskeyProfiles != nil {
		t.Errorf("nil and empty not kept apart: %#v", c)
	}
}

func TestRefString(t *testing.T) {
	assertEqual(t, "namespaced", profileRef("strict").String(), "PasskeyProfile team/strict")
	assertEqual(t, "cluster-scoped", tenantRef.String(), "EntraTenant contoso")
}
