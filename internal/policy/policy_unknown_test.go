package policy

import (
	"reflect"
	"testing"
)

// What Graph sent and the model does not know (Extra at every level, the
// known properties Graph left out or sent as null in Unset) is part of the
// document: Clone copies it deeply and keeps nil apart from empty.
func TestCloneCopiesWhatTheModelDoesNotKnow(t *testing.T) {
	original := func() Policy {
		return Policy{
			Extra: map[string]any{"futureSetting": map[string]any{"list": []any{"a", 1.0, nil}}, "futureNull": nil},
			Profiles: []Profile{{
				ID: "p1", PasskeyTypes: []string{"deviceBound", "unknownFutureValue"},
				KeyRestrictions: KeyRestrictions{
					Extra: map[string]any{"futureKeyField": []any{true}},
					Unset: map[string]Absence{"enforcementType": Null},
				},
				Unset: map[string]Absence{"name": Omitted},
			}},
			IncludeTargets: []Target{{ID: AllUsers, Unset: map[string]Absence{"allowedPasskeyProfiles": Omitted}}},
			ExcludeTargets: []Target{{ID: "g1", Unset: map[string]Absence{}}},
		}
	}
	p := original()
	c := p.Clone()
	if !reflect.DeepEqual(c, p) {
		t.Fatalf("clone differs:\n got %#v\nwant %#v", c, p)
	}
	c.Extra["futureSetting"].(map[string]any)["list"].([]any)[0] = "changed"
	c.Extra["new"] = true
	c.Profiles[0].KeyRestrictions.Extra["futureKeyField"].([]any)[0] = false
	c.Profiles[0].KeyRestrictions.Unset["aaGuids"] = Omitted
	c.Profiles[0].Unset["passkeyTypes"] = Null
	c.IncludeTargets[0].Unset["id"] = Null
	c.ExcludeTargets[0].Unset["targetType"] = Null
	if !reflect.DeepEqual(p, original()) {
		t.Errorf("changing the clone changed the original:\n got %#v\nwant %#v", p, original())
	}

	empty := Policy{Profiles: []Profile{{}}, IncludeTargets: []Target{{}}}.Clone()
	if empty.Extra != nil || empty.Profiles[0].Unset != nil || empty.Profiles[0].KeyRestrictions.Extra != nil ||
		empty.Profiles[0].KeyRestrictions.Unset != nil || empty.IncludeTargets[0].Unset != nil {
		t.Errorf("nil maps became empty ones: %#v", empty)
	}
	if c := (Policy{ExcludeTargets: []Target{{Unset: map[string]Absence{}}}}).Clone(); c.ExcludeTargets[0].Unset == nil {
		t.Error("an empty Unset became nil")
	}
}
