package policy

import (
	"strings"
	"testing"
)

// Fixtures for Explain: one user, the groups they may be in, and profiles
// that differ in what matters to a user.

const securityKeysID = "dddddddd-0000-0000-0000-000000000003"

const explainUser = "bbbbbbbb-0000-0000-0000-000000000001"

var (
	engineers   = Group{ID: gid(1), Name: "Engineers"}
	admins      = Group{ID: gid(2), Name: "Admins"}
	contractors = Group{ID: gid(3), Name: "Contractors"}
	// nestedGroup is reached only through another group: the caller's
	// transitive list holds it, the user's direct groups do not.
	nestedGroup = Group{ID: "cccccccc-0000-0000-0000-000000000004", Name: "All staff"}
)

// explainDefault is the default profile: both types, no attestation, any
// authenticator.
func explainDefault() Profile {
	return entraProfile(pid(1), "Default passkey profile", PasskeyDeviceBound, PasskeySynced)
}

// hardwareKeys enforces attestation and allows one authenticator.
func hardwareKeys() Profile {
	p := entraProfile(pid(2), "Hardware keys", PasskeyDeviceBound)
	p.AttestationEnforcement = AttestationRegistrationOnly
	p.KeyRestrictions = KeyRestrictions{IsEnforced: true, EnforcementType: EnforcementAllow, AAGUIDs: []string{aaguid(1)}}
	return p
}

// securityKeys enforces attestation and allows aaguid(2) and aaguid(1),
// spelled in upper case.
func securityKeys() Profile {
	p := entraProfile(securityKeysID, "Security keys", PasskeyDeviceBound)
	p.AttestationEnforcement = AttestationRegistrationOnly
	p.KeyRestrictions = KeyRestrictions{IsEnforced: true, EnforcementType: EnforcementAllow, AAGUIDs: []string{aaguid(2), strings.ToUpper(aaguid(1))}}
	return p
}

// syncedOnly allows synced passkeys from any authenticator; its list is
// not enforced, so it restricts nothing.
func syncedOnly() Profile {
	p := entraProfile(pid(4), "Synced", PasskeySynced)
	p.KeyRestrictions = KeyRestrictions{EnforcementType: EnforcementAllow, AAGUIDs: []string{aaguid(9)}}
	return p
}

func blockList(id, name string, aaguids ...string) Profile {
	p := entraProfile(id, name, PasskeyDeviceBound)
	p.KeyRestrictions = KeyRestrictions{IsEnforced: true, EnforcementType: EnforcementBlock, AAGUIDs: aaguids}
	return p
}

func explainTenant(profiles []Profile, include []Target, exclude ...Target) Policy {
	return Policy{
		State:                   StateEnabled,
		SelfServiceRegistration: ptr(true),
		DefaultProfileID:        pid(1),
		Profiles:                profiles,
		IncludeTargets:          include,
		ExcludeTargets:          exclude,
	}
}

func userTarget(id string, profiles ...string) Target {
	return Target{ID: id, TargetType: TargetTypeUser, AllowedPasskeyProfiles: profiles}
}

func registrationRequired(t Target) Target {
	t.IsRegistrationRequired = true
	return t
}

// explained is what a test checks of an Explanation: everything, with
// profiles and targets shown by their labels.
type explained struct {
	InScope                bool
	Reason                 string
	Included, Excluded     []string
	Profiles, Missing      []string
	PasskeyTypes           []string
	AttestationRequired    bool
	AttestationEnforcedBy  []string
	Authenticators         string
	ProfileAuthenticators  []string
	RegistrationRequiredBy []string
	Notes                  []string
}

func summarize(e Explanation) explained {
	return explained{
		InScope:                e.InScope,
		Reason:                 e.Reason,
		Included:               labels(e.Included),
		Excluded:               labels(e.Excluded),
		Profiles:               profileSummaries(e.Profiles),
		Missing:                profileSummaries(e.MissingProfiles),
		PasskeyTypes:           e.PasskeyTypes,
		AttestationRequired:    e.AttestationRequired,
		AttestationEnforcedBy:  e.AttestationEnforcedBy,
		Authenticators:         e.Authenticators.String(),
		ProfileAuthenticators:  profileRules(e.Profiles),
		RegistrationRequiredBy: e.RegistrationRequiredBy,
		Notes:                  e.Notes,
	}
}

func profileSummaries(profiles []ProfileInScope) []string {
	var out []string
	for _, p := range profiles {
		out = append(out, profileLabel(p.Profile)+" through "+JoinWords(p.Through))
	}
	return out
}

func profileRules(profiles []ProfileInScope) []string {
	var out []string
	for _, p := range profiles {
		out = append(out, profileLabel(p.Profile)+": "+p.Authenticators.String())
	}
	return out
}

const (
	anyAuthenticator = "any authenticator"
	noAuthenticator  = "no authenticator"
	selfServiceOff   = "self-service registration is off: the user cannot register a passkey in My Security Info themselves"
)

// includedWithDefault is what a user gets whom one target, labelled so,
// includes with the default profile.
func includedWithDefault(label string) explained {
	return explained{
		InScope:               true,
		Reason:                "included by " + label,
		Included:              []string{label},
		Profiles:              []string{"Default passkey profile through " + label},
		PasskeyTypes:          []string{PasskeyDeviceBound, PasskeySynced},
		Authenticators:        anyAuthenticator,
		ProfileAuthenticators: []string{"Default passkey profile: " + anyAuthenticator},
	}
}

// includedWithHardwareKeys is the same with the hardwareKeys profile.
func includedWithHardwareKeys(label string) explained {
	w := includedWithDefault(label)
	w.Profiles = []string{"Hardware keys through " + label}
	w.PasskeyTypes = []string{PasskeyDeviceBound}
	w.AttestationRequired = true
	w.AttestationEnforcedBy = []string{"Hardware keys"}
	w.Authenticators = "only authenticators " + aaguid(1)
	w.ProfileAuthenticators = []string{"Hardware keys: only authenticators " + aaguid(1)}
	return w
}

func TestExplain(t *testing.T) {
	allOf := func(profiles ...Profile) []Profile { return profiles }
	tests := []struct {
		name   string
		policy Policy
		groups []Group
		want   explained
	}{{
		name: "overlapping profiles: types are united, attestation is not required when one profile does not enforce it",
		policy: explainTenant(allOf(explainDefault(), syncedOnly(), hardwareKeys()), []Target{
			includeTarget(engineers.ID, pid(2)),
			includeTarget(admins.ID, pid(4)),
		}),
		groups: []Group{engineers, admins},
		want: explained{
			InScope:               true,
			Reason:                "included by group Engineers and group Admins",
			Included:              []string{"group Engineers", "group Admins"},
			Profiles:              []string{"Synced through group Admins", "Hardware keys through group Engineers"},
			PasskeyTypes:          []string{PasskeyDeviceBound, PasskeySynced},
			AttestationEnforcedBy: []string{"Hardware keys"},
			Authenticators:        anyAuthenticator,
			ProfileAuthenticators: []string{"Synced: " + anyAuthenticator, "Hardware keys: only authenticators " + aaguid(1)},
		},
	}, {
		name: "overlapping profiles that both enforce attestation and allow-lists: attestation required, lists united",
		policy: explainTenant(allOf(explainDefault(), hardwareKeys(), securityKeys()), []Target{
			includeTarget(admins.ID, strings.ToUpper(securityKeysID)),
			includeTarget(engineers.ID, pid(2)),
		}),
		groups: []Group{engineers, admins},
		want: explained{
			InScope:               true,
			Reason:                "included by group Admins and group Engineers",
			Included:              []string{"group Admins", "group Engineers"},
			Profiles:              []string{"Hardware keys through group Engineers", "Security keys through group Admins"},
			PasskeyTypes:          []string{PasskeyDeviceBound},
			AttestationRequired:   true,
			AttestationEnforcedBy: []string{"Hardware keys", "Security keys"},
			Authenticators:        "only authenticators " + aaguid(1) + " and " + aaguid(2),
			ProfileAuthenticators: []string{
				"Hardware keys: only authenticators " + aaguid(1),
				"Security keys: only authenticators " + aaguid(2) + " and " + strings.ToUpper(aaguid(1)),
			},
		},
	}, {
		name: "block-lists: only what every block-list names and no allow-list allows is blocked",
		policy: explainTenant(allOf(hardwareKeys(), blockList(pid(5), "Block 1, 3, 4", aaguid(1), aaguid(3), aaguid(4)), blockList(pid(6), "Block 3, 1", strings.ToUpper(aaguid(3)), aaguid(1))), []Target{
			includeTarget(engineers.ID, pid(2), pid(5), pid(6)),
		}),
		groups: []Group{engineers},
		want: explained{
			InScope:               true,
			Reason:                "included by group Engineers",
			Included:              []string{"group Engineers"},
			Profiles:              []string{"Hardware keys through group Engineers", "Block 1, 3, 4 through group Engineers", "Block 3, 1 through group Engineers"},
			PasskeyTypes:          []string{PasskeyDeviceBound},
			AttestationEnforcedBy: []string{"Hardware keys"},
			Authenticators:        "any authenticator except " + aaguid(3),
			ProfileAuthenticators: []string{
				"Hardware keys: only authenticators " + aaguid(1),
				"Block 1, 3, 4: any authenticator except " + aaguid(1) + ", " + aaguid(3) + " and " + aaguid(4),
				"Block 3, 1: any authenticator except " + strings.ToUpper(aaguid(3)) + " and " + aaguid(1),
			},
		},
	}, {
		name: "an exclusion beats an inclusion",
		policy: explainTenant(allOf(explainDefault()), []Target{includeTarget(AllUsers, pid(1))},
			excludeTarget(contractors.ID)),
		groups: []Group{contractors},
		want: explained{
			Reason:         "excluded by group Contractors",
			Included:       []string{"all users"},
			Excluded:       []string{"group Contractors"},
			Authenticators: noAuthenticator,
		},
	}, {
		name:   "all users includes a user in no group",
		policy: defaultTenant(),
		want:   includedWithDefault("all users"),
	}, {
		name: "a user target matches the user's id in any case, and no other user's",
		policy: explainTenant(allOf(explainDefault(), hardwareKeys()), []Target{
			userTarget("bbbbbbbb-0000-0000-0000-000000000002", pid(1)),
			userTarget(strings.ToUpper(explainUser), pid(2)),
		}),
		want: includedWithHardwareKeys("user " + strings.ToUpper(explainUser)),
	}, {
		name:   "a group reached only transitively counts, and group ids compare in any case",
		policy: explainTenant(allOf(explainDefault()), []Target{includeTarget(nestedGroup.ID, pid(1))}),
		groups: []Group{engineers, {ID: strings.ToUpper(nestedGroup.ID), Name: nestedGroup.Name}},
		want:   includedWithDefault("group All staff"),
	}, {
		name:   "a group whose name is not known is named by its id",
		policy: explainTenant(allOf(explainDefault()), []Target{includeTarget(gid(7), pid(1))}),
		groups: []Group{{ID: gid(7)}},
		want:   includedWithDefault("group " + gid(7)),
	}, {
		name: "the method disabled keeps everyone out",
		policy: func() Policy {
			p := defaultTenant()
			p.State = StateDisabled
			return p
		}(),
		want: explained{
			Reason:         "the passkey (FIDO2) method is disabled",
			Included:       []string{"all users"},
			Authenticators: noAuthenticator,
		},
	}, {
		name:   "no target names the user or their groups",
		policy: explainTenant(allOf(explainDefault()), []Target{includeTarget(engineers.ID, pid(1))}, excludeTarget(admins.ID)),
		groups: []Group{contractors},
		want: explained{
			Reason:         "no include target names the user or one of their groups",
			Authenticators: noAuthenticator,
		},
	}, {
		name:   "a target naming a profile the tenant does not hold",
		policy: explainTenant(allOf(explainDefault(), hardwareKeys()), []Target{includeTarget(engineers.ID, pid(9), pid(2), pid(2))}),
		groups: []Group{engineers},
		want: func() explained {
			w := includedWithHardwareKeys("group Engineers")
			w.Missing = []string{pid(9) + " through group Engineers"}
			w.Notes = []string{"group Engineers names passkey profile " + pid(9) + ", which the tenant does not hold"}
			return w
		}(),
	}, {
		name: "registration required by one of two targets",
		policy: explainTenant(allOf(explainDefault()), []Target{
			includeTarget(engineers.ID, pid(1)),
			registrationRequired(includeTarget(admins.ID, pid(1))),
		}),
		groups: []Group{engineers, admins},
		want: explained{
			InScope:                true,
			Reason:                 "included by group Engineers and group Admins",
			Included:               []string{"group Engineers", "group Admins"},
			Profiles:               []string{"Default passkey profile through group Engineers and group Admins"},
			PasskeyTypes:           []string{PasskeyDeviceBound, PasskeySynced},
			Authenticators:         anyAuthenticator,
			ProfileAuthenticators:  []string{"Default passkey profile: " + anyAuthenticator},
			RegistrationRequiredBy: []string{"group Admins"},
		},
	}, {
		name: "self-service registration off is a note and leaves the scope alone",
		policy: func() Policy {
			p := defaultTenant()
			p.SelfServiceRegistration = ptr(false)
			return p
		}(),
		want: func() explained {
			w := includedWithDefault("all users")
			w.Notes = []string{selfServiceOff}
			return w
		}(),
	}, {
		name: "a tenant never moved to passkey profiles",
		policy: Policy{
			State:          StateEnabled,
			IncludeTargets: []Target{{ID: AllUsers, TargetType: TargetTypeGroup}},
		},
		want: explained{
			InScope:        true,
			Reason:         "included by all users",
			Included:       []string{"all users"},
			Authenticators: noAuthenticator,
			Notes:          []string{"the targets that include the user name no passkey profiles; the tenant has not been moved to passkey profiles yet"},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertEqual(t, "explanation", summarize(Explain(tc.policy, explainUser, tc.groups)), tc.want)
		})
	}
}

func TestExplanationChanges(t *testing.T) {
	oneGroup := explainTenant([]Profile{explainDefault(), hardwareKeys(), syncedOnly()}, []Target{includeTarget(engineers.ID, pid(2))})
	twoGroups := explainTenant([]Profile{explainDefault(), hardwareKeys(), syncedOnly()}, []Target{
		includeTarget(engineers.ID, pid(2)),
		includeTarget(admins.ID, pid(4)),
	})
	excluded := defaultTenant()
	excluded.ExcludeTargets = []Target{excludeTarget(contractors.ID)}
	disabledAndExcluded := excluded.Clone()
	disabledAndExcluded.State = StateDisabled
	required := oneGroup.Clone()
	required.IncludeTargets[0].IsRegistrationRequired = true
	selfServiceOffTenant := defaultTenant()
	selfServiceOffTenant.SelfServiceRegistration = ptr(false)

	tests := []struct {
		name       string
		prev, next Policy
		want       []string
	}{{
		name: "nothing changes",
		prev: twoGroups, next: twoGroups.Clone(),
	}, {
		name: "a second group brings in a synced profile without attestation or key restrictions",
		prev: oneGroup, next: twoGroups,
		want: []string{
			"still in scope: included by group Engineers and group Admins",
			"profile Synced now applies, through group Admins",
			"may now register synced passkeys",
			"attestation no longer required",
			"may now register any authenticator",
		},
	}, {
		name: "the group leaves again",
		prev: twoGroups, next: oneGroup,
		want: []string{
			"still in scope: included by group Engineers",
			"profile Synced no longer applies",
			"may no longer register synced passkeys",
			"attestation now required",
			"may now register only authenticators " + aaguid(1),
		},
	}, {
		name: "an exclusion takes the user out",
		prev: defaultTenant(), next: excluded,
		want: []string{"now out of scope: excluded by group Contractors"},
	}, {
		name: "the exclusion goes",
		prev: excluded, next: defaultTenant(),
		want: []string{"now in scope: included by all users"},
	}, {
		name: "out of scope for another reason",
		prev: excluded, next: disabledAndExcluded,
		want: []string{"still out of scope: the passkey (FIDO2) method is disabled"},
	}, {
		name: "registration becomes required",
		prev: oneGroup, next: required,
		want: []string{"registration now required by group Engineers"},
	}, {
		name: "registration is no longer required",
		prev: required, next: oneGroup,
		want: []string{"registration no longer required"},
	}, {
		name: "self-service registration turned off",
		prev: defaultTenant(), next: selfServiceOffTenant,
		want: []string{"new note: " + selfServiceOff},
	}, {
		name: "self-service registration turned on",
		prev: selfServiceOffTenant, next: defaultTenant(),
		want: []string{"note gone: " + selfServiceOff},
	}}
	groups := []Group{engineers, admins, contractors}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prev := Explain(tc.prev, explainUser, groups)
			next := Explain(tc.next, explainUser, groups)
			assertEqual(t, "changes", prev.Changes(next), tc.want)
		})
	}
}
