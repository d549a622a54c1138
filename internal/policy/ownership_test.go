package policy

import "testing"

func TestClaims(t *testing.T) {
	moved := func(s *AssignmentSpec) { s.Applied = []AppliedTarget{{GroupID: gid(1)}} }
	tests := []struct {
		name        string
		profiles    []ProfileSpec
		assignments []AssignmentSpec
		want        Claims
	}{{
		name: "nothing to send, nothing to claim",
		want: Claims{Names: map[Ref]string{}, Targets: map[Ref]AppliedTarget{}},
	}, {
		name:     "a profile to create is claimed by the name it is sent under",
		profiles: []ProfileSpec{strictSpec(), newProfileSpec("Keys", 1)},
		want:     Claims{Names: map[Ref]string{profileRef("keys"): "Keys"}, Targets: map[Ref]AppliedTarget{}},
	}, {
		name:     "a profile updated in place has its id: no claim",
		profiles: []ProfileSpec{strictSpec(func(s *ProfileSpec) { s.PasskeyTypes = []string{"Synced"} })},
		want:     Claims{Names: map[Ref]string{}, Targets: map[Ref]AppliedTarget{}},
	}, {
		name: "a moved target is claimed where it goes; the one it leaves is not",
		assignments: []AssignmentSpec{
			assignmentSpec("admins", 0, gid(3), []string{"strict"}, moved),
			contractorsSpec(),
		},
		want: Claims{Names: map[Ref]string{}, Targets: map[Ref]AppliedTarget{assignmentRef("admins"): {GroupID: gid(3)}}},
	}, {
		name: "a target written in place is claimed, an exclusion too",
		assignments: []AssignmentSpec{
			adminsSpec(func(s *AssignmentSpec) { s.RegistrationRequired = true }),
			assignmentSpec("contractors", 0, gid(5), nil, func(s *AssignmentSpec) { s.Exclude = true }),
		},
		want: Claims{Names: map[Ref]string{}, Targets: map[Ref]AppliedTarget{
			assignmentRef("admins"):      {GroupID: gid(1)},
			assignmentRef("contractors"): {GroupID: gid(5), Exclude: true},
		}},
	}, {
		name: "a target that waits for its new profile claims nothing yet",
		profiles: []ProfileSpec{
			strictSpec(), newProfileSpec("Keys", 1),
		},
		assignments: []AssignmentSpec{
			assignmentSpec("staff", 0, gid(7), []string{"keys"}),
			adminsSpec(), contractorsSpec(),
		},
		want: Claims{Names: map[Ref]string{profileRef("keys"): "Keys"}, Targets: map[Ref]AppliedTarget{}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			profiles, assignments := tt.profiles, tt.assignments
			if profiles == nil {
				profiles = []ProfileSpec{strictSpec()}
			}
			if assignments == nil {
				assignments = []AssignmentSpec{adminsSpec(), contractorsSpec()}
			}
			d := Decide(mergeObserved(), Declared{Tenant: mergeTenant(), Profiles: profiles, Assignments: assignments})
			assertEqual(t, "claims", d.Claims(), tt.want)
		})
	}
}

func TestSettleTargets(t *testing.T) {
	final := mergeObserved() // include gid 1, exclude gid 2
	include := func(n int) AppliedTarget { return AppliedTarget{GroupID: gid(n)} }
	exclude := func(n int) AppliedTarget { return AppliedTarget{GroupID: gid(n), Exclude: true} }
	tests := []struct {
		name      string
		held      HeldTargets
		declared  AppliedTarget
		confirmed bool
		want      HeldTargets
	}{{
		name:      "the declared target confirmed is all that is held",
		held:      HeldTargets{Applied: ptr(exclude(2)), Pending: []AppliedTarget{include(1), exclude(2)}},
		declared:  include(1),
		confirmed: true,
		want:      HeldTargets{Applied: ptr(include(1))},
	}, {
		name:      "same group, other list: not confirmed",
		held:      HeldTargets{Pending: []AppliedTarget{exclude(1)}},
		declared:  exclude(1),
		confirmed: true,
		want:      HeldTargets{},
	}, {
		name:     "unconfirmed (a problem, a deletion): the confirmed one stays, pending ones while Entra has them",
		held:     HeldTargets{Applied: ptr(include(9)), Pending: []AppliedTarget{include(1), include(3), exclude(2)}},
		declared: include(1),
		want:     HeldTargets{Applied: ptr(include(9)), Pending: []AppliedTarget{include(1), exclude(2)}},
	}, {
		name:      "confirmed but Entra does not hold it: pending ones stay",
		held:      HeldTargets{Pending: []AppliedTarget{exclude(2)}},
		declared:  include(3),
		confirmed: true,
		want:      HeldTargets{Pending: []AppliedTarget{exclude(2)}},
	}, {
		name:     "a pending target the same as the confirmed one is not repeated",
		held:     HeldTargets{Applied: ptr(include(1)), Pending: []AppliedTarget{include(1)}},
		declared: include(3),
		want:     HeldTargets{Applied: ptr(include(1))},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertEqual(t, "held", SettleTargets(tt.held, tt.declared, tt.confirmed, final), tt.want)
		})
	}
}

func TestHeldTargetsClaim(t *testing.T) {
	confirmed := AppliedTarget{GroupID: gid(1)}
	h := HeldTargets{Applied: &confirmed}
	assertEqual(t, "claiming the confirmed target", h.Claim(AppliedTarget{GroupID: gid(1)}), h)
	claimed := h.Claim(AppliedTarget{GroupID: gid(1), Exclude: true})
	assertEqual(t, "claiming another list", claimed.All(), []AppliedTarget{confirmed, {GroupID: gid(1), Exclude: true}})
	assertEqual(t, "claiming twice", claimed.Claim(AppliedTarget{GroupID: gid(1), Exclude: true}), claimed)
}

func TestSettleName(t *testing.T) {
	final := mergeObserved() // profiles "Default passkey profile", "Strict"
	tests := []struct {
		name, pending, knownID, want string
	}{
		{name: "Entra holds it, no id recorded: still pending", pending: "strict", want: "strict"},
		{name: "an id is recorded", pending: "Strict", knownID: pid(2), want: ""},
		{name: "Entra has no profile of that name: the create never happened", pending: "Keys", want: ""},
		{name: "nothing pending", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertEqual(t, "pending name", SettleName(tt.pending, tt.knownID, final), tt.want)
		})
	}
}
