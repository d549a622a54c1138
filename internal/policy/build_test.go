package policy

import (
	"strings"
	"testing"
)

func TestBuildProfile(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*ProfileSpec)
		want   Profile
	}{{
		name:   "API spelling becomes Graph's",
		mutate: func(s *ProfileSpec) { s.PasskeyTypes = []string{"DeviceBound"}; s.Attestation = "RegistrationOnly" },
		want: Profile{ID: pid(2), Name: "strict", PasskeyTypes: []string{PasskeyDeviceBound},
			AttestationEnforcement: AttestationRegistrationOnly,
			KeyRestrictions:        KeyRestrictions{EnforcementType: EnforcementBlock}},
	}, {
		name:   "passkey types in Graph's order without repeats",
		mutate: func(s *ProfileSpec) { s.PasskeyTypes = []string{"Synced", "deviceBound", "synced"} },
		want: Profile{ID: pid(2), Name: "strict", PasskeyTypes: []string{PasskeyDeviceBound, PasskeySynced},
			AttestationEnforcement: AttestationDisabled,
			KeyRestrictions:        KeyRestrictions{EnforcementType: EnforcementBlock}},
	}, {
		name:   "display name",
		mutate: func(s *ProfileSpec) { s.Name = "Strict keys" },
		want: Profile{ID: pid(2), Name: "Strict keys", PasskeyTypes: []string{PasskeyDeviceBound},
			AttestationEnforcement: AttestationDisabled,
			KeyRestrictions:        KeyRestrictions{EnforcementType: EnforcementBlock}},
	}, {
		name:   "allow list",
		mutate: func(s *ProfileSpec) { s.KeyEnforcement = "Allow"; s.AAGUIDs = []string{aaguid(1)} },
		want: Profile{ID: pid(2), Name: "strict", PasskeyTypes: []string{PasskeyDeviceBound},
			AttestationEnforcement: AttestationDisabled,
			KeyRestrictions:        KeyRestrictions{IsEnforced: true, EnforcementType: EnforcementAllow, AAGUIDs: []string{aaguid(1)}}},
	}, {
		name:   "enforcement None turns the list off and drops AAGUIDs",
		mutate: func(s *ProfileSpec) { s.KeyEnforcement = "None"; s.AAGUIDs = []string{aaguid(1)} },
		want: Profile{ID: pid(2), Name: "strict", PasskeyTypes: []string{PasskeyDeviceBound},
			AttestationEnforcement: AttestationDisabled,
			KeyRestrictions:        KeyRestrictions{EnforcementType: EnforcementBlock}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := profileSpec("strict", 0, func(s *ProfileSpec) { s.Name = "" }, tt.mutate)
			d := Build(mergeTenant(), []ProfileSpec{spec}, nil, map[Ref]string{spec.Ref: pid(2)})
			p := findDesiredProfile(t, d, spec.Ref)
			if p.Problem != nil {
				t.Fatalf("problem: %v", p.Problem)
			}
			assertEqual(t, "profile", p.Profile, tt.want)
		})
	}
}

func TestBuildProfileProblems(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*ProfileSpec)
		id      string
		want    string
		mention string
	}{{
		// Entra holds it (migrated tenants): Merge judges whether it is
		// kept or written anew.
		name: "attestation with synced as well builds",
		mutate: func(s *ProfileSpec) {
			s.PasskeyTypes = []string{"DeviceBound", "Synced"}
			s.Attestation = "RegistrationOnly"
		},
	}, {
		name: "attestation with synced alone",
		mutate: func(s *ProfileSpec) {
			s.PasskeyTypes = []string{"Synced"}
			s.Attestation = "RegistrationOnly"
		},
		want:    ReasonAttestationNeedsDeviceBoundOnly,
		mention: "attestation needs deviceBound",
	}, {
		name:    "unknown passkey type",
		mutate:  func(s *ProfileSpec) { s.PasskeyTypes = []string{"Hybrid"} },
		want:    ReasonInvalidValue,
		mention: `"Hybrid"`,
	}, {
		name:   "no passkey types",
		mutate: func(s *ProfileSpec) { s.PasskeyTypes = nil },
		want:   ReasonNoPasskeyTypes,
	}, {
		name:    "unknown attestation",
		mutate:  func(s *ProfileSpec) { s.Attestation = "Always" },
		want:    ReasonInvalidValue,
		mention: `"Always"`,
	}, {
		name:    "unknown key enforcement",
		mutate:  func(s *ProfileSpec) { s.KeyEnforcement = "Deny" },
		want:    ReasonInvalidValue,
		mention: `"Deny"`,
	}, {
		name:    "AAGUID not a GUID",
		mutate:  func(s *ProfileSpec) { s.KeyEnforcement = "Block"; s.AAGUIDs = []string{"yubikey-5"} },
		want:    ReasonInvalidAAGUID,
		mention: "yubikey-5",
	}, {
		name: "authenticator names not resolved",
		mutate: func(s *ProfileSpec) {
			s.KeyEnforcement = "Allow"
			s.AuthenticatorsProblem = &Problem{Reason: "AuthenticatorNotFound", Message: `"YubiKey 9*" matches no model`}
		},
		want:    "AuthenticatorNotFound",
		mention: "YubiKey 9*",
	}, {
		// A new profile is created without an id; Entra gives it one.
		name:   "no id yet is fine",
		mutate: func(*ProfileSpec) {},
		id:     "-",
	}, {
		name:   "deleting: the spec no longer matters",
		mutate: func(s *ProfileSpec) { s.PasskeyTypes = []string{"Hybrid"}; s.Deleting = true },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := profileSpec("strict", 0, tt.mutate)
			ids := map[Ref]string{spec.Ref: pid(2)}
			if tt.id == "-" {
				ids = nil
			}
			p := findDesiredProfile(t, Build(mergeTenant(), []ProfileSpec{spec}, nil, ids), spec.Ref)
			assertEqual(t, "reason", problemReason(p.Problem), tt.want)
			if tt.mention != "" && !strings.Contains(p.Problem.Message, tt.mention) {
				t.Errorf("message %q does not mention %q", p.Problem.Message, tt.mention)
			}
		})
	}
}

func TestBuildProfileConflicts(t *testing.T) {
	named := func(n string) func(*ProfileSpec) { return func(s *ProfileSpec) { s.Name = n } }
	isDefault := func(s *ProfileSpec) { s.Default = true }
	other := func(s *ProfileSpec) { s.Ref.Namespace = "other" }
	tests := []struct {
		name     string
		profiles []ProfileSpec
		ids      map[Ref]string
		// want maps each resource to its problem reason ("" for none)
		want map[Ref]string
		// the loser's message names the winner
		winner Ref
	}{{
		name:     "same name: the older wins",
		profiles: []ProfileSpec{profileSpec("young", 1, named("Strict")), profileSpec("old", 0, named("Strict"))},
		want:     map[Ref]string{profileRef("old"): "", profileRef("young"): ReasonConflict},
		winner:   profileRef("old"),
	}, {
		name:     "same name in another case and namespace",
		profiles: []ProfileSpec{profileSpec("a", 0, named("Strict")), profileSpec("b", 1, named("STRICT"), other)},
		want:     map[Ref]string{profileRef("a"): "", {Kind: KindProfile, Namespace: "other", Name: "b"}: ReasonConflict},
		winner:   profileRef("a"),
	}, {
		name:     "same age: the smaller Ref wins",
		profiles: []ProfileSpec{profileSpec("b", 0, named("Strict")), profileSpec("a", 0, named("Strict"))},
		want:     map[Ref]string{profileRef("a"): "", profileRef("b"): ReasonConflict},
		winner:   profileRef("a"),
	}, {
		name: "same age: the one already in Entra wins",
		profiles: []ProfileSpec{
			profileSpec("b", 0, named("Strict"), func(s *ProfileSpec) { s.KnownID = pid(2) }),
			profileSpec("a", 0, named("Strict")),
		},
		want:   map[Ref]string{profileRef("a"): ReasonConflict, profileRef("b"): ""},
		winner: profileRef("b"),
	}, {
		name:     "two default: true",
		profiles: []ProfileSpec{profileSpec("young", 1, isDefault), profileSpec("old", 0, isDefault)},
		want:     map[Ref]string{profileRef("old"): "", profileRef("young"): ReasonConflict},
		winner:   profileRef("old"),
	}, {
		name:     "same Entra profile id",
		profiles: []ProfileSpec{profileSpec("young", 1), profileSpec("old", 0)},
		ids:      map[Ref]string{profileRef("young"): strings.ToUpper(pid(2)), profileRef("old"): pid(2)},
		want:     map[Ref]string{profileRef("old"): "", profileRef("young"): ReasonConflict},
		winner:   profileRef("old"),
	}, {
		name: "a loser claims nothing, so it blocks no one",
		profiles: []ProfileSpec{
			profileSpec("first", 0, named("Strict")),
			profileSpec("second", 1, named("Strict"), isDefault),
			profileSpec("third", 2, named("Base"), isDefault),
		},
		want: map[Ref]string{profileRef("first"): "", profileRef("second"): ReasonConflict, profileRef("third"): ""},
	}, {
		name:     "conflict wins over a valid spec: the older invalid one still owns the name",
		profiles: []ProfileSpec{profileSpec("old", 0, named("Strict"), func(s *ProfileSpec) { s.PasskeyTypes = nil }), profileSpec("young", 1, named("Strict"))},
		want:     map[Ref]string{profileRef("old"): ReasonNoPasskeyTypes, profileRef("young"): ReasonConflict},
		winner:   profileRef("old"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := tt.ids
			if ids == nil {
				ids = AssignProfileIDs(tt.profiles, defaultTenant())
			}
			d := Build(mergeTenant(), tt.profiles, nil, ids)
			got := map[Ref]string{}
			for _, p := range d.Profiles {
				got[p.Spec.Ref] = problemReason(p.Problem)
				if p.Problem != nil && p.Problem.Reason == ReasonConflict && !strings.Contains(p.Problem.Message, tt.winner.String()) {
					t.Errorf("conflict message %q does not name the winner %s", p.Problem.Message, tt.winner)
				}
			}
			assertEqual(t, "reasons", got, tt.want)
		})
	}
}

func TestBuildAssignment(t *testing.T) {
	strict := profileSpec("strict", 0)
	keys := profileSpec("keys", 1)
	ids := map[Ref]string{strict.Ref: pid(2), keys.Ref: pid(3)}
	tests := []struct {
		name string
		spec AssignmentSpec
		want Target
	}{{
		name: "include resolves names to ids, without repeats",
		spec: assignmentSpec("admins", 0, gid(1), []string{"strict", "keys", "strict"},
			func(s *AssignmentSpec) { s.RegistrationRequired = true }),
		want: Target{ID: gid(1), TargetType: TargetTypeGroup, IsRegistrationRequired: true, AllowedPasskeyProfiles: []string{pid(2), pid(3)}},
	}, {
		name: "all users",
		spec: assignmentSpec("everyone", 0, AllUsers, []string{"keys"}),
		want: Target{ID: AllUsers, TargetType: TargetTypeGroup, AllowedPasskeyProfiles: []string{pid(3)}},
	}, {
		name: "exclude carries no profiles and no registration",
		spec: assignmentSpec("contractors", 0, gid(2), nil,
			func(s *AssignmentSpec) { s.Exclude = true; s.RegistrationRequired = true }),
		want: Target{ID: gid(2), TargetType: TargetTypeGroup},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Build(mergeTenant(), []ProfileSpec{strict, keys}, []AssignmentSpec{tt.spec}, ids)
			a := findDesiredAssignment(t, d, tt.spec.Ref)
			if a.Problem != nil {
				t.Fatalf("problem: %v", a.Problem)
			}
			assertEqual(t, "target", a.Target, tt.want)
		})
	}
}

func TestBuildAssignmentProblems(t *testing.T) {
	broken := profileSpec("broken", 0, func(s *ProfileSpec) { s.PasskeyTypes = []string{"Hybrid"} })
	strict := profileSpec("strict", 1)
	elsewhere := profileSpec("elsewhere", 2, func(s *ProfileSpec) { s.Ref.Namespace = "other" })
	leaving := profileSpec("leaving", 3, func(s *ProfileSpec) { s.Deleting = true }) // never created: no id
	fresh := profileSpec("fresh", 4)                                                 // new: no id yet
	profiles := []ProfileSpec{broken, strict, elsewhere, leaving, fresh}
	ids := map[Ref]string{broken.Ref: pid(4), strict.Ref: pid(2), elsewhere.Ref: pid(3)}
	exclude := func(s *AssignmentSpec) { s.Exclude = true }
	tests := []struct {
		name        string
		assignments []AssignmentSpec
		want        map[Ref]string
		mention     string
	}{{
		name:        "unknown profiles are all named",
		assignments: []AssignmentSpec{assignmentSpec("admins", 0, gid(1), []string{"strict", "lost", "gone"})},
		want:        map[Ref]string{assignmentRef("admins"): ReasonProfileNotFound},
		mention:     `"lost" and "gone" in namespace team`,
	}, {
		name:        "a profile in another namespace is not found",
		assignments: []AssignmentSpec{assignmentSpec("admins", 0, gid(1), []string{"elsewhere"})},
		want:        map[Ref]string{assignmentRef("admins"): ReasonProfileNotFound},
		mention:     `"elsewhere"`,
	}, {
		name:        "a profile with a problem makes the assignment wait",
		assignments: []AssignmentSpec{assignmentSpec("admins", 0, gid(1), []string{"strict", "broken"})},
		want:        map[Ref]string{assignmentRef("admins"): ReasonProfileNotReady},
		mention:     "PasskeyProfile team/broken cannot be written to Entra: InvalidValue",
	}, {
		name:        "a profile without id makes the assignment wait",
		assignments: []AssignmentSpec{assignmentSpec("admins", 0, gid(1), []string{"strict", "leaving"})},
		want:        map[Ref]string{assignmentRef("admins"): ReasonProfileNotReady},
		mention:     "PasskeyProfile team/leaving is being deleted and is not in Entra",
	}, {
		name:        "a profile being created makes the assignment wait for its id",
		assignments: []AssignmentSpec{assignmentSpec("admins", 0, gid(1), []string{"strict", "fresh"})},
		want:        map[Ref]string{assignmentRef("admins"): ReasonProfileNotReady},
		mention:     "PasskeyProfile team/fresh is not in Entra yet; the target names it once Entra has created it and given it an id",
	}, {
		name:        "include without profiles",
		assignments: []AssignmentSpec{assignmentSpec("admins", 0, gid(1), nil)},
		want:        map[Ref]string{assignmentRef("admins"): ReasonTargetWithoutProfiles},
	}, {
		name:        "group not resolved",
		assignments: []AssignmentSpec{assignmentSpec("admins", 0, "", []string{"strict"})},
		want:        map[Ref]string{assignmentRef("admins"): ReasonGroupNotResolved},
	}, {
		name:        "group id not a GUID",
		assignments: []AssignmentSpec{assignmentSpec("admins", 0, "admins", []string{"strict"})},
		want:        map[Ref]string{assignmentRef("admins"): ReasonInvalidTargetID},
	}, {
		name: "same include group: the older wins",
		assignments: []AssignmentSpec{
			assignmentSpec("young", 1, strings.ToUpper(gid(1)), []string{"strict"}),
			assignmentSpec("old", 0, gid(1), []string{"strict"}),
		},
		want:    map[Ref]string{assignmentRef("old"): "", assignmentRef("young"): ReasonConflict},
		mention: "GroupAssignment team/old, which is older, already claims include target " + gid(1),
	}, {
		name: "same exclude group: the older wins",
		assignments: []AssignmentSpec{
			assignmentSpec("young", 1, gid(2), nil, exclude),
			assignmentSpec("old", 0, gid(2), nil, exclude),
		},
		want:    map[Ref]string{assignmentRef("old"): "", assignmentRef("young"): ReasonConflict},
		mention: "exclude target " + gid(2),
	}, {
		name: "same age: the one already in Entra wins",
		assignments: []AssignmentSpec{
			assignmentSpec("b", 0, gid(1), []string{"strict"}, func(s *AssignmentSpec) { s.Applied = []AppliedTarget{{GroupID: gid(1)}} }),
			assignmentSpec("a", 0, gid(1), []string{"strict"}),
		},
		want:    map[Ref]string{assignmentRef("a"): ReasonConflict, assignmentRef("b"): ""},
		mention: "GroupAssignment team/b",
	}, {
		name: "same age: one moved onto the target is no incumbent of it",
		assignments: []AssignmentSpec{
			assignmentSpec("b", 0, gid(1), []string{"strict"}, func(s *AssignmentSpec) { s.Applied = []AppliedTarget{{GroupID: gid(1)}} }),
			assignmentSpec("a", 0, gid(1), []string{"strict"}, func(s *AssignmentSpec) { s.Applied = []AppliedTarget{{GroupID: gid(2)}} }),
		},
		want:    map[Ref]string{assignmentRef("a"): ReasonConflict, assignmentRef("b"): ""},
		mention: "GroupAssignment team/b",
	}, {
		name: "same all users: the older wins",
		assignments: []AssignmentSpec{
			assignmentSpec("young", 1, AllUsers, []string{"strict"}),
			assignmentSpec("old", 0, AllUsers, []string{"strict"}),
		},
		want: map[Ref]string{assignmentRef("old"): "", assignmentRef("young"): ReasonConflict},
	}, {
		name: "one group included and excluded is no conflict",
		assignments: []AssignmentSpec{
			assignmentSpec("in", 0, gid(1), []string{"strict"}),
			assignmentSpec("out", 1, gid(1), nil, exclude),
		},
		want: map[Ref]string{assignmentRef("in"): "", assignmentRef("out"): ""},
	}, {
		name: "deleting: unknown profiles no longer matter",
		assignments: []AssignmentSpec{assignmentSpec("admins", 0, gid(1), []string{"lost"},
			func(s *AssignmentSpec) { s.Deleting = true })},
		want: map[Ref]string{assignmentRef("admins"): ""},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Build(mergeTenant(), profiles, tt.assignments, ids)
			got := map[Ref]string{}
			var messages []string
			for _, a := range d.Assignments {
				got[a.Spec.Ref] = problemReason(a.Problem)
				if a.Problem != nil {
					messages = append(messages, a.Problem.Message)
				}
			}
			assertEqual(t, "reasons", got, tt.want)
			if tt.mention != "" && !strings.Contains(strings.Join(messages, "\n"), tt.mention) {
				t.Errorf("messages %q do not mention %q", messages, tt.mention)
			}
		})
	}
}

func TestBuildUsedByAndOrder(t *testing.T) {
	profiles := []ProfileSpec{profileSpec("strict", 5), profileSpec("keys", 1)}
	assignments := []AssignmentSpec{
		assignmentSpec("b", 2, gid(2), []string{"strict"}),
		assignmentSpec("a", 3, gid(1), []string{"strict", "keys"}),
		assignmentSpec("gone", 0, gid(3), []string{"strict"}, func(s *AssignmentSpec) { s.Deleting = true }),
	}
	d := buildFor(mergeTenant(), defaultTenant(), profiles, assignments)

	var order []Ref
	for _, p := range d.Profiles {
		order = append(order, p.Spec.Ref)
	}
	for _, a := range d.Assignments {
		order = append(order, a.Spec.Ref)
	}
	assertEqual(t, "order (oldest first)", order, []Ref{
		profileRef("keys"), profileRef("strict"),
		assignmentRef("gone"), assignmentRef("b"), assignmentRef("a"),
	})
	assertEqual(t, "strict used by", findDesiredProfile(t, d, profileRef("strict")).UsedBy,
		[]Ref{assignmentRef("a"), assignmentRef("b")})
	assertEqual(t, "keys used by", findDesiredProfile(t, d, profileRef("keys")).UsedBy, []Ref{assignmentRef("a")})
}

func TestBuildTenant(t *testing.T) {
	tests := []struct {
		state     string
		wantState string
		want      string
	}{
		{state: "", wantState: ""},
		{state: "Enabled", wantState: StateEnabled},
		{state: "DISABLED", wantState: StateDisabled},
		{state: "On", wantState: "On", want: ReasonInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			d := Build(TenantSpec{Ref: tenantRef, MethodState: tt.state}, nil, nil, nil)
			assertEqual(t, "state", d.Tenant.Spec.MethodState, tt.wantState)
			assertEqual(t, "reason", problemReason(d.Tenant.Problem), tt.want)
		})
	}
}

func TestDesiredProblems(t *testing.T) {
	d := Build(TenantSpec{Ref: tenantRef, MethodState: "On"},
		[]ProfileSpec{profileSpec("strict", 0, func(s *ProfileSpec) { s.PasskeyTypes = nil })},
		[]AssignmentSpec{assignmentSpec("admins", 0, "", nil)},
		map[Ref]string{profileRef("strict"): pid(2)})
	assertEqual(t, "problems", reasons(d.Problems()), map[Ref]string{
		tenantRef:               ReasonInvalidValue,
		profileRef("strict"):    ReasonNoPasskeyTypes,
		assignmentRef("admins"): ReasonGroupNotResolved,
	})
}
