package entra

import (
	"fmt"
	"slices"
	"strings"

	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// ToPolicy converts the fido2 configuration Graph returned into the pure
// policy model the reconciler diffs and merges.
func ToPolicy(c *Fido2Configuration) policy.Policy {
	var p policy.Policy
	if c == nil {
		return p
	}
	if c.State != nil {
		p.State = string(*c.State)
	}
	if c.IsSelfServiceRegistrationAllowed != nil {
		v := *c.IsSelfServiceRegistrationAllowed
		p.SelfServiceRegistration = &v
	}
	if c.DefaultPasskeyProfile != nil {
		p.DefaultProfileID = *c.DefaultPasskeyProfile
	}
	for _, profile := range c.PasskeyProfiles {
		p.Profiles = append(p.Profiles, policy.Profile{
			ID:                     profile.ID,
			Name:                   profile.Name,
			PasskeyTypes:           passkeyTypeMembers(profile.PasskeyTypes),
			AttestationEnforcement: string(profile.AttestationEnforcement),
			KeyRestrictions:        toPolicyKeyRestrictions(profile.KeyRestrictions),
		})
	}
	for _, t := range c.IncludeTargets {
		p.IncludeTargets = append(p.IncludeTargets, policy.Target{
			ID:                     t.ID,
			TargetType:             string(t.TargetType),
			IsRegistrationRequired: t.IsRegistrationRequired,
			AllowedPasskeyProfiles: slices.Clone(t.AllowedPasskeyProfiles),
		})
	}
	for _, t := range c.ExcludeTargets {
		p.ExcludeTargets = append(p.ExcludeTargets, policy.Target{ID: t.ID, TargetType: string(t.TargetType)})
	}
	return p
}

// PatchFromPolicy builds the PATCH body that makes Entra hold p. Every
// collection is sent whole (Graph replaces what a PATCH carries), so p must
// be the complete merged document; method-wide settings are sent only when
// known, so an unmanaged setting is never overwritten.
func PatchFromPolicy(p policy.Policy) (*Fido2Configuration, error) {
	c := &Fido2Configuration{
		PasskeyProfiles: make([]*PasskeyProfile, 0, len(p.Profiles)),
		IncludeTargets:  make([]*IncludeTarget, 0, len(p.IncludeTargets)),
		ExcludeTargets:  make([]*ExcludeTarget, 0, len(p.ExcludeTargets)),
	}
	if p.State != "" {
		state := MethodState(p.State)
		c.State = &state
	}
	if p.SelfServiceRegistration != nil {
		v := *p.SelfServiceRegistration
		c.IsSelfServiceRegistrationAllowed = &v
	}
	for _, profile := range p.Profiles {
		types, err := ParsePasskeyTypes(strings.Join(profile.PasskeyTypes, ","))
		if err != nil {
			return nil, fmt.Errorf("passkey profile %q: %w", profile.Name, err)
		}
		c.PasskeyProfiles = append(c.PasskeyProfiles, &PasskeyProfile{
			ID:                     profile.ID,
			Name:                   profile.Name,
			PasskeyTypes:           types,
			AttestationEnforcement: AttestationEnforcement(profile.AttestationEnforcement),
			KeyRestrictions: KeyRestrictions{
				IsEnforced:      profile.KeyRestrictions.IsEnforced,
				EnforcementType: EnforcementType(profile.KeyRestrictions.EnforcementType),
				AAGUIDs:         nonNilStrings(profile.KeyRestrictions.AAGUIDs),
			},
		})
	}
	for _, t := range p.IncludeTargets {
		c.IncludeTargets = append(c.IncludeTargets, &IncludeTarget{
			ID:                     t.ID,
			TargetType:             TargetType(t.TargetType),
			IsRegistrationRequired: t.IsRegistrationRequired,
			AllowedPasskeyProfiles: nonNilStrings(t.AllowedPasskeyProfiles),
		})
	}
	for _, t := range p.ExcludeTargets {
		c.ExcludeTargets = append(c.ExcludeTargets, &ExcludeTarget{ID: t.ID, TargetType: TargetType(t.TargetType)})
	}
	return c, nil
}

func toPolicyKeyRestrictions(k KeyRestrictions) policy.KeyRestrictions {
	return policy.KeyRestrictions{
		IsEnforced:      k.IsEnforced,
		EnforcementType: string(k.EnforcementType),
		AAGUIDs:         slices.Clone(k.AAGUIDs),
	}
}

func passkeyTypeMembers(t PasskeyTypes) []string {
	if t == 0 {
		return nil
	}
	return strings.Split(t.String(), ",")
}

// nonNilStrings makes a missing list an empty one, so it is sent as [] and
// never omitted: Graph requires these lists.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
