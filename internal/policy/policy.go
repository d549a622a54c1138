// Package policy is the pure heart of the reconciler. It builds the passkey
// (FIDO2) policy that a tenant's resources declare, diffs it against what
// Entra holds, merges the two into the document to PATCH, and checks Entra's
// product rules.
//
// Everything here is a pure function over plain structs: no Kubernetes, no
// HTTP, no clock, no randomness (new profile ids come from an injected
// function). internal/specs converts resources to the input types in
// spec.go, and internal/entra the Graph model to and from Policy.
//
// Decide is a pass's whole decision, shared by the operator and passkeyctl:
//
//	decision := Decide(observed, declared, newGUID) // AssignProfileIDs, Build, Diff, Merge
//	// record decision.IDs; PATCH decision.Send if not nil; read it back
//	confirmed := decision.Confirm(readBack)         // drift left, corrected, ids Entra changed
package policy

import (
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
	Profiles         []Profile
	IncludeTargets   []Target
	ExcludeTargets   []Target
}

// Profile is one passkeyProfile.
type Profile struct {
	ID   string
	Name string
	// PasskeyTypes are the members of Graph's passkeyTypes flags enum:
	// "deviceBound", "synced".
	PasskeyTypes []string
	// AttestationEnforcement is "disabled" or "registrationOnly".
	AttestationEnforcement string
	KeyRestrictions        KeyRestrictions
	// Extra holds properties this model does not know; they are carried
	// through untouched, because a PATCH replaces the collection whole.
	Extra map[string]any
}

// KeyRestrictions are fido2KeyRestrictions: an AAGUID allow or block list.
type KeyRestrictions struct {
	IsEnforced bool
	// EnforcementType is "allow" or "block". Graph requires it even when
	// IsEnforced is false.
	EnforcementType string
	AAGUIDs         []string
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
	// Extra holds properties this model does not know; see Profile.Extra.
	Extra map[string]any
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
	return out
}

func (p Profile) clone() Profile {
	out := p
	out.PasskeyTypes = slices.Clone(p.PasskeyTypes)
	out.KeyRestrictions = p.KeyRestrictions.clone()
	out.Extra = cloneExtra(p.Extra)
	return out
}

func (k KeyRestrictions) clone() KeyRestrictions {
	k.AAGUIDs = slices.Clone(k.AAGUIDs)
	return k
}

func (t Target) clone() Target {
	out := t
	out.AllowedPasskeyProfiles = slices.Clone(t.AllowedPasskeyProfiles)
	out.Extra = cloneExtra(t.Extra)
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

// cloneExtra deep-copies decoded JSON (maps, slices and scalars).
func cloneExtra(in map[string]any) map[string]any {
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
		return cloneExtra(v)
	case []any:
		return cloneEach(v, cloneJSON)
	default:
		return v
	}
}

// sameID compares Entra ids. They are GUIDs (or all_users), which Entra
// treats case-insensitively.
func sameID(a, b string) bool { return strings.EqualFold(a, b) }

// findProfile returns the index of the profile with the id, or -1.
func findProfile(profiles []Profile, id string) int {
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
