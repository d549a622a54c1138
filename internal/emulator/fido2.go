package emulator

import (
	"encoding/json"
	"slices"
	"strings"
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

// Fido2Document is one tenant's passkey (FIDO2) authentication-method policy
// as the emulator stores it, with Graph's property names. Collections are
// never nil in a stored document.
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
func DefaultFido2Document() Fido2Document {
	return Fido2Document{
		State:                            StateDisabled,
		IsSelfServiceRegistrationAllowed: true,
		IsAttestationEnforced:            false,
		KeyRestrictions:                  KeyRestrictions{EnforcementType: EnforcementBlock, AAGUIDs: []string{}},
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

// fido2Resource is the document as Graph serves it.
type fido2Resource struct {
	Context string `json:"@odata.context,omitempty"`
	Type    string `json:"@odata.type"`
	ID      string `json:"id"`
	Fido2Document
}

func (d Fido2Document) resource(context string) fido2Resource {
	return fido2Resource{Context: context, Type: fido2ODataType, ID: fido2ID, Fido2Document: d.Clone()}
}

// size is the length of the document's JSON, the measure of Entra's policy
// size limit.
func (d Fido2Document) size() int {
	data, err := json.Marshal(d.resource(""))
	if err != nil {
		panic("emulator: marshal fido2 document: " + err.Error()) // plain data, cannot fail
	}
	return len(data)
}

// fido2Patch is a decoded PATCH body: nil means the property was absent.
type fido2Patch struct {
	State                            *string
	IsSelfServiceRegistrationAllowed *bool
	IsAttestationEnforced            *bool
	KeyRestrictions                  *KeyRestrictions
	DefaultPasskeyProfile            *string
	PasskeyProfiles                  *[]PasskeyProfile
	IncludeTargets                   *[]IncludeTarget
	ExcludeTargets                   *[]ExcludeTarget
}

// apply merges p into d: properties p carries replace d's, properties it
// lacks keep their value, and a collection it carries replaces d's whole.
func (p fido2Patch) apply(d Fido2Document) Fido2Document {
	next := d.Clone()
	setIf(&next.State, p.State)
	setIf(&next.IsSelfServiceRegistrationAllowed, p.IsSelfServiceRegistrationAllowed)
	setIf(&next.IsAttestationEnforced, p.IsAttestationEnforced)
	setIf(&next.KeyRestrictions, p.KeyRestrictions)
	setIf(&next.DefaultPasskeyProfile, p.DefaultPasskeyProfile)
	setIf(&next.PasskeyProfiles, p.PasskeyProfiles)
	setIf(&next.IncludeTargets, p.IncludeTargets)
	setIf(&next.ExcludeTargets, p.ExcludeTargets)
	return next.Clone()
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// decodeFido2Patch reads a PATCH body the way Graph's OData layer does:
// unknown properties, wrong JSON types, nulls and unknown enum members are
// refused; instance annotations other than @odata.type are ignored. Graph
// requires the @odata.type annotation on this update; the admin API's portal
// edits do not (requireType false).
func decodeFido2Patch(body []byte, requireType bool) (fido2Patch, *graphError) {
	if !json.Valid(body) {
		return fido2Patch{}, odataError("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	var annotation struct {
		Type *string `json:"@odata.type"`
	}
	if requireType && (json.Unmarshal(body, &annotation) != nil || annotation.Type == nil) {
		return fido2Patch{}, odataError("The request body must include '@odata.type' with the value '%s'.", fido2ODataType)
	}
	var p fido2Patch
	err := decodeObject(body, "fido2AuthenticationMethodConfiguration", fields{
		"id":                               checkID,
		"state":                            optional(&p.State, enumValue("state", StateEnabled, StateDisabled)),
		"isSelfServiceRegistrationAllowed": optional(&p.IsSelfServiceRegistrationAllowed, boolValue("isSelfServiceRegistrationAllowed")),
		"isAttestationEnforced":            optional(&p.IsAttestationEnforced, boolValue("isAttestationEnforced")),
		"keyRestrictions":                  optional(&p.KeyRestrictions, decodeKeyRestrictions),
		"defaultPasskeyProfile":            optional(&p.DefaultPasskeyProfile, stringValue("defaultPasskeyProfile")),
		"passkeyProfiles":                  optional(&p.PasskeyProfiles, listOf("passkeyProfiles", "microsoft.graph.passkeyProfile", decodePasskeyProfile)),
		"includeTargets":                   optional(&p.IncludeTargets, listOf("includeTargets", "microsoft.graph.passkeyAuthenticationMethodTarget", decodeIncludeTarget)),
		"excludeTargets":                   optional(&p.ExcludeTargets, listOf("excludeTargets", "microsoft.graph.excludeTarget", decodeExcludeTarget)),
	}, "fido2AuthenticationMethodConfiguration")
	return p, err
}

// checkID accepts the entity id in a PATCH body only if it names this
// entity: an update cannot rename it.
func checkID(raw json.RawMessage) *graphError {
	id, err := stringValue("id")(raw)
	if err != nil {
		return err
	}
	if !strings.EqualFold(id, fido2ID) {
		return odataError("The key property 'id' cannot be changed: the request body has '%s' but the entity is '%s'.", id, fido2ID)
	}
	return nil
}

func decodePasskeyProfile(raw json.RawMessage) (PasskeyProfile, *graphError) {
	var p PasskeyProfile
	props := fields{
		"id":                     into(&p.ID, stringValue("id")),
		"name":                   into(&p.Name, stringValue("name")),
		"passkeyTypes":           into(&p.PasskeyTypes, passkeyTypesValue),
		"attestationEnforcement": into(&p.AttestationEnforcement, enumValue("attestationEnforcement", AttestationDisabled, AttestationRegistrationOnly)),
		"keyRestrictions":        into(&p.KeyRestrictions, decodeKeyRestrictions),
	}
	// Every property of a passkey profile is required (passkeyProfile
	// resource page), so the decoder tracks which ones the body carried.
	seen := map[string]bool{}
	for name, decode := range props {
		props[name] = func(raw json.RawMessage) *graphError {
			seen[name] = true
			return decode(raw)
		}
	}
	if err := decodeObject(raw, "passkeyProfile", props, "passkeyProfile"); err != nil {
		return p, err
	}
	for _, name := range []string{"id", "name", "passkeyTypes", "attestationEnforcement", "keyRestrictions"} {
		if !seen[name] {
			return p, ruleError("A passkey profile is missing the required property '%s'.", name)
		}
	}
	return p, nil
}

func decodeKeyRestrictions(raw json.RawMessage) (KeyRestrictions, *graphError) {
	k := KeyRestrictions{EnforcementType: EnforcementBlock, AAGUIDs: []string{}}
	err := decodeObject(raw, "fido2KeyRestrictions", fields{
		"isEnforced":      into(&k.IsEnforced, boolValue("isEnforced")),
		"enforcementType": into(&k.EnforcementType, enumValue("enforcementType", EnforcementAllow, EnforcementBlock)),
		"aaGuids":         into(&k.AAGUIDs, stringList("aaGuids")),
	}, "fido2KeyRestrictions")
	return k, err
}

func decodeIncludeTarget(raw json.RawMessage) (IncludeTarget, *graphError) {
	t := IncludeTarget{TargetType: TargetTypeGroup, AllowedPasskeyProfiles: []string{}}
	err := decodeObject(raw, "passkeyAuthenticationMethodTarget", fields{
		"id":                     into(&t.ID, stringValue("id")),
		"targetType":             into(&t.TargetType, enumValue("targetType", TargetTypeGroup, TargetTypeUser)),
		"isRegistrationRequired": into(&t.IsRegistrationRequired, boolValue("isRegistrationRequired")),
		"allowedPasskeyProfiles": into(&t.AllowedPasskeyProfiles, stringList("allowedPasskeyProfiles")),
	}, "passkeyAuthenticationMethodTarget", "authenticationMethodTarget")
	return t, err
}

func decodeExcludeTarget(raw json.RawMessage) (ExcludeTarget, *graphError) {
	t := ExcludeTarget{TargetType: TargetTypeGroup}
	err := decodeObject(raw, "excludeTarget", fields{
		"id":         into(&t.ID, stringValue("id")),
		"targetType": into(&t.TargetType, enumValue("targetType", TargetTypeGroup, TargetTypeUser)),
	}, "excludeTarget")
	return t, err
}

// passkeyTypesValue reads the passkeyTypes flags enum (a comma-separated list
// of members) and returns it in canonical order, so "synced,deviceBound" and
// "deviceBound,synced" are stored alike.
func passkeyTypesValue(raw json.RawMessage) (string, *graphError) {
	s, err := stringValue("passkeyTypes")(raw)
	if err != nil {
		return "", err
	}
	return canonicalPasskeyTypes(s)
}

func canonicalPasskeyTypes(s string) (string, *graphError) {
	var deviceBound, synced bool
	for _, member := range strings.Split(s, ",") {
		switch strings.TrimSpace(member) {
		case PasskeyTypeDeviceBound:
			deviceBound = true
		case PasskeyTypeSynced:
			synced = true
		case "":
			// "" alone is an empty flags value; the rules refuse it with a
			// clearer message than the enum parser would.
		default:
			return "", odataError("Requested value '%s' was not found.", strings.TrimSpace(member))
		}
	}
	var members []string
	if deviceBound {
		members = append(members, PasskeyTypeDeviceBound)
	}
	if synced {
		members = append(members, PasskeyTypeSynced)
	}
	return strings.Join(members, ","), nil
}
