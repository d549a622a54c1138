package emulator

import (
	"slices"
)

// Values of the fido2 document's enumerations, as Graph spells them.
const (
	StateEnabled  = "enabled"
	StateDisabled = "disabled"

	PasskeyTypeDeviceBound = "deviceBound"
	PasskeyTypeSynced      = "synced"

	AttestationDisabled         = "disabled"
	AttestationRegistrationOnly = "registrationOnly"

	EnforcementAllow = "allow"
	EnforcementBlock = "block"

	TargetTypeGroup = "group"
	TargetTypeUser  = "user"

	// AllUsers is the include-target id that stands for every user.
	AllUsers = "all_users"

	// DefaultPasskeyProfileID and DefaultPasskeyProfileName are those of the
	// default profile in the Graph documentation's sample.
	DefaultPasskeyProfileID   = "00000000-0000-0000-0000-000000000001"
	DefaultPasskeyProfileName = "Default passkey profile"

	fido2ODataType = "#microsoft.graph.fido2AuthenticationMethodConfiguration"
	fido2ID        = "Fido2"
)

// Fido2Document is the typed view of one tenant's passkey (FIDO2)
// authentication-method policy, with Graph's property names. The emulator
// stores the document as JSON (so that what this view does not model is
// kept); Fido2 returns this view, PortalEdit edits it. Collections are never
// nil in a view; a null or absent value is the zero value (a tenant never
// migrated has DefaultPasskeyProfile "" and no PasskeyProfiles).
type Fido2Document struct {
	State                            string           `json:"state"`
	IsSelfServiceRegistrationAllowed bool             `json:"isSelfServiceRegistrationAllowed"`
	IsAttestationEnforced            bool             `json:"isAttestationEnforced"`
	KeyRestrictions                  KeyRestrictions  `json:"keyRestrictions"`
	DefaultPasskeyProfile            string           `json:"defaultPasskeyProfile"`
	PasskeyProfiles                  []PasskeyProfile `json:"passkeyProfiles"`
	IncludeTargets                   []IncludeTarget  `json:"includeTargets"`
	ExcludeTargets                   []ExcludeTarget  `json:"excludeTargets"`
}

// PasskeyProfile is a passkeyProfile. PasskeyTypes is the flags enum in its
// wire form, e.g. "deviceBound,synced".
type PasskeyProfile struct {
	ID                     string          `json:"id"`
	Name                   string          `json:"name"`
	PasskeyTypes           string          `json:"passkeyTypes"`
	AttestationEnforcement string          `json:"attestationEnforcement"`
	KeyRestrictions        KeyRestrictions `json:"keyRestrictions"`
}

// KeyRestrictions is a fido2KeyRestrictions.
type KeyRestrictions struct {
	IsEnforced      bool     `json:"isEnforced"`
	EnforcementType string   `json:"enforcementType"`
	AAGUIDs         []string `json:"aaGuids"`
}

// IncludeTarget is a passkeyAuthenticationMethodTarget.
type IncludeTarget struct {
	ID                     string   `json:"id"`
	TargetType             string   `json:"targetType"`
	IsRegistrationRequired bool     `json:"isRegistrationRequired"`
	AllowedPasskeyProfiles []string `json:"allowedPasskeyProfiles"`
}

// ExcludeTarget is an excludeTarget.
type ExcludeTarget struct {
	ID         string `json:"id"`
	TargetType string `json:"targetType"`
}

// DefaultFido2Document is the policy of a tenant freshly migrated to passkey
// profiles, taken from the Graph documentation's sample: one default profile
// allowing both passkey types, targeted at all users. DELETE reverts to it.
// The deprecated tenant-wide isAttestationEnforced and keyRestrictions equal
// the default profile's, as Entra keeps them.
func DefaultFido2Document() Fido2Document {
	return Fido2Document{
		State:                            StateDisabled,
		IsSelfServiceRegistrationAllowed: true,
		IsAttestationEnforced:            false,
		KeyRestrictions:                  KeyRestrictions{EnforcementType: EnforcementAllow, AAGUIDs: []string{}},
		DefaultPasskeyProfile:            DefaultPasskeyProfileID,
		PasskeyProfiles: []PasskeyProfile{{
			ID:                     DefaultPasskeyProfileID,
			Name:                   DefaultPasskeyProfileName,
			PasskeyTypes:           PasskeyTypeDeviceBound + "," + PasskeyTypeSynced,
			AttestationEnforcement: AttestationDisabled,
			KeyRestrictions:        KeyRestrictions{EnforcementType: EnforcementAllow, AAGUIDs: []string{}},
		}},
		IncludeTargets: []IncludeTarget{{
			ID:                     AllUsers,
			TargetType:             TargetTypeGroup,
			AllowedPasskeyProfiles: []string{DefaultPasskeyProfileID},
		}},
		ExcludeTargets: []ExcludeTarget{},
	}
}

// Clone returns a deep copy, so a stored document never shares slices with
// a caller.
func (d Fido2Document) Clone() Fido2Document {
	c := d
	c.KeyRestrictions = d.KeyRestrictions.clone()
	c.PasskeyProfiles = make([]PasskeyProfile, len(d.PasskeyProfiles))
	for i, p := range d.PasskeyProfiles {
		p.KeyRestrictions = p.KeyRestrictions.clone()
		c.PasskeyProfiles[i] = p
	}
	c.IncludeTargets = make([]IncludeTarget, len(d.IncludeTargets))
	for i, t := range d.IncludeTargets {
		t.AllowedPasskeyProfiles = cloneStrings(t.AllowedPasskeyProfiles)
		c.IncludeTargets[i] = t
	}
	c.ExcludeTargets = slices.Clone(d.ExcludeTargets)
	if c.ExcludeTargets == nil {
		c.ExcludeTargets = []ExcludeTarget{}
	}
	return c
}

func (k KeyRestrictions) clone() KeyRestrictions {
	k.AAGUIDs = cloneStrings(k.AAGUIDs)
	return k
}

// cloneStrings copies s and turns nil into an empty slice, because Graph
// writes empty collections as [] and never as null.
func cloneStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// renderFido2 is the stored document as Graph serves it: @odata.context
// (when context is set), @odata.type, the id, then the stored members with
// includeTargets@odata.context before includeTargets, as real responses
// have; the items of the collections carry no @odata.type.
func renderFido2(doc jsonObject, origin, context string) jsonObject {
	var out jsonObject
	if context != "" {
		out.setValue("@odata.context", context)
	}
	out.setValue("@odata.type", fido2ODataType)
	out.setValue("id", fido2ID)
	for _, m := range doc.members {
		if m.name == "includeTargets" {
			out.setValue("includeTargets@odata.context", origin+"/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations('"+
				fido2ID+"')/microsoft.graph."+typeFido2+"/includeTargets")
		}
		out.set(m.name, m.value)
	}
	return out
}
