package policy

import (
	"strings"
	"testing"
)

// diffTenant holds a profile "Strict" (pid 2) that the tests' resource
// declares exactly, targeted at gid 1, and an exclude target gid 2.
func diffTenant() Policy {
	p := defaultTenant()
	strict := entraProfile(pid(2), "Strict", PasskeyDeviceBound)
	strict.AttestationEnforcement = AttestationRegistrationOnly
	strict.KeyRestrictions = KeyRestrictions{IsEnforced: true, EnforcementType: EnforcementAllow, AAGUIDs: []string{aaguid(1), aaguid(2)}}
	p.Profiles = append(p.Profiles, strict)
	p.IncludeTargets = append(p.IncludeTargets, Target{ID: gid(1), TargetType: TargetTypeGroup, IsRegistrationRequired: true, AllowedPasskeyProfiles: []string{pid(2), pid(1)}})
	p.ExcludeTargets = []Target{excludeTarget(gid(2))}
	return p
}

func diffProfileSpec(mutate ...func(*ProfileSpec)) ProfileSpec {
	return profileSpec("strict", 0, append([]func(*ProfileSpec){func(s *ProfileSpec) {
		s.Name = "Strict"
		s.PasskeyTypes = []string{"DeviceBound"}
		s.Attestation = "RegistrationOnly"
		s.KeyEnforcement = "Allow"
		s.AAGUIDs = []string{strings.ToUpper(aaguid(2)), aaguid(1)} // other order, other case
		s.KnownID = pid(2)
	}}, mutate...)...)
}

func TestDiffProfile(t *testing.T) {
	tests := []struct {
		name     string
		spec     func(*ProfileSpec)
		observed func(*Policy)
		want     []Drift
	}{{
		name: "in sync, sets compared without order or case",
	}, {
		name: "name",
		spec: func(s *ProfileSpec) { s.Name = "Strict keys" },
		want: []Drift{{FieldName, "Strict keys", "Strict"}},
	}, {
		name: "passkey types",
		spec: func(s *ProfileSpec) { s.PasskeyTypes = []string{"Synced", "DeviceBound"}; s.Attestation = "" },
		want: []Drift{
			{FieldPasskeyTypes, "deviceBound, synced", "deviceBound"},
			{FieldAttestation, AttestationDisabled, AttestationRegistrationOnly},
		},
	}, {
		name: "passkey types in another order are no drift",
		spec: func(s *ProfileSpec) { s.PasskeyTypes = []string{"Synced", "DeviceBound"}; s.Attestation = "" },
		observed: func(p *Policy) {
			p.Profiles[1].PasskeyTypes = []string{PasskeySynced, PasskeyDeviceBound}
			p.Profiles[1].AttestationEnforcement = AttestationDisabled
		},
	}, {
		name:     "attestation",
		observed: func(p *Policy) { p.Profiles[1].AttestationEnforcement = AttestationDisabled },
		want:     []Drift{{FieldAttestation, AttestationRegistrationOnly, AttestationDisabled}},
	}, {
		name:     "key restrictions turned off in Entra",
		observed: func(p *Policy) { p.Profiles[1].KeyRestrictions.IsEnforced = false },
		want:     []Drift{{FieldKeyEnforced, "true", "false"}},
	}, {
		name:     "enforcement type",
		observed: func(p *Policy) { p.Profiles[1].KeyRestrictions.EnforcementType = EnforcementBlock },
		want:     []Drift{{FieldEnforcementType, EnforcementAllow, EnforcementBlock}},
	}, {
		name:     "AAGUIDs, sorted and comma-separated",
		observed: func(p *Policy) { p.Profiles[1].KeyRestrictions.AAGUIDs = []string{aaguid(3), aaguid(1)} },
		want:     []Drift{{FieldAAGUIDs, aaguid(1) + ", " + strings.ToUpper(aaguid(2)), aaguid(1) + ", " + aaguid(3)}},
	}, {
		name:     "AAGUID list emptied in Entra",
		observed: func(p *Policy) { p.Profiles[1].KeyRestrictions.AAGUIDs = nil },
		want:     []Drift{{FieldAAGUIDs, aaguid(1) + ", " + strings.ToUpper(aaguid(2)), "(none)"}},
	}, {
		name: "enforcement None: Entra's type and list are no drift",
		spec: func(s *ProfileSpec) { s.KeyEnforcement = "None"; s.AAGUIDs = nil },
		observed: func(p *Policy) {
			p.Profiles[1].KeyRestrictions = KeyRestrictions{EnforcementType: EnforcementAllow, AAGUIDs: []string{aaguid(3)}}
		},
	}, {
		name: "enforcement None while Entra enforces",
		spec: func(s *ProfileSpec) { s.KeyEnforcement = "None"; s.AAGUIDs = nil },
		want: []Drift{{FieldKeyEnforced, "false", "true"}},
	}, {
		name:     "profile missing",
		observed: func(p *Policy) { p.Profiles = p.Profiles[:1]; p.IncludeTargets = p.IncludeTargets[:1] },
		want:     []Drift{{FieldProfile, Present, Absent}},
	}, {
		name:     "profile found in another case of its id",
		observed: func(p *Policy) { p.Profiles[1].ID = strings.ToUpper(pid(2)) },
	}, {
		name: "default: true on a profile that is not the default",
		spec: func(s *ProfileSpec) { s.Default = true },
		want: []Drift{{FieldDefault, pid(2), pid(1)}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			observed := diffTenant()
			if tt.observed != nil {
				tt.observed(&observed)
			}
			spec := diffProfileSpec()
			if tt.spec != nil {
				tt.spec(&spec)
			}
			// Ids as the controller passes them, except for the default
			// case, which must keep its own id to show the drift.
			desired := Build(mergeTenant(), []ProfileSpec{spec}, nil, map[Ref]string{spec.Ref: pid(2)})
			assertEqual(t, "drift", Diff(desired, observed)[spec.Ref], tt.want)
		})
	}
}

func TestDiffTarget(t *testing.T) {
	strict := diffProfileSpec()
	base := profileSpec("base", 0, func(s *ProfileSpec) { s.Default = true; s.Name = "Default passkey profile" })
	newOne := profileSpec("new", 0, func(s *ProfileSpec) { s.Name = "New" })
	ids := map[Ref]string{strict.Ref: pid(2), base.Ref: pid(1), newOne.Ref: pid(7)}
	include := func(mutate ...func(*AssignmentSpec)) AssignmentSpec {
		return assignmentSpec("admins", 0, strings.ToUpper(gid(1)), []string{"strict", "base"},
			append([]func(*AssignmentSpec){func(s *AssignmentSpec) { s.RegistrationRequired = true }}, mutate...)...)
	}
	exclude := func(group string) AssignmentSpec {
		return assignmentSpec("contractors", 0, group, nil, func(s *AssignmentSpec) { s.Exclude = true })
	}
	tests := []struct {
		name       string
		assignment AssignmentSpec
		observed   func(*Policy)
		want       []Drift
	}{{
		name:       "include in sync, group id and profiles in any case and order",
		assignment: include(),
	}, {
		name:       "registration required",
		assignment: include(func(s *AssignmentSpec) { s.RegistrationRequired = false }),
		want:       []Drift{{FieldRegistrationRequired, "false", "true"}},
	}, {
		name:       "allowed profiles, shown by name",
		assignment: include(func(s *AssignmentSpec) { s.Profiles = []string{"strict", "new"} }),
		want:       []Drift{{FieldAllowedProfiles, "New, Strict", "Default passkey profile, Strict"}},
	}, {
		name:       "allowed profiles unknown to both sides are shown by id",
		assignment: include(),
		observed:   func(p *Policy) { p.IncludeTargets[1].AllowedPasskeyProfiles = []string{pid(2), pid(9)} },
		want:       []Drift{{FieldAllowedProfiles, "Default passkey profile, Strict", pid(9) + ", Strict"}},
	}, {
		name:       "include target missing",
		assignment: include(),
		observed:   func(p *Policy) { p.IncludeTargets = p.IncludeTargets[:1] },
		want:       []Drift{{FieldTarget, Present, Absent}},
	}, {
		name:       "include target only in the exclude list",
		assignment: include(),
		observed: func(p *Policy) {
			p.IncludeTargets = p.IncludeTargets[:1]
			p.ExcludeTargets = []Target{excludeTarget(gid(1))}
		},
		want: []Drift{{FieldTarget, Present, Absent}},
	}, {
		name:       "exclude in sync",
		assignment: exclude(gid(2)),
	}, {
		name:       "exclude target missing",
		assignment: exclude(gid(3)),
		want:       []Drift{{FieldTarget, Present, Absent}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			observed := diffTenant()
			if tt.observed != nil {
				tt.observed(&observed)
			}
			desired := Build(mergeTenant(), []ProfileSpec{strict, base, newOne}, []AssignmentSpec{tt.assignment}, ids)
			assertEqual(t, "drift", Diff(desired, observed)[tt.assignment.Ref], tt.want)
		})
	}
}

func TestDiffTenant(t *testing.T) {
	tests := []struct {
		name     string
		spec     TenantSpec
		observed func(*Policy)
		want     []Drift
	}{{
		name: "unmanaged settings never drift",
		spec: TenantSpec{Ref: tenantRef},
	}, {
		name: "in sync",
		spec: TenantSpec{Ref: tenantRef, MethodState: "Enabled", SelfServiceRegistration: ptr(true)},
	}, {
		name: "state and self-service registration",
		spec: TenantSpec{Ref: tenantRef, MethodState: "Disabled", SelfServiceRegistration: ptr(false)},
		want: []Drift{{FieldState, StateDisabled, StateEnabled}, {FieldSelfServiceRegistration, "false", "true"}},
	}, {
		name:     "not read",
		spec:     TenantSpec{Ref: tenantRef, MethodState: "Enabled", SelfServiceRegistration: ptr(true)},
		observed: func(p *Policy) { p.State = ""; p.SelfServiceRegistration = nil },
		want:     []Drift{{FieldState, StateEnabled, "(unset)"}, {FieldSelfServiceRegistration, "true", "(unset)"}},
	}, {
		name: "an invalid state is a problem, not drift",
		spec: TenantSpec{Ref: tenantRef, MethodState: "On"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			observed := defaultTenant()
			if tt.observed != nil {
				tt.observed(&observed)
			}
			desired := Build(tt.spec, nil, nil, nil)
			assertEqual(t, "drift", Diff(desired, observed)[tenantRef], tt.want)
		})
	}
}

func TestDiffSkips(t *testing.T) {
	observed := defaultTenant() // holds neither the profile nor the target
	tests := []struct {
		name       string
		profile    func(*ProfileSpec)
		assignment func(*AssignmentSpec)
		want       int // resources with drift
	}{
		{name: "Enforce and Report are both compared", profile: func(s *ProfileSpec) { s.Enforce = false }, want: 2},
		{name: "suspended", profile: func(s *ProfileSpec) { s.Suspended = true }, assignment: func(s *AssignmentSpec) { s.Suspended = true }},
		{name: "deleting", profile: func(s *ProfileSpec) { s.Deleting = true }, assignment: func(s *AssignmentSpec) { s.Deleting = true }},
		{name: "with a problem", profile: func(s *ProfileSpec) { s.PasskeyTypes = nil }}, // and the assignment waits for it
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := profileSpec("strict", 0)
			if tt.profile != nil {
				tt.profile(&p)
			}
			a := assignmentSpec("admins", 0, gid(1), []string{"strict"})
			if tt.assignment != nil {
				tt.assignment(&a)
			}
			desired := Build(mergeTenant(), []ProfileSpec{p}, []AssignmentSpec{a}, map[Ref]string{p.Ref: pid(2)})
			if got := Diff(desired, observed); len(got) != tt.want {
				t.Errorf("drift for %d resources, want %d: %v", len(got), tt.want, got)
			}
		})
	}
}
