// Package entra talks to Microsoft Graph for the operator: a typed model of
// the passkey (FIDO2) authentication-method policy and functions that read
// and update it through msgraph-sdk-go's request adapter, so authentication,
// retries and OData errors are the SDK's. It knows nothing of Kubernetes.
//
// The msgraph-sdk-go release the project uses predates passkey profiles, so
// the fido2 configuration is modelled here as kiota Parsables.
package entra

import (
	"fmt"
	"strings"

	"github.com/microsoft/kiota-abstractions-go/serialization"
)

// Fido2ODataType is the OData type of the fido2 configuration.
const Fido2ODataType = "#microsoft.graph.fido2AuthenticationMethodConfiguration"

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

// PasskeyTypes is the passkeyTypes flags enum. On the wire it is a
// comma-separated list of members, e.g. "deviceBound,synced".
type PasskeyTypes uint8

const (
	PasskeyTypeDeviceBound PasskeyTypes = 1 << iota
	PasskeyTypeSynced
)

var passkeyTypeNames = []struct {
	flag PasskeyTypes
	name string
}{{PasskeyTypeDeviceBound, "deviceBound"}, {PasskeyTypeSynced, "synced"}}

// String returns the wire form, members in a fixed order.
func (t PasskeyTypes) String() string {
	var names []string
	for _, n := range passkeyTypeNames {
		if t&n.flag != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// ParsePasskeyTypes reads the wire form. An unknown member is an error
// rather than dropped, so a policy the model cannot represent is never
// written back altered.
func ParsePasskeyTypes(s string) (PasskeyTypes, error) {
	var t PasskeyTypes
	for _, member := range strings.Split(s, ",") {
		member = strings.TrimSpace(member)
		if member == "" {
			continue
		}
		found := false
		for _, n := range passkeyTypeNames {
			if member == n.name {
				t |= n.flag
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown passkeyTypes member %q", member)
		}
	}
	return t, nil
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
	// the profiles' own.
	IsAttestationEnforced *bool
	KeyRestrictions       *KeyRestrictions
	// DefaultPasskeyProfile is the id of the profile that cannot be deleted.
	DefaultPasskeyProfile *string
	PasskeyProfiles       []*PasskeyProfile
	IncludeTargets        []*IncludeTarget
	ExcludeTargets        []*ExcludeTarget
}

// PasskeyProfile is passkeyProfile. All its properties are required, so it
// is always sent whole.
type PasskeyProfile struct {
	ID                     string
	Name                   string
	PasskeyTypes           PasskeyTypes
	AttestationEnforcement AttestationEnforcement
	KeyRestrictions        KeyRestrictions
}

// KeyRestrictions is fido2KeyRestrictions. AAGUIDs is always sent (nil as
// []), because Graph replaces the whole object.
type KeyRestrictions struct {
	IsEnforced      bool
	EnforcementType EnforcementType
	AAGUIDs         []string
}

// IncludeTarget is passkeyAuthenticationMethodTarget: a group (or
// AllUsers) and the profiles that apply to it.
type IncludeTarget struct {
	ID                     string
	TargetType             TargetType
	IsRegistrationRequired bool
	AllowedPasskeyProfiles []string
}

// ExcludeTarget is excludeTarget.
type ExcludeTarget struct {
	ID         string
	TargetType TargetType
}

// CreateFido2ConfigurationFromDiscriminatorValue is the kiota factory for
// Fido2Configuration.
func CreateFido2ConfigurationFromDiscriminatorValue(serialization.ParseNode) (serialization.Parsable, error) {
	return &Fido2Configuration{}, nil
}

func createPasskeyProfile(serialization.ParseNode) (serialization.Parsable, error) {
	return &PasskeyProfile{}, nil
}

func createKeyRestrictions(serialization.ParseNode) (serialization.Parsable, error) {
	return &KeyRestrictions{}, nil
}

func createIncludeTarget(serialization.ParseNode) (serialization.Parsable, error) {
	return &IncludeTarget{}, nil
}

func createExcludeTarget(serialization.ParseNode) (serialization.Parsable, error) {
	return &ExcludeTarget{}, nil
}

// Serialize writes the configuration for a PATCH.
func (c *Fido2Configuration) Serialize(w serialization.SerializationWriter) error {
	odataType := Fido2ODataType
	return firstErr(
		w.WriteStringValue("@odata.type", &odataType),
		w.WriteStringValue("id", c.ID),
		w.WriteStringValue("state", (*string)(c.State)),
		w.WriteBoolValue("isSelfServiceRegistrationAllowed", c.IsSelfServiceRegistrationAllowed),
		w.WriteBoolValue("isAttestationEnforced", c.IsAttestationEnforced),
		writeObjectIfSet(w, "keyRestrictions", c.KeyRestrictions),
		w.WriteStringValue("defaultPasskeyProfile", c.DefaultPasskeyProfile),
		w.WriteCollectionOfObjectValues("passkeyProfiles", parsables(c.PasskeyProfiles)),
		w.WriteCollectionOfObjectValues("includeTargets", parsables(c.IncludeTargets)),
		w.WriteCollectionOfObjectValues("excludeTargets", parsables(c.ExcludeTargets)),
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
		"passkeyProfiles":       objectListField(&c.PasskeyProfiles, createPasskeyProfile),
		"includeTargets":        objectListField(&c.IncludeTargets, createIncludeTarget),
		"excludeTargets":        objectListField(&c.ExcludeTargets, createExcludeTarget),
	}
}

// Serialize writes the profile.
func (p *PasskeyProfile) Serialize(w serialization.SerializationWriter) error {
	types := p.PasskeyTypes.String()
	att := string(p.AttestationEnforcement)
	return firstErr(
		w.WriteStringValue("id", &p.ID),
		w.WriteStringValue("name", &p.Name),
		w.WriteStringValue("passkeyTypes", &types),
		w.WriteStringValue("attestationEnforcement", &att),
		w.WriteObjectValue("keyRestrictions", &p.KeyRestrictions),
	)
}

// GetFieldDeserializers reads the profile.
func (p *PasskeyProfile) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":   stringValueField(&p.ID),
		"name": stringValueField(&p.Name),
		"passkeyTypes": func(n serialization.ParseNode) error {
			s, err := n.GetStringValue()
			if err != nil || s == nil {
				return err
			}
			p.PasskeyTypes, err = ParsePasskeyTypes(*s)
			return err
		},
		"attestationEnforcement": func(n serialization.ParseNode) error {
			var v *AttestationEnforcement
			err := enumField(n, &v)
			if v != nil {
				p.AttestationEnforcement = *v
			}
			return err
		},
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
	aaguids := k.AAGUIDs
	if aaguids == nil {
		aaguids = []string{}
	}
	return firstErr(
		w.WriteBoolValue("isEnforced", &k.IsEnforced),
		w.WriteStringValue("enforcementType", &enforcement),
		w.WriteCollectionOfStringValues("aaGuids", aaguids),
	)
}

// GetFieldDeserializers reads the key restrictions.
func (k *KeyRestrictions) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"isEnforced": boolValueField(&k.IsEnforced),
		"enforcementType": func(n serialization.ParseNode) error {
			var v *EnforcementType
			err := enumField(n, &v)
			if v != nil {
				k.EnforcementType = *v
			}
			return err
		},
		"aaGuids": stringListField(&k.AAGUIDs),
	}
}

// Serialize writes the include target.
func (t *IncludeTarget) Serialize(w serialization.SerializationWriter) error {
	targetType := string(t.TargetType)
	allowed := t.AllowedPasskeyProfiles
	if allowed == nil {
		allowed = []string{}
	}
	return firstErr(
		w.WriteStringValue("id", &t.ID),
		w.WriteStringValue("targetType", &targetType),
		w.WriteBoolValue("isRegistrationRequired", &t.IsRegistrationRequired),
		w.WriteCollectionOfStringValues("allowedPasskeyProfiles", allowed),
	)
}

// GetFieldDeserializers reads the include target.
func (t *IncludeTarget) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":                     stringValueField(&t.ID),
		"targetType":             targetTypeField(&t.TargetType),
		"isRegistrationRequired": boolValueField(&t.IsRegistrationRequired),
		"allowedPasskeyProfiles": stringListField(&t.AllowedPasskeyProfiles),
	}
}

// Serialize writes the exclude target.
func (t *ExcludeTarget) Serialize(w serialization.SerializationWriter) error {
	targetType := string(t.TargetType)
	return firstErr(
		w.WriteStringValue("id", &t.ID),
		w.WriteStringValue("targetType", &targetType),
	)
}

// GetFieldDeserializers reads the exclude target.
func (t *ExcludeTarget) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":         stringValueField(&t.ID),
		"targetType": targetTypeField(&t.TargetType),
	}
}

// Helpers shared by the deserializers above.

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeObjectIfSet writes v unless it is nil (a typed nil pointer in a
// Parsable interface is not nil, so the check must happen here).
func writeObjectIfSet[T any, P interface {
	*T
	serialization.Parsable
}](w serialization.SerializationWriter, key string, v P) error {
	if v == nil {
		return nil
	}
	return w.WriteObjectValue(key, v)
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

// enumField reads a string enum. Unknown members are kept as they are: the
// enums here are compared, never switched on exhaustively.
func enumField[E ~string](n serialization.ParseNode, dst **E) error {
	v, err := n.GetStringValue()
	if err != nil || v == nil {
		return err
	}
	e := E(*v)
	*dst = &e
	return nil
}

func targetTypeField(dst *TargetType) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		var v *TargetType
		err := enumField(n, &v)
		if v != nil {
			*dst = *v
		}
		return err
	}
}

func stringListField(dst *[]string) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		vals, err := n.GetCollectionOfPrimitiveValues("string")
		if err != nil || vals == nil {
			return err
		}
		out := make([]string, 0, len(vals))
		for _, v := range vals {
			if s, ok := v.(*string); ok && s != nil {
				out = append(out, *s)
			}
		}
		*dst = out
		return nil
	}
}

func objectListField[T any, P interface {
	*T
	serialization.Parsable
}](dst *[]P, factory serialization.ParsableFactory) func(serialization.ParseNode) error {
	return func(n serialization.ParseNode) error {
		vals, err := n.GetCollectionOfObjectValues(factory)
		if err != nil || vals == nil {
			return err
		}
		out := make([]P, 0, len(vals))
		for _, v := range vals {
			if p, ok := v.(P); ok {
				out = append(out, p)
			}
		}
		*dst = out
		return nil
	}
}
