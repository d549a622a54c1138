package policy

import (
	"slices"
	"strings"
	"testing"
)

func problemReasons(problems []Problem) []string {
	var out []string
	for _, p := range problems {
		out = append(out, p.Reason)
	}
	return out
}

// validTenant has every kind of item, all valid, for rules to break.
func validTenant() Policy {
	p := defaultTenant()
	strict := entraProfile(pid(2), "Strict", PasskeyDeviceBound)
	strict.AttestationEnforcement = AttestationRegistrationOnly
	strict.KeyRestrictions = KeyRestrictions{IsEnforced: true, EnforcementType: EnforcementAllow, AAGUIDs: []string{aaguid(1), strings.ToUpper(aaguid(2))}}
	p.Profiles = append(p.Profiles, strict)
	p.IncludeTargets = append(p.IncludeTargets, includeTarget(gid(1), pid(2)))
	p.ExcludeTargets = []Target{excludeTarget(gid(2))}
	return p
}

func TestValidateAcceptsValidPolicy(t *testing.T) {
	p := validTenant()
	if problems := Validate(p, p); len(problems) > 0 {
		t.Fatalf("valid policy refused: %v", problems)
	}
	if problems := Validate(Policy{}, Policy{}); len(problems) > 0 {
		t.Fatalf("empty policy refused: %v", problems)
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		prev   func(*Policy) // changes the stored document; nil: validTenant as is
		change func(*Policy)
		want   string
		// message must mention this, so people can find the culprit
		mention string
	}{{
		name: "fourth profile",
		change: func(p *Policy) {
			p.Profiles = append(p.Profiles, entraProfile(pid(3), "C", "synced"), entraProfile(pid(4), "D", "synced"))
		},
		want:    ReasonTooManyProfiles,
		mention: "at most 3",
	}, {
		name:    "default profile removed",
		change:  func(p *Policy) { p.Profiles = p.Profiles[1:]; p.IncludeTargets = p.IncludeTargets[1:] },
		want:    ReasonDefaultProfileRemoved,
		mention: pid(1),
	}, {
		name:    "default profile changed",
		change:  func(p *Policy) { p.DefaultProfileID = pid(2) },
		want:    ReasonDefaultProfileChanged,
		mention: pid(1),
	}, {
		name:   "default profile set where there was none",
		prev:   func(p *Policy) { p.DefaultProfileID = "" },
		change: func(p *Policy) {},
	}, {
		name:    "attestation with synced",
		change:  func(p *Policy) { p.Profiles[1].PasskeyTypes = []string{PasskeyDeviceBound, PasskeySynced} },
		want:    ReasonAttestationNeedsDeviceBoundOnly,
		mention: `"Strict"`,
	}, {
		name:   "attestation with synced kept as Entra holds it",
		prev:   func(p *Policy) { p.Profiles[1].PasskeyTypes = []string{PasskeyDeviceBound, PasskeySynced} },
		change: func(p *Policy) { p.Profiles[1].Name = "Renamed" },
	}, {
		name:   "attestation with synced alone",
		change: func(p *Policy) { p.Profiles[1].PasskeyTypes = []string{PasskeySynced} },
		want:   ReasonAttestationNeedsDeviceBoundOnly,
	}, {
		name:   "attestation unknown",
		change: func(p *Policy) { p.Profiles[1].AttestationEnforcement = "always" },
		want:   ReasonInvalidValue,
	}, {
		name:   "no passkey types",
		change: func(p *Policy) { p.Profiles[0].PasskeyTypes = nil },
		want:   ReasonNoPasskeyTypes,
	}, {
		name:   "unknown passkey type",
		change: func(p *Policy) { p.Profiles[0].PasskeyTypes = []string{"hybrid"} },
		want:   ReasonInvalidValue,
	}, {
		name:    "AAGUID not a GUID",
		change:  func(p *Policy) { p.Profiles[1].KeyRestrictions.AAGUIDs = []string{"yubikey"} },
		want:    ReasonInvalidAAGUID,
		mention: "yubikey",
	}, {
		name:   "enforcement type missing",
		change: func(p *Policy) { p.Profiles[1].KeyRestrictions.EnforcementType = "" },
		want:   ReasonInvalidValue,
	}, {
		name:   "enforcement type missing while not enforced",
		change: func(p *Policy) { p.Profiles[0].KeyRestrictions.EnforcementType = "" },
		want:   ReasonInvalidValue,
	}, {
		name: "profile id not a GUID",
		change: func(p *Policy) {
			p.Profiles[1].ID = "strict"
			p.IncludeTargets[1].AllowedPasskeyProfiles = []string{"strict"}
		},
		want: ReasonInvalidProfileID,
	}, {
		name: "duplicate profile id, other case",
		change: func(p *Policy) {
			p.Profiles = append(p.Profiles, entraProfile(strings.ToUpper(pid(1)), "Copy", "synced"))
		},
		want: ReasonDuplicateProfileID,
	}, {
		name:   "profile without name",
		change: func(p *Policy) { p.Profiles[1].Name = "" },
		want:   ReasonMissingProfileName,
	}, {
		name:    "include target without profiles",
		change:  func(p *Policy) { p.IncludeTargets[1].AllowedPasskeyProfiles = nil },
		want:    ReasonTargetWithoutProfiles,
		mention: gid(1),
	}, {
		name:    "include target names a missing profile",
		change:  func(p *Policy) { p.IncludeTargets[1].AllowedPasskeyProfiles = []string{pid(9)} },
		want:    ReasonUnknownProfileID,
		mention: pid(9),
	}, {
		name:   "include target names a profile in another case",
		change: func(p *Policy) { p.IncludeTargets[1].AllowedPasskeyProfiles = []string{strings.ToUpper(pid(2))} },
	}, {
		name:   "include target id not a GUID",
		change: func(p *Policy) { p.IncludeTargets[1].ID = "admins" },
		want:   ReasonInvalidTargetID,
	}, {
		name:   "exclude target all_users",
		change: func(p *Policy) { p.ExcludeTargets[0].ID = AllUsers },
		want:   ReasonInvalidTargetID,
	}, {
		name:   "target type unknown",
		change: func(p *Policy) { p.ExcludeTargets[0].TargetType = "device" },
		want:   ReasonInvalidValue,
	}, {
		name: "duplicate include target",
		change: func(p *Policy) {
			p.IncludeTargets = append(p.IncludeTargets, includeTarget(strings.ToUpper(gid(1)), pid(1)))
		},
		want: ReasonDuplicateTarget,
	}, {
		name:   "same group included and excluded",
		change: func(p *Policy) { p.ExcludeTargets = append(p.ExcludeTargets, excludeTarget(gid(1))) },
	}, {
		name:   "method state unknown",
		change: func(p *Policy) { p.State = "on" },
		want:   ReasonInvalidValue,
	}, {
		name:   "method state unknown is allowed",
		change: func(p *Policy) { p.State = "" },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := validTenant()
			if tt.prev != nil {
				tt.prev(&prev)
			}
			next := prev.Clone()
			tt.change(&next)
			problems := Validate(prev, next)
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			assertEqual(t, "reasons", problemReasons(problems), want)
			if tt.mention != "" && (len(problems) == 0 || !strings.Contains(problems[0].Message, tt.mention)) {
				t.Errorf("message %v does not mention %q", problems, tt.mention)
			}
		})
	}
}

func TestValidateReportsEveryBrokenRule(t *testing.T) {
	p := validTenant()
	next := p.Clone()
	next.Profiles[1].PasskeyTypes = []string{PasskeySynced}
	next.Profiles[1].KeyRestrictions.AAGUIDs = []string{"x"}
	next.IncludeTargets[1].AllowedPasskeyProfiles = nil
	got := problemReasons(Validate(p, next))
	want := []string{ReasonAttestationNeedsDeviceBoundOnly, ReasonInvalidAAGUID, ReasonTargetWithoutProfiles}
	assertEqual(t, "reasons", got, want)
}

func TestCheckTargetAllUsers(t *testing.T) {
	if problems := CheckTarget(includeTarget(AllUsers, pid(1)), true); len(problems) > 0 {
		t.Errorf("include all_users refused: %v", problems)
	}
	if got := problemReasons(CheckTarget(excludeTarget(AllUsers), false)); !slices.Equal(got, []string{ReasonInvalidTargetID}) {
		t.Errorf("exclude all_users: got %v", got)
	}
}

func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		pid(1):                                   true,
		"CB69481E-8FF7-4039-93EC-0A2729A154A8":   true,
		"cb69481e8ff7403993ec0a2729a154a8":       false,
		"{cb69481e-8ff7-4039-93ec-0a2729a154a8}": false,
		"cb69481e-8ff7-4039-93ec-0a2729a154a":    false,
		"gb69481e-8ff7-4039-93ec-0a2729a154a8":   false,
		"":                                       false,
	} {
		if got := IsGUID(s); got != want {
			t.Errorf("IsGUID(%q) = %v, want %v", s, got, want)
		}
	}
}
