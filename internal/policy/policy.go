// Package policy is the pure heart of the reconciler. It builds the passkey
// (FIDO2) policy that a tenant's resources declare, diffs it against what
// Entra holds, merges the two into the document to PATCH, and checks Entra's
// product rules.
//
// Everything here is a pure function over plain structs: no Kubernetes, no
// HTTP, no clock, no randomness. internal/specs converts resources to the
// input types in spec.go, and internal/entra the Graph model to and from
// Policy.
//
// Decide is a pass's whole decision, shared by the operator and passkeyctl:
//
//	decision := Decide(observed, declared) // AssignProfileIDs, Build, Diff, Merge
//	// record decision.IDs; PATCH decision.Send if not nil; read it back
//	decision = decision.Continue(readBack) // new profiles have Entra's ids now; again while Send
//	confirmed := decision.Confirm(final)   // drift left, drift corrected, unmanaged
package policy

import (
	"maps"
	"slices"
	"strings"
)

// Values of the Entra document, spelled as Microsoft Graph spells them.
const (
	StateEnabled  = "enabled"
	StateDisabled = "disabled"

	PasskeyDeviceBound = "deviceBound"
	PasskeySynced      = "synced"

	AttestationDisabled         = "disabled"
	AttestationRegistrationOnly = "registrationOnly"

	EnforcementAllow = "allow"
	EnforcementBlock = "block"

	TargetTypeGroup = "group"
	TargetTypeUser  = "user"

	// AllUsers is the include target id that stands for every user.
	AllUsers = "all_users"

	// MaxProfiles is how many passkey profiles a tenant may hold, the
	// default one included.
	MaxProfiles = 3
)

// Policy is the fido2 authenticationMethodConfiguration: the one document
// per tenant that every resource writes into.
type Policy struct {
	// State is "enabled" or "disabled"; "" when unknown (not read).
	State string
	// SelfServiceRegistration is isSelfServiceRegistrationAllowed; nil when unknown.
	SelfServiceRegistration *bool
	// DefaultProfileID is defaultPasskeyProfile: the profile Entra never
	// lets anyone delete.
	DefaultProfileID string
	// Profiles, IncludeTargets and ExcludeTargets are nil when Graph left
	// the collection out (a PATCH then leaves it alone too) and empty when
	// it sent [].
	Profiles       []Profile
	IncludeTargets []Target
	ExcludeTargets []Target
	// Extra holds the document's properties this model does not know, as
	// decoded JSON (map[string]any, []any, string, float64, bool, nil),
	// never OData annotations; a PATCH sends them back untouched.
	Extra map[string]any
}

// Absence is how Graph sent a property this model knows but holds as a zero
// value: left out of the object, or null.
type Absence uint8

const (
	// Omitted: the object did not carry the property.
	Omitted Absence = iota + 1
	// Null: the property was null.
	Null
)

// Profile is one passkeyProfile.
type Profile struct {
	ID   string
	Name string
	// PasskeyTypes are the members of Graph's passkeyTypes flags enum:
	// "deviceBound", "synced". Read from Entra, they are exactly the
	// members Graph sent, in its order, including members this code does
	// not know (Graph's enums evolve); compare them as a set.
	PasskeyTypes []string
	// AttestationEnforcement is "disabled" or "registrationOnly" (or a
	// value Graph added since, kept as read).
	AttestationEnforcement string
	KeyRestrictions        KeyRestrictions
	// Extra holds properties this model does not know; they are carried
	// through untouched, because a PATCH replaces the collection whole.
	Extra map[string]any
	// Unset names, by their Graph names ("name", "passkeyTypes",
	// "keyRestrictions", ...), the properties above that Graph left out or
	// sent as null. While such a field holds its zero value, a PATCH sends
	// the property back as Graph had it, so an item nobody changed is sent
	// exactly as read. Nil for anything built here; nothing needs to
	// maintain it.
	Unset map[string]Absence
}

// KeyRestrictions are fido2KeyRestrictions: an AAGUID allow or block list.
type KeyRestrictions struct {
	IsEnforced bool
	// EnforcementType is "allow" or "block". Graph requires it even when
	// IsEnforced is false.
	EnforcementType string
	AAGUIDs         []string
	// Extra and Unset: see Profile.
	Extra map[string]any
	Unset map[string]Absence
}

// Target is an include or exclude target.
type Target struct {
	// ID is a group object id, or AllUsers (include targets only).
	ID string
	// TargetType is "group" (also for AllUsers) or "user".
	TargetType             string
	IsRegistrationRequired bool
	// AllowedPasskeyProfiles are profile ids; include targets only.
	AllowedPasskeyProfiles []string
	// Extra holds properties this model does not know, and Unset the
	// known ones Graph left out or sent as null; see Profile.
	Extra map[string]any
	Unset map[string]Absence
}

// Clone returns a deep copy: Merge starts from one, so it never writes into
// the caller's observed document.
func (p Policy) Clone() Policy {
	out := p
	if p.SelfServiceRegistration != nil {
		v := *p.SelfServiceRegistration
		out.SelfServiceRegistration = &v
	}
	out.Profiles = cloneEach(p.Profiles, Profile.clone)
	out.IncludeTargets = cloneEach(p.IncludeTargets, Target.clone)
	out.ExcludeTargets = cloneEach(p.ExcludeTargets, Target.clone)
	out.Extra = CloneExtra(p.Extra)
	return out
}

func (p Profile) clone() Profile {
	out := p
	out.PasskeyTypes = slices.Clone(p.PasskeyTypes)
	out.KeyRestrictions = p.KeyRestrictions.clone()
	out.Extra = CloneExtra(p.Extra)
	out.Unset = maps.Clone(p.Unset)
	return out
}

func (k KeyRestrictions) clone() KeyRestrictions {
	k.AAGUIDs = slices.Clone(k.AAGUIDs)
	k.Extra = CloneExtra(k.Extra)
	k.Unset = maps.Clone(k.Unset)
	return k
}

func (t Target) clone() Target {
	out := t
	out.AllowedPasskeyProfiles = slices.Clone(t.AllowedPasskeyProfiles)
	out.Extra = CloneExtra(t.Extra)
	out.Unset = maps.Clone(t.Unset)
	return out
}

// cloneEach copies a slice element by element, keeping nil as nil so a
// clone compares equal to its original.
func cloneEach[T any](in []T, clone func(T) T) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = clone(v)
	}
	return out
}

// emptyLike returns an empty slice to refill in place of in: nil when in
// is nil, so that a list nothing changed compares equal to its original.
func emptyLike[T any](in []T) []T {
	if in == nil {
		return nil
	}
	return make([]T, 0, len(in))
}

// CloneExtra deep-copies decoded JSON (maps, slices and scalars), keeping
// nil as nil: the properties of a Graph object this model does not know.
func CloneExtra(in map[string]any) map[string]any {
	if in == nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = cloneJSON(v)
	}
	return out
}

func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return CloneExtra(v)
	case []any:
		return cloneEach(v, cloneJSON)
	default:
		return v
	}
}

// sameID compares Entra ids. They are GUIDs (or all_users), which Entra
// treats case-insensitively.
func sameID(a, b string) bool { return strings.EqualFold(a, b) }

// ProfileByID returns the profile with the id, if the policy holds it.
func (p Policy) ProfileByID(id string) (Profile, bool) {
	if i := findProfile(p.Profiles, id); i >= 0 {
		return p.Profiles[i], true
	}
	return Profile{}, false
}

// findProfile returns the index of the profile with the id, or -1. No id
// finds nothing: a profile without one is being created.
func findProfile(profiles []Profile, id string) int {
	if id == "" {
		return -1
	}
	return slices.IndexFunc(profiles, func(p Profile) bool { return sameID(p.ID, id) })
}

// HasTarget says whether the list holds a target for the group id.
func HasTarget(targets []Target, id string) bool { return findTarget(targets, id) >= 0 }

// findTarget returns the index of the target with the id, or -1.
func findTarget(targets []Target, id string) int {
	return slices.IndexFunc(targets, func(t Target) bool { return sameID(t.ID, id) })
}

// idSet is a set of Entra ids, compared case-insensitively.
type idSet map[string]bool

func (s idSet) add(id string)      { s[strings.ToLower(id)] = true }
func (s idSet) has(id string) bool { return s[strings.ToLower(id)] }

func profileIDs(profiles []Profile) idSet {
	s := idSet{}
	for _, p := range profiles {
		s.add(p.ID)
	}
	return s
}
