// Package entra talks to Microsoft Graph for the operator: a typed model of
// the passkey (FIDO2) authentication-method policy and functions that read
// and update it through msgraph-sdk-go's request adapter, so authentication,
// retries and OData errors are the SDK's. It knows nothing of Kubernetes.
//
// The msgraph-sdk-go release the project uses predates passkey profiles, so
// the fido2 configuration is modelled here as kiota Parsables.
//
// Graph's answers are untrusted input, and Graph adds properties and enum
// members over time. A PATCH replaces each collection it carries whole, so
// the model never loses what it read: every object keeps the properties it
// does not know (Extra), and which known ones Graph left out or sent as null
// (Unset); enums are kept as the strings Graph sent, members it added since
// included. Parsing a document and serializing it gives back the same JSON,
// OData annotations aside (see fido2_roundtrip_test.go for the exact
// contract).
package entra

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/microsoft/kiota-abstractions-go/serialization"

	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// Fido2ODataType is the OData type of the fido2 configuration.
const Fido2ODataType = "#microsoft.graph.fido2AuthenticationMethodConfiguration"

// The enums below are strings, not closed sets: a value Graph added after
// this code was written (the evolvable enums end in unknownFutureValue) is
// read, kept and sent back as it came. Compare them, never switch on them
// exhaustively.

// MethodState is authenticationMethodState.
type MethodState string

const (
	MethodStateEnabled  MethodState = "enabled"
	MethodStateDisabled MethodState = "disabled"
)

// AttestationEnforcement is attestationEnforcement.
type AttestationEnforcement string

const (
	AttestationDisabled         AttestationEnforcement = "disabled"
	AttestationRegistrationOnly AttestationEnforcement = "registrationOnly"
)

// EnforcementType is fido2RestrictionEnforcementType: whether the AAGUID list
// allows or blocks.
type EnforcementType string

const (
	EnforcementAllow EnforcementType = "allow"
	EnforcementBlock EnforcementType = "block"
)

// TargetType is authenticationMethodTargetType.
type TargetType string

const (
	TargetTypeGroup TargetType = "group"
	TargetTypeUser  TargetType = "user"
)

// AllUsers is the target id that stands for every user.
const AllUsers = "all_users"

// PasskeyTypes is the passkeyTypes flags enum in its wire form: members
// joined by commas without spaces, e.g. "deviceBound,synced".
//
// A value read from Graph is kept exactly as Graph sent it: members in
// Graph's order (not sorted into a canonical one), members this code does
// not know included, so it goes back unchanged. Round-trip equality is
// therefore string equality; whether two values allow the same passkeys is
// a question for their Members compared as sets (internal/policy does so).
type PasskeyTypes string

// The members of passkeyTypes this code knows. unknownFutureValue is
// Graph's sentinel for members added after a client's view of the enum; the
// GET asks for the real names (Prefer: include-unknown-enum-members).
const (
	PasskeyTypeDeviceBound        PasskeyTypes = "deviceBound"
	PasskeyTypeSynced             PasskeyTypes = "synced"
	PasskeyTypeUnknownFutureValue PasskeyTypes = "unknownFutureValue"
)

// JoinPasskeyTypes returns the wire form of members, in their order.
func JoinPasskeyTypes(members ...PasskeyTypes) PasskeyTypes {
	return PasskeyTypes(strings.Join(passkeyTypeStrings(members), ","))
}

func passkeyTypeStrings(members []PasskeyTypes) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = string(m)
	}
	return out
}

// Members splits the wire form into its members, in order and unaltered;
// "" has none. JoinPasskeyTypes(t.Members()...) == t for every t.
func (t PasskeyTypes) Members() []string {
	if t == "" {
		return []string{}
	}
	return strings.Split(string(t), ",")
}

// Has says whether member is one of t's members.
func (t PasskeyTypes) Has(member PasskeyTypes) bool {
	return slices.Contains(t.Members(), string(member))
}

// String returns the wire form.
func (t PasskeyTypes) String() string { return string(t) }

// ParsePasskeyTypes reads a passkeyTypes value written by a person, e.g.
// "synced, deviceBound": spaces around members are dropped and the members
// kept in their order, unknown ones included (Graph's enum evolves). An
// empty member, or one that is not an identifier, is an error. Values read
// from Graph need no parsing: they are kept exactly as sent.
func ParsePasskeyTypes(s string) (PasskeyTypes, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	members := strings.Split(s, ",")
	out := make([]PasskeyTypes, len(members))
	for i, m := range members {
		m = strings.TrimSpace(m)
		if !isIdentifier(m) {
			return "", fmt.Errorf("passkeyTypes %q: member %q is not an enum member name", s, m)
		}
		out[i] = PasskeyTypes(m)
	}
	return JoinPasskeyTypes(out...), nil
}

// isIdentifier reports whether s is an OData simple identifier (ASCII
// letters, digits and '_', not starting with a digit), which every enum
// member name is.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// Fido2Configuration is fido2AuthenticationMethodConfiguration with passkey
// profiles. In a PATCH, a nil pointer or nil slice is omitted (Graph keeps
// the stored value) and a non-nil slice is sent whole, empty ones as [] —
// Graph replaces a collection a PATCH carries.
type Fido2Configuration struct {
	ID                               *string
	State                            *MethodState
	IsSelfServiceRegistrationAllowed *bool
	// IsAttestationEnforced and KeyRestrictions are the tenant-wide settings
	// from before passkey profiles; Graph marks them deprecated in favour of
	// the profiles' own and keeps them in sync with the default profile.
	IsAttestationEnforced *bool
	KeyRestrictions       *KeyRestrictions
	// DefaultPasskeyProfile is the id of the profile that cannot be deleted.
	DefaultPasskeyProfile *string
	PasskeyProfiles       []*PasskeyProfile
	IncludeTargets        []*IncludeTarget
	ExcludeTargets        []*ExcludeTarget
	// Extra holds the properties this model does not know, as decoded JSON
	// (map[string]any, []any, string, float64, bool, nil). OData
	// annotations are not properties: they are neither kept nor written.
	Extra map[string]any
	// Unset records the properties above that Graph sent as null
	// (policy.Null); they are written back as null. A nil field is
	// otherwise omitted, so policy.Omitted changes nothing at this level.
	Unset map[string]policy.Absence
}

// PasskeyProfile is passkeyProfile. Graph requires all its properties, so a
// profile built in code is always sent whole, but for the id of a new one
// (ID "": Entra assigns it); one read from Graph is sent back as read (see
// Unset).
type PasskeyProfile struct {
	ID                     string
	Name                   string
	PasskeyTypes           PasskeyTypes
	AttestationEnforcement AttestationEnforcement
	KeyRestrictions        KeyRestrictions
	// Extra holds the properties this model does not know (see
	// Fido2Configuration.Extra).
	Extra map[string]any
	// Unset names the properties above that Graph left out or sent as
	// null. While such a field holds its zero value it is written back the
	// same way (left out, or null); otherwise every property is written,
	// zero values included.
	Unset map[string]policy.Absence
}

// KeyRestrictions is fido2KeyRestrictions. AAGUIDs is always sent (nil as
// []) unless Unset says Graph had it otherwise, because Graph replaces the
// whole object.
type KeyRestrictions struct {
	IsEnforced      bool
	EnforcementType EnforcementType
	AAGUIDs         []string
	// Extra and Unset: see PasskeyProfile.
	Extra map[string]any
	Unset map[string]policy.Absence
}

// IncludeTarget is passkeyAuthenticationMethodTarget: a group (or
// AllUsers) and the profiles that apply to it.
type IncludeTarget struct {
	ID                     string
	TargetType             TargetType
	IsRegistrationRequired bool
	AllowedPasskeyProfiles []string
	// Extra and Unset: see PasskeyProfile.
	Extra map[string]any
	Unset map[string]policy.Absence
}

// ExcludeTarget is excludeTarget.
type ExcludeTarget struct {
	ID         string
	TargetType TargetType
	// Extra and Unset: see PasskeyProfile.
	Extra map[string]any
	Unset map[string]policy.Absence
}

// isZero reports whether k holds nothing at all, so that a keyRestrictions
// Graph sent as null (or left out) is written back that way.
func (k *KeyRestrictions) isZero() bool {
	return !k.IsEnforced && k.EnforcementType == "" && len(k.AAGUIDs) == 0 && len(k.Extra) == 0 && len(k.Unset) == 0
}

// Parsing. kiota's JSON parse node hands unknown properties only to an
// AdditionalDataHolder, and drops those whose value is null, mixes in the
// OData annotations and leaves numbers as pointers; its writer's
// WriteAdditionalData writes property names unescaped, in map order. So
// each factory below reads the object's unknown properties, and which known
// ones are null or missing, from the node itself (GetRawValue, part of
// kiota's ParseNode), and the Serialize methods write them back with
// writeExtra.

// CreateFido2ConfigurationFromDiscriminatorValue is the kiota factory for
// Fido2Configuration.
func CreateFido2ConfigurationFromDiscriminatorValue(n serialization.ParseNode) (serialization.Parsable, error) {
	c := &Fido2Configuration{}
	extra, unset, err := readUnmodelled(n, "fido2 configuration", c.GetFieldDeserializers())
	if err != nil {
		return nil, err
	}
	for name, absence := range unset {
		if absence != policy.Null {
			delete(unset, name)
		}
	}
	c.Extra, c.Unset = extra, nilIfEmpty(unset)
	return c, nil
}

func createPasskeyProfile(n serialization.ParseNode) (serialization.Parsable, error) {
	p := &PasskeyProfile{}
	var err error
	p.Extra, p.Unset, err = readUnmodelled(n, "passkey profile", p.GetFieldDeserializers())
	return p, err
}

func createKeyRestrictions(n serialization.ParseNode) (serialization.Parsable, error) {
	k := &KeyRestrictions{}
	var err error
	k.Extra, k.Unset, err = readUnmodelled(n, "keyRestrictions", k.GetFieldDeserializers())
	return k, err
}

func createIncludeTarget(n serialization.ParseNode) (serialization.Parsable, error) {
	t := &IncludeTarget{}
	var err error
	t.Extra, t.Unset, err = readUnmodelled(n, "include target", t.GetFieldDeserializers())
	return t, err
}

func createExcludeTarget(n serialization.ParseNode) (serialization.Parsable, error) {
	t := &ExcludeTarget{}
	var err error
	t.Extra, t.Unset, err = readUnmodelled(n, "exclude target", t.GetFieldDeserializers())
	return t, err
}

// Serialize writes the configuration for a PATCH.
func (c *Fido2Configuration) Serialize(w serialization.SerializationWriter) error {
	odataType := Fido2ODataType
	known := c.GetFieldDeserializers()
	return firstErr(
		w.WriteStringValue("@odata.type", &odataType),
		writeOptional(w, "id", c.ID == nil, c.Unset, func() error { return w.WriteStringValue("id", c.ID) }),
		writeOptional(w, "state", c.State == nil, c.Unset, func() error { return w.WriteStringValue("state", (*string)(c.State)) }),
		writeOptional(w, "isSelfServiceRegistrationAllowed", c.IsSelfServiceRegistrationAllowed == nil, c.Unset, func() error {
			return w.WriteBoolValue("isSelfServiceRegistrationAllowed", c.IsSelfServiceRegistrationAllowed)
		}),
		writeOptional(w, "isAttestationEnforced", c.IsAttestationEnforced == nil, c.Unset, func() error {
			return w.WriteBoolValue("isAttestationEnforced", c.IsAttestationEnforced)
		}),
		writeOptional(w, "keyRestrictions", c.KeyRestrictions == nil, c.Unset, func() error {
			return w.WriteObjectValue("keyRestrictions", c.KeyRestrictions)
		}),
		writeOptional(w, "defaultPasskeyProfile", c.DefaultPasskeyProfile == nil, c.Unset, func() error {
			return w.WriteStringValue("defaultPasskeyProfile", c.DefaultPasskeyProfile)
		}),
		writeOptional(w, "passkeyProfiles", c.PasskeyProfiles == nil, c.Unset, func() error {
			return w.WriteCollectionOfObjectValues("passkeyProfiles", parsables(c.PasskeyProfiles))
		}),
		writeOptional(w, "includeTargets", c.IncludeTargets == nil, c.Unset, func() error {
			return w.WriteCollectionOfObjectValues("includeTargets", parsables(c.IncludeTargets))
		}),
		writeOptional(w, "excludeTargets", c.ExcludeTargets == nil, c.Unset, func() error {
			return w.WriteCollectionOfObjectValues("excludeTargets", parsables(c.ExcludeTargets))
		}),
		writeExtra(w, c.Extra, known),
	)
}

// GetFieldDeserializers reads the configuration from a GET response.
func (c *Fido2Configuration) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":                               stringField(&c.ID),
		"state":                            func(n serialization.ParseNode) error { return enumField(n, &c.State) },
		"isSelfServiceRegistrationAllowed": boolField(&c.IsSelfServiceRegistrationAllowed),
		"isAttestationEnforced":            boolField(&c.IsAttestationEnforced),
		"keyRestrictions": func(n serialization.ParseNode) error {
			v, err := n.GetObjectValue(createKeyRestrictions)
			if v != nil {
				c.KeyRestrictions = v.(*KeyRestrictions)
			}
			return err
		},
		"defaultPasskeyProfile": stringField(&c.DefaultPasskeyProfile),
		"passkeyProfiles":       objectListField(&c.PasskeyProfiles, "passkeyProfiles", createPasskeyProfile),
		"includeTargets":        objectListField(&c.IncludeTargets, "includeTargets", createIncludeTarget),
		"excludeTargets":        objectListField(&c.ExcludeTargets, "excludeTargets", createExcludeTarget),
	}
}

// Serialize writes the profile.
func (p *PasskeyProfile) Serialize(w serialization.SerializationWriter) error {
	types := string(p.PasskeyTypes)
	att := string(p.AttestationEnforcement)
	return firstErr(
		p.writeID(w),
		writeItemString(w, "name", p.Name, p.Unset),
		writeItemString(w, "passkeyTypes", types, p.Unset),
		writeItemString(w, "attestationEnforcement", att, p.Unset),
		writeItem(w, "keyRestrictions", p.KeyRestrictions.isZero(), p.Unset, func() error {
			return w.WriteObjectValue("keyRestrictions", &p.KeyRestrictions)
		}),
		writeExtra(w, p.Extra, p.GetFieldDeserializers()),
	)
}

// writeID writes the profile's id. A profile without one (ID "") is new:
// it is sent without an id, as Microsoft's documented flow creates it, and
// Entra assigns one. (Entra never holds a profile whose id is "", so one
// read that way is the only thing that does not come back as read.)
func (p *PasskeyProfile) writeID(w serialization.SerializationWriter) error {
	if p.ID == "" && p.Unset["id"] != policy.Null {
		return nil
	}
	return writeItemString(w, "id", p.ID, p.Unset)
}

// GetFieldDeserializers reads the profile.
func (p *PasskeyProfile) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":                     stringValueField(&p.ID),
		"name":                   stringValueField(&p.Name),
		"passkeyTypes":           enumValueField(&p.PasskeyTypes),
		"attestationEnforcement": enumValueField(&p.AttestationEnforcement),
		"keyRestrictions": func(n serialization.ParseNode) error {
			v, err := n.GetObjectValue(createKeyRestrictions)
			if v != nil {
				p.KeyRestrictions = *v.(*KeyRestrictions)
			}
			return err
		},
	}
}

// Serialize writes the key restrictions.
func (k *KeyRestrictions) Serialize(w serialization.SerializationWriter) error {
	enforcement := string(k.EnforcementType)
	return firstErr(
		writeItem(w, "isEnforced", !k.IsEnforced, k.Unset, func() error { return w.WriteBoolValue("isEnforced", &k.IsEnforced) }),
		writeItemString(w, "enforcementType", enforcement, k.Unset),
		writeItemStrings(w, "aaGuids", k.AAGUIDs, k.Unset),
		writeExtra(w, k.Extra, k.GetFieldDeserializers()),
	)
}

// GetFieldDeserializers reads the key restrictions.
func (k *KeyRestrictions) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"isEnforced":      boolValueField(&k.IsEnforced),
		"enforcementType": enumValueField(&k.EnforcementType),
		"aaGuids":         stringListField(&k.AAGUIDs, "aaGuids"),
	}
}

// Serialize writes the include target.
func (t *IncludeTarget) Serialize(w serialization.SerializationWriter) error {
	return firstErr(
		writeItemString(w, "id", t.ID, t.Unset),
		writeItemString(w, "targetType", string(t.TargetType), t.Unset),
		writeItem(w, "isRegistrationRequired", !t.IsRegistrationRequired, t.Unset, func() error {
			return w.WriteBoolValue("isRegistrationRequired", &t.IsRegistrationRequired)
		}),
		writeItemStrings(w, "allowedPasskeyProfiles", t.AllowedPasskeyProfiles, t.Unset),
		writeExtra(w, t.Extra, t.GetFieldDeserializers()),
	)
}

// GetFieldDeserializers reads the include target.
func (t *IncludeTarget) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":                     stringValueField(&t.ID),
		"targetType":             enumValueField(&t.TargetType),
		"isRegistrationRequired": boolValueField(&t.IsRegistrationRequired),
		"allowedPasskeyProfiles": stringListField(&t.AllowedPasskeyProfiles, "allowedPasskeyProfiles"),
	}
}

// Serialize writes the exclude target.
func (t *ExcludeTarget) Serialize(w serialization.SerializationWriter) error {
	return firstErr(
		writeItemString(w, "id", t.ID, t.Unset),
		writeItemString(w, "targetType", string(t.TargetType), t.Unset),
		writeExtra(w, t.Extra, t.GetFieldDeserializers()),
	)
}

// GetFieldDeserializers reads the exclude target.
func (t *ExcludeTarget) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":         stringValueField(&t.ID),
		"targetType": enumValueField(&t.TargetType),
	}
}

// Helpers shared by the methods above.

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeOptional writes a property of the document: its value when set,
// null when Graph had it null, nothing otherwise.
func writeOptional(w serialization.SerializationWriter, key string, unset bool, absent map[string]policy.Absence, write func() error) error {
	switch {
	case !unset:
		return write()
	case absent[key] == policy.Null:
		return w.WriteNullValue(key)
	default:
		return nil
	}
}

// writeItem writes a property of an item (profile, target, key
// restrictions), which Graph replaces whole: while the field holds its zero
// value, as Graph had it if it was left out or null, else the zero value.
func writeItem(w serialization.SerializationWriter, key string, zero bool, absent map[string]policy.Absence, write func() error) error {
	if zero {
		switch absent[key] {
		case policy.Null:
			return w.WriteNullValue(key)
		case policy.Omitted:
			return nil
		}
	}
	return write()
}

func writeItemString(w serialization.SerializationWriter, key, value string, absent map[string]policy.Absence) error {
	return writeItem(w, key, value == "", absent, func() error { return w.WriteStringValue(key, &value) })
}

// writeItemStrings writes a list, nil as [] (Graph requires these lists)
// unless Graph had it left out or null.
func writeItemStrings(w serialization.SerializationWriter, key string, values []string, absent map[string]policy.Absence) error {
	return writeItem(w, key, len(values) == 0, absent, func() error {
		if values == nil {
			values = []string{}
		}
		return w.WriteCollectionOfStringValues(key, values)
	})
}

// writeExtra writes an object's unknown properties, in name order so the
// body is stable. Names the object knows (its typed fields win) and OData
// annotations are skipped. kiota's JSON writer puts a property name between
// quotes as it is, so the name is escaped here.
func writeExtra(w serialization.SerializationWriter, extra map[string]any, known map[string]func(serialization.ParseNode) error) error {
	names := make([]string, 0, len(extra))
	for name := range extra {
		if _, isKnown := known[name]; !isKnown && !isAnnotation(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if name == "" {
			return errors.New("a property without a name cannot be written")
		}
		key := escapeName(name)
		var err error
		if v := extra[name]; v == nil {
			err = w.WriteNullValue(key)
		} else {
			err = w.WriteAnyValue(key, v)
		}
		if err != nil {
			return fmt.Errorf("property %q: %w", name, err)
		}
	}
	return nil
}

// escapeName returns name as it goes between the quotes of a JSON string.
func escapeName(name string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(name) // a string always encodes
	s := b.String()      // "name"\n
	return s[1 : len(s)-2]
}

// isAnnotation reports whether a JSON member name is an OData annotation
// (@odata.context, includeTargets@odata.context, @odata.type, ...) rather
// than a property: property names never contain '@'.
func isAnnotation(name string) bool { return strings.Contains(name, "@") }

// readUnmodelled reads what the typed fields of an object cannot hold: its
// unknown properties (nulls included, annotations left out) and which known
// properties (those in fields) are null or missing. It refuses a value that
// is not a JSON object, a member without a name (it could not be written
// back), and a collection that Graph paged (an @odata.nextLink on it): a
// PATCH of part of a collection would delete the rest.
func readUnmodelled(n serialization.ParseNode, what string, fields map[string]func(serialization.ParseNode) error) (map[string]any, map[string]policy.Absence, error) {
	raw, err := n.GetRawValue()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("%s: expected a JSON object, got %s", what, jsonKind(raw))
	}
	var extra map[string]any
	var unset map[string]policy.Absence
	mark := func(name string, a policy.Absence) {
		if unset == nil {
			unset = map[string]policy.Absence{}
		}
		unset[name] = a
	}
	for name, v := range obj {
		_, isKnown := fields[name]
		switch {
		case name == "":
			return nil, nil, fmt.Errorf("%s: a member has an empty name", what)
		case isAnnotation(name):
			if collection, _, _ := strings.Cut(name, "@"); fields[collection] != nil && isNextLink(name) {
				return nil, nil, fmt.Errorf("%s: Graph returned only part of %s (%s); a PATCH would delete the rest", what, collection, name)
			}
		case isKnown:
			if v == nil {
				mark(name, policy.Null)
			}
		default:
			if extra == nil {
				extra = map[string]any{}
			}
			if extra[name], err = plainJSON(v); err != nil {
				return nil, nil, fmt.Errorf("%s: property %q: %w", what, name, err)
			}
		}
	}
	for name := range fields {
		if _, present := obj[name]; !present {
			mark(name, policy.Omitted)
		}
	}
	return extra, unset, nil
}

func isNextLink(annotation string) bool {
	return strings.HasSuffix(annotation, "@odata.nextLink") || strings.HasSuffix(annotation, "@nextLink")
}

// plainJSON turns a kiota raw value (pointers to scalars) into decoded JSON
// as encoding/json makes it: string, float64, bool, nil, []any and
// map[string]any. kiota's JSON parse node decodes every number to a
// float64, so integers beyond ±2^53 arrive rounded.
func plainJSON(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case *string:
		return *v, nil
	case *bool:
		return *v, nil
	case *float64:
		return *v, nil
	case *float32:
		return float64(*v), nil
	case *int64:
		return float64(*v), nil
	case *int32:
		return float64(*v), nil
	case *int8:
		return float64(*v), nil
	case *byte:
		return float64(*v), nil
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			var err error
			if out[i], err = plainJSON(item); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for name, item := range v {
			var err error
			if out[name], err = plainJSON(item); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unexpected value of type %T", v)
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case *string:
		return "a string"
	case *bool:
		return "a boolean"
	default:
		return "a number"
	}
}

func nilIfEmpty[K comparable, V any](m map[K]V) map[K]V {
	if len(m) == 0 {
		return nil
	}
	return m
}

// parsables converts a typed slice to []Parsable, keeping nil as nil so the
// writer omits it and empty as empty so the writer sends [].
func parsables[P serialization.Parsable](items []P) []serialization.Parsable {
	if items == nil {
		return nil
	}
	out := make([]serialization.Parsable, len(items))
	for i, item := range items {
		out[i] = item
	}
	return out
}

// The field deserializers below are called only for properties the object
// carries; a null one leaves the field at its zero value (the factories
// record it in Unset).

func stringField(dst **string) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		v, err := n.GetStringValue()
		*dst = v
		return err
	}
}

func stringValueField(dst *string) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		v, err := n.GetStringValue()
		if v != nil {
			*dst = *v
		}
		return err
	}
}

func boolField(dst **bool) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		v, err := n.GetBoolValue()
		*dst = v
		return err
	}
}

func boolValueField(dst *bool) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		v, err := n.GetBoolValue()
		if v != nil {
			*dst = *v
		}
		return err
	}
}

// enumField reads a string enum. Any value is kept as it is, members
// added to Graph since this code was written included.
func enumField[E ~string](n serialization.ParseNode, dst **E) error {
	v, err := n.GetStringValue()
	if err != nil || v == nil {
		return err
	}
	e := E(*v)
	*dst = &e
	return nil
}

func enumValueField[E ~string](dst *E) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		var v *E
		err := enumField(n, &v)
		if v != nil {
			*dst = *v
		}
		return err
	}
}

// stringListField reads a collection of strings. An item that is null is
// refused: the model could not send it back.
func stringListField(dst *[]string, name string) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		vals, err := n.GetCollectionOfPrimitiveValues("string")
		if err != nil || vals == nil {
			return err
		}
		out := make([]string, len(vals))
		for i, v := range vals {
			s, ok := v.(*string)
			if !ok || s == nil {
				return fmt.Errorf("%s[%d] is null", name, i)
			}
			out[i] = *s
		}
		*dst = out
		return nil
	}
}

// objectListField reads a collection of objects. An item that is null is
// refused: the model could not send it back.
func objectListField[T any, P interface {
	*T
	serialization.Parsable
}](dst *[]P, name string, factory serialization.ParsableFactory) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		vals, err := n.GetCollectionOfObjectValues(factory)
		if err != nil || vals == nil {
			return err
		}
		out := make([]P, len(vals))
		for i, v := range vals {
			p, ok := v.(P)
			if !ok || p == nil {
				return fmt.Errorf("%s[%d] is null", name, i)
			}
			out[i] = p
		}
		*dst = out
		return nil
	}
}
