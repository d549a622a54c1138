package policy

import "fmt"

// Problem is why a resource cannot be written to Entra, or why a document
// breaks an Entra rule. Reason is a CamelCase constant for conditions and
// events; Message is for people.
type Problem struct {
	Reason  string
	Message string
}

func (p Problem) String() string { return p.Reason + ": " + p.Message }

// NoDefaultProfile says why a tenant has no default passkey profile, what
// Entra does about it, and so what a resource with default: true waits for.
const NoDefaultProfile = "Entra has not moved this tenant to passkey profiles yet, so it has no default passkey profile; " +
	"Entra creates it from the tenant's FIDO2 settings when the passkey (FIDO2) method is enabled or a first profile is added"

func problemf(reason, format string, args ...any) Problem {
	return Problem{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Reasons found while building the desired policy. All of them need a change
// to a resource, except ProfileNotReady and GroupNotResolved, which clear
// once the other resource or the group lookup does.
const (
	// ReasonConflict: an older resource claims the same profile name, default
	// profile, Entra profile id or target.
	ReasonConflict = "Conflict"
	// ReasonProfileNotFound: an assignment names a PasskeyProfile that does
	// not exist in its namespace.
	ReasonProfileNotFound = "ProfileNotFound"
	// ReasonProfileNotReady: an assignment names a PasskeyProfile that has a
	// problem itself or is not in Entra, so its target waits.
	ReasonProfileNotReady = "ProfileNotReady"
	// ReasonGroupNotResolved: the assignment's group id is not known.
	ReasonGroupNotResolved = "GroupNotResolved"
	// ReasonGroupNotFound: no group has the assignment's display name.
	ReasonGroupNotFound = "GroupNotFound"
	// ReasonGroupAmbiguous: several groups have the assignment's display name.
	ReasonGroupAmbiguous = "GroupNameAmbiguous"
	// ReasonInvalidValue: a value outside its enumeration.
	ReasonInvalidValue = "InvalidValue"
	// ReasonAuthenticatorCatalogUnavailable: a profile selects authenticators
	// by name, and no authenticator catalog (FIDO MDS3) is loaded.
	ReasonAuthenticatorCatalogUnavailable = "AuthenticatorCatalogUnavailable"
	// ReasonAuthenticatorNotFound: a profile's authenticator name or pattern
	// matches no model of the catalog.
	ReasonAuthenticatorNotFound = "AuthenticatorNotFound"
)

// Reasons found while merging.
const (
	// ReasonTooManyProfiles: creating the profile would exceed MaxProfiles.
	ReasonTooManyProfiles = "TooManyProfiles"
	// ReasonDefaultProfileFixed: the resource asks to be the default profile,
	// but the tenant's default is another profile, which cannot change.
	ReasonDefaultProfileFixed = "DefaultProfileFixed"
	// ReasonNoDefaultProfile: the tenant has no default passkey profile yet
	// (Entra has not moved it to passkey profiles), so default: true waits.
	ReasonNoDefaultProfile = "NoDefaultProfile"
	// ReasonUnknownValue: Entra holds a value this version does not know in
	// a profile the resource manages; the profile is left as it is.
	ReasonUnknownValue = "UnknownValue"
	// ReasonAttestationNeedsDeviceBoundOnly: attestation without
	// device-bound passkeys, or attestation with synced passkeys where
	// Entra does not hold it already: never written anew.
	ReasonAttestationNeedsDeviceBoundOnly = "AttestationNeedsDeviceBoundOnly"
)

// Reasons of the Entra rules (rules.go).
const (
	ReasonInvalidProfileID      = "InvalidProfileID"
	ReasonMissingProfileName    = "MissingProfileName"
	ReasonNoPasskeyTypes        = "NoPasskeyTypes"
	ReasonInvalidAAGUID         = "InvalidAAGUID"
	ReasonDuplicateProfileID    = "DuplicateProfileID"
	ReasonDefaultProfileRemoved = "DefaultProfileRemoved"
	ReasonDefaultProfileChanged = "DefaultProfileChanged"
	ReasonInvalidTargetID       = "InvalidTargetID"
	ReasonTargetWithoutProfiles = "TargetWithoutProfiles"
	ReasonUnknownProfileID      = "UnknownProfileID"
	ReasonDuplicateTarget       = "DuplicateTarget"
)
