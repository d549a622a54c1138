package entra

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// ToPolicy converts the fido2 configuration Graph returned into the pure
// policy model the reconciler diffs and merges. Nothing in the collections
// is lost: unknown properties go to Extra, known ones Graph left out or sent
// as null to Unset, enum values and passkeyTypes members are kept as sent,
// and a collection Graph left out stays nil while an empty one is empty.
//
// The document's id and defaultPasskeyProfile's null-ness, and the
// deprecated tenant-wide isAttestationEnforced and keyRestrictions, are not
// carried: PatchFromPolicy never sends them (see there).
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
	p.Profiles = convertEach(c.PasskeyProfiles, func(profile *PasskeyProfile) policy.Profile {
		return policy.Profile{
			ID:                     profile.ID,
			Name:                   profile.Name,
			PasskeyTypes:           profile.PasskeyTypes.Members(),
			AttestationEnforcement: string(profile.AttestationEnforcement),
			KeyRestrictions:        toPolicyKeyRestrictions(profile.KeyRestrictions),
			Extra:                  policy.CloneExtra(profile.Extra),
			Unset:                  maps.Clone(profile.Unset),
		}
	})
	p.IncludeTargets = convertEach(c.IncludeTargets, func(t *IncludeTarget) policy.Target {
		return policy.Target{
			ID:                     t.ID,
			TargetType:             string(t.TargetType),
			IsRegistrationRequired: t.IsRegistrationRequired,
			AllowedPasskeyProfiles: slices.Clone(t.AllowedPasskeyProfiles),
			Extra:                  policy.CloneExtra(t.Extra),
			Unset:                  maps.Clone(t.Unset),
		}
	})
	p.ExcludeTargets = convertEach(c.ExcludeTargets, func(t *ExcludeTarget) policy.Target {
		return policy.Target{
			ID:         t.ID,
			TargetType: string(t.TargetType),
			Extra:      policy.CloneExtra(t.Extra),
			Unset:      maps.Clone(t.Unset),
		}
	})
	p.Extra = policy.CloneExtra(c.Extra)
	return p
}

// PatchFromPolicy builds the PATCH body that makes Entra hold p.
//
// A PATCH replaces each collection it carries whole, so every collection p
// holds is sent with every item as read: its unknown properties (Extra)
// included, its known ones Graph left out or sent as null (Unset) sent that
// way again while nobody has set them. A collection p does not hold (nil:
// Graph did not send it) is left out, so Entra keeps it; an empty one is
// sent as [].
//
// Of the document's own properties, the unknown ones (p.Extra) are sent
// back untouched, and the method-wide settings only when known (an unset
// one is left as Entra has it). Never sent, as a PATCH that leaves a
// property out leaves it unchanged: the id (the URL names the document),
// defaultPasskeyProfile (Entra never changes it), and the deprecated
// tenant-wide isAttestationEnforced and keyRestrictions, which Entra keeps
// in sync with the default profile — sent as read, they would carry the
// default profile's old settings next to its new ones.
func PatchFromPolicy(p policy.Policy) (*Fido2Configuration, error) {
	c := &Fido2Configuration{}
	if p.State != "" {
		state := MethodState(p.State)
		c.State = &state
	}
	if p.SelfServiceRegistration != nil {
		v := *p.SelfServiceRegistration
		c.IsSelfServiceRegistrationAllowed = &v
	}
	c.PasskeyProfiles = convertEach(p.Profiles, func(profile policy.Profile) *PasskeyProfile {
		return &PasskeyProfile{
			ID:                     profile.ID,
			Name:                   profile.Name,
			PasskeyTypes:           PasskeyTypes(joinMembers(profile.PasskeyTypes)),
			AttestationEnforcement: AttestationEnforcement(profile.AttestationEnforcement),
			KeyRestrictions:        fromPolicyKeyRestrictions(profile.KeyRestrictions),
			Extra:                  policy.CloneExtra(profile.Extra),
			Unset:                  maps.Clone(profile.Unset),
		}
	})
	c.IncludeTargets = convertEach(p.IncludeTargets, func(t policy.Target) *IncludeTarget {
		return &IncludeTarget{
			ID:                     t.ID,
			TargetType:             TargetType(t.TargetType),
			IsRegistrationRequired: t.IsRegistrationRequired,
			AllowedPasskeyProfiles: slices.Clone(t.AllowedPasskeyProfiles),
			Extra:                  policy.CloneExtra(t.Extra),
			Unset:                  maps.Clone(t.Unset),
		}
	})
	c.ExcludeTargets = convertEach(p.ExcludeTargets, func(t policy.Target) *ExcludeTarget {
		return &ExcludeTarget{
			ID:         t.ID,
			TargetType: TargetType(t.TargetType),
			Extra:      policy.CloneExtra(t.Extra),
			Unset:      maps.Clone(t.Unset),
		}
	})
	c.Extra = policy.CloneExtra(p.Extra)
	if err := checkExtras(c); err != nil {
		return nil, err
	}
	return c, nil
}

func toPolicyKeyRestrictions(k KeyRestrictions) policy.KeyRestrictions {
	return policy.KeyRestrictions{
		IsEnforced:      k.IsEnforced,
		EnforcementType: string(k.EnforcementType),
		AAGUIDs:         slices.Clone(k.AAGUIDs),
		Extra:           policy.CloneExtra(k.Extra),
		Unset:           maps.Clone(k.Unset),
	}
}

func fromPolicyKeyRestrictions(k policy.KeyRestrictions) KeyRestrictions {
	return KeyRestrictions{
		IsEnforced:      k.IsEnforced,
		EnforcementType: EnforcementType(k.EnforcementType),
		AAGUIDs:         slices.Clone(k.AAGUIDs),
		Extra:           policy.CloneExtra(k.Extra),
		Unset:           maps.Clone(k.Unset),
	}
}

// joinMembers is the wire form of passkeyTypes members, in their order:
// the inverse of PasskeyTypes.Members, so members read from Graph go back
// exactly as they came.
func joinMembers(members []string) string {
	types := make([]PasskeyTypes, len(members))
	for i, m := range members {
		types[i] = PasskeyTypes(m)
	}
	return string(JoinPasskeyTypes(types...))
}

// checkExtras makes sure every unknown property in the body can be written:
// it has a name and its value is JSON. Only a caller that filled Extra by
// hand can break this; what ToPolicy reads always passes.
func checkExtras(c *Fido2Configuration) error {
	check := func(where string, extra map[string]any) error {
		for name, v := range extra {
			if name == "" {
				return fmt.Errorf("%s: a property without a name cannot be sent", where)
			}
			if _, err := json.Marshal(v); err != nil {
				return fmt.Errorf("%s: property %q: %w", where, name, err)
			}
		}
		return nil
	}
	errs := []error{check("fido2 configuration", c.Extra)}
	for _, p := range c.PasskeyProfiles {
		errs = append(errs, check(fmt.Sprintf("passkey profile %q", p.Name), p.Extra),
			check(fmt.Sprintf("passkey profile %q keyRestrictions", p.Name), p.KeyRestrictions.Extra))
	}
	for _, t := range c.IncludeTargets {
		errs = append(errs, check("include target "+t.ID, t.Extra))
	}
	for _, t := range c.ExcludeTargets {
		errs = append(errs, check("exclude target "+t.ID, t.Extra))
	}
	return firstErr(errs...)
}

// convertEach converts a collection item by item, keeping nil as nil (a
// collection Graph did not send) and empty as empty (one it sent as []).
func convertEach[T, U any](in []T, convert func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = convert(v)
	}
	return out
}
