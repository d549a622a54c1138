package policy

import (
	"strings"
	"testing"
)

func TestAssignProfileIDs(t *testing.T) {
	withStrict := defaultTenant()
	withStrict.Profiles = append(withStrict.Profiles, entraProfile(pid(2), "Strict", PasskeyDeviceBound))
	known := func(id string) func(*ProfileSpec) { return func(s *ProfileSpec) { s.KnownID = id } }
	isDefault := func(s *ProfileSpec) { s.Default = true }
	deleting := func(s *ProfileSpec) { s.Deleting = true }
	named := func(n string) func(*ProfileSpec) { return func(s *ProfileSpec) { s.Name = n } }
	pending := func(n string) func(*ProfileSpec) { return func(s *ProfileSpec) { s.PendingName = n } }

	tests := []struct {
		name     string
		observed Policy
		profiles []ProfileSpec
		want     map[Ref]string
	}{{
		name:     "known id that Entra has",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("keys", 0, known(pid(2)))},
		want:     map[Ref]string{profileRef("keys"): pid(2)},
	}, {
		name:     "default: true takes the tenant's default profile",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("base", 0, isDefault)},
		want:     map[Ref]string{profileRef("base"): pid(1)},
	}, {
		name:     "default: true wins over an earlier known id",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("base", 0, isDefault, known(pid(2)))},
		want:     map[Ref]string{profileRef("base"): pid(1)},
	}, {
		name:     "the known id default: true leaves behind can be adopted",
		observed: withStrict,
		profiles: []ProfileSpec{
			profileSpec("base", 0, isDefault, known(pid(2))),
			profileSpec("strict", 1, named("Strict")),
		},
		want: map[Ref]string{profileRef("base"): pid(1), profileRef("strict"): pid(2)},
	}, {
		name:     "default: true in a tenant without default gets no id: it is created",
		observed: Policy{},
		profiles: []ProfileSpec{profileSpec("base", 0, isDefault)},
		want:     map[Ref]string{},
	}, {
		name:     "adopt by name, any case",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("strict", 0, named("STRICT"))},
		want:     map[Ref]string{profileRef("strict"): pid(2)},
	}, {
		name:     "adopt by name when the display name defaults to the resource name",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("Strict", 0, named(""))},
		want:     map[Ref]string{profileRef("Strict"): pid(2)},
	}, {
		name:     "the default profile is not adopted by name away from default: true",
		observed: defaultTenant(),
		profiles: []ProfileSpec{
			profileSpec("lookalike", 0, named("Default passkey profile")),
			profileSpec("base", 1, named("Base"), isDefault),
		},
		want: map[Ref]string{profileRef("base"): pid(1)},
	}, {
		name:     "a profile another resource knows is not adopted",
		observed: withStrict,
		profiles: []ProfileSpec{
			profileSpec("new", 0, named("Strict")),
			profileSpec("old", 1, named("Old"), known(pid(2))),
		},
		want: map[Ref]string{profileRef("old"): pid(2)},
	}, {
		name:     "known id that Entra replaced is found again by name",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("strict", 0, named("Strict"), known(pid(7)))},
		want:     map[Ref]string{profileRef("strict"): pid(2)},
	}, {
		// Never a client-chosen id: Entra may ignore or refuse it.
		name:     "known id that Entra lost is dropped: the profile is created anew",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("keys", 0, known(pid(7)))},
		want:     map[Ref]string{},
	}, {
		name:     "new profile: no id, Entra gives it one",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("keys", 0)},
		want:     map[Ref]string{},
	}, {
		name:     "name conflict: the older adopts, the younger gets nothing",
		observed: withStrict,
		profiles: []ProfileSpec{
			profileSpec("b", 0, named("Strict")),
			profileSpec("a", 1, named("strict")),
		},
		want: map[Ref]string{profileRef("b"): pid(2)},
	}, {
		name:     "name conflict: the younger keeps its known id",
		observed: withStrict,
		profiles: []ProfileSpec{
			profileSpec("b", 0, named("Strict")),
			profileSpec("a", 1, named("Strict"), known(pid(7))),
		},
		want: map[Ref]string{profileRef("b"): pid(2), profileRef("a"): pid(7)},
	}, {
		name:     "two default: true, the older gets the default",
		observed: defaultTenant(),
		profiles: []ProfileSpec{
			profileSpec("young", 1, isDefault),
			profileSpec("old", 0, isDefault),
		},
		want: map[Ref]string{profileRef("old"): pid(1)},
	}, {
		name:     "deleting without known id gets nothing, even with a matching name",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("Strict", 0, deleting)},
		want:     map[Ref]string{},
	}, {
		name:     "renamed before the id of the profile it created was recorded: its pending name finds it",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("strict", 0, named("Renamed"), pending("Strict"))},
		want:     map[Ref]string{profileRef("strict"): pid(2)},
	}, {
		name:     "deleted before the id was recorded: the pending name finds what it created",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("strict", 0, named("Renamed"), pending("Strict"), deleting)},
		want:     map[Ref]string{profileRef("strict"): pid(2)},
	}, {
		name:     "the pending name comes before another resource's adoption by name",
		observed: withStrict,
		profiles: []ProfileSpec{
			profileSpec("old", 0, named("Strict")),
			profileSpec("young", 1, named("Renamed"), pending("Strict")),
		},
		want: map[Ref]string{profileRef("young"): pid(2)},
	}, {
		name:     "a pending name never takes a profile another resource knows",
		observed: withStrict,
		profiles: []ProfileSpec{
			profileSpec("owner", 0, known(pid(2))),
			profileSpec("young", 1, named("Renamed"), pending("Strict")),
		},
		want: map[Ref]string{profileRef("owner"): pid(2)},
	}, {
		name:     "a known id Entra has wins over a pending name",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("keys", 0, known(pid(1)), pending("Strict"))},
		want:     map[Ref]string{profileRef("keys"): pid(1)},
	}, {
		name:     "deleting keeps its known id",
		observed: withStrict,
		profiles: []ProfileSpec{profileSpec("keys", 0, deleting, known(pid(7)))},
		want:     map[Ref]string{profileRef("keys"): pid(7)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AssignProfileIDs(tt.profiles, tt.observed)
			assertEqual(t, "ids", got, tt.want)
		})
	}
}

func TestAssignProfileIDsImportNeedsNoNewID(t *testing.T) {
	observed := defaultTenant()
	observed.Profiles = append(observed.Profiles, entraProfile(pid(2), "Strict", PasskeyDeviceBound))
	profiles := []ProfileSpec{
		profileSpec("base", 0, func(s *ProfileSpec) { s.Default = true; s.Name = "Base" }),
		profileSpec("strict", 1, func(s *ProfileSpec) { s.Name = "Strict" }),
	}
	got := AssignProfileIDs(profiles, observed)
	assertEqual(t, "ids", got, map[Ref]string{profileRef("base"): pid(1), profileRef("strict"): pid(2)})
}

func TestAssignProfileIDsOrderOfInput(t *testing.T) {
	observed := defaultTenant()
	observed.Profiles = append(observed.Profiles, entraProfile(pid(2), "Strict", PasskeyDeviceBound))
	a := profileSpec("a", 0, func(s *ProfileSpec) { s.Name = "Strict" })
	b := profileSpec("b", 0, func(s *ProfileSpec) { s.Name = "Strict" }) // same age: Ref decides
	for _, order := range [][]ProfileSpec{{a, b}, {b, a}} {
		got := AssignProfileIDs(order, observed)
		assertEqual(t, "ids", got, map[Ref]string{profileRef("a"): pid(2)})
	}
}

func TestMatchByName(t *testing.T) {
	readBack := defaultTenant()
	readBack.Profiles = append(readBack.Profiles,
		entraProfile(pid(5), "Strict", PasskeyDeviceBound),
		entraProfile(pid(6), "Keys", PasskeyDeviceBound))
	report := func(s *ProfileSpec) { s.Enforce = false }
	suspended := func(s *ProfileSpec) { s.Suspended = true }
	tests := []struct {
		name     string
		profiles []ProfileSpec
		ids      map[Ref]string
		want     map[Ref]string
	}{{
		name:     "a profile created without an id is found by name",
		profiles: []ProfileSpec{profileSpec("Strict", 0)},
		ids:      map[Ref]string{},
		want:     map[Ref]string{profileRef("Strict"): pid(5)},
	}, {
		name:     "Entra stored the profile under another id",
		profiles: []ProfileSpec{profileSpec("Strict", 0)},
		ids:      map[Ref]string{profileRef("Strict"): pid(2)},
		want:     map[Ref]string{profileRef("Strict"): pid(5)},
	}, {
		name:     "Entra kept our id",
		profiles: []ProfileSpec{profileSpec("Strict", 0)},
		ids:      map[Ref]string{profileRef("Strict"): strings.ToUpper(pid(5))},
		want:     map[Ref]string{},
	}, {
		name:     "a profile another resource manages is not taken",
		profiles: []ProfileSpec{profileSpec("Strict", 0), profileSpec("other", 1, func(s *ProfileSpec) { s.Name = "Other" })},
		ids:      map[Ref]string{profileRef("Strict"): pid(2), profileRef("other"): pid(5)},
		want:     map[Ref]string{},
	}, {
		name:     "Report and suspended profiles were not written",
		profiles: []ProfileSpec{profileSpec("Strict", 0, report), profileSpec("Keys", 1, suspended)},
		ids:      map[Ref]string{profileRef("Strict"): pid(2), profileRef("Keys"): pid(3)},
		want:     map[Ref]string{},
	}, {
		name:     "no profile of that name",
		profiles: []ProfileSpec{profileSpec("Lost", 0)},
		ids:      map[Ref]string{profileRef("Lost"): pid(2)},
		want:     map[Ref]string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired := Build(mergeTenant(), tt.profiles, nil, tt.ids)
			assertEqual(t, "moved", MatchByName(desired, readBack), tt.want)
		})
	}
}
