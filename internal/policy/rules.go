package policy

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
)

// Entra's product rules for the passkey (FIDO2) policy, as small checks
// that each return the first violation they find (cert-manager's "policy
// chain"). Build runs the profile and target checks on each desired slice,
// so a bad spec stalls its own resource instead of the whole PATCH; Validate
// runs them all over a document, which is what Merge must never break.

type profileCheck func(Profile) (Problem, bool)

type targetCheck func(t Target, include bool) (Problem, bool)

// documentCheck sees the document before (prev) and after (next) a write,
// because some rules are about change: the default profile stays.
type documentCheck func(prev, next Policy) (Problem, bool)

var profileChecks = []profileCheck{
	checkProfileID,
	checkProfileName,
	checkPasskeyTypes,
	checkAttestation,
	checkEnforcementType,
	checkAAGUIDs,
}

var targetChecks = []targetCheck{
	checkTargetID,
	checkTargetType,
	checkTargetNamesProfiles,
}

var documentChecks = []documentCheck{
	checkAttestationWrittenAnew,
	checkMethodState,
	checkProfileLimit,
	checkUniqueProfileIDs,
	checkDefaultProfileKept,
	checkDefaultProfileUnchanged,
	checkTargetProfilesExist,
	checkUniqueTargets,
}

// CheckProfile returns every rule one profile breaks on its own.
func CheckProfile(p Profile) []Problem {
	return failures(profileChecks, func(c profileCheck) (Problem, bool) { return c(p) })
}

// CheckTarget returns every rule one target breaks on its own.
func CheckTarget(t Target, include bool) []Problem {
	return failures(targetChecks, func(c targetCheck) (Problem, bool) { return c(t, include) })
}

// Validate returns every rule that writing next over prev would break; nil
// means Entra accepts it. The rules judge what the write changes: a profile
// or target resent exactly as Entra holds it is Entra's own state (a value
// this version does not know, say), not something written anew.
func Validate(prev, next Policy) []Problem {
	var out []Problem
	for _, p := range next.Profiles {
		if i := findProfile(prev.Profiles, p.ID); i < 0 || !reflect.DeepEqual(prev.Profiles[i], p) {
			out = append(out, CheckProfile(p)...)
		}
	}
	for _, t := range next.IncludeTargets {
		if i := findTarget(prev.IncludeTargets, t.ID); i < 0 || !reflect.DeepEqual(prev.IncludeTargets[i], t) {
			out = append(out, CheckTarget(t, true)...)
		}
	}
	for _, t := range next.ExcludeTargets {
		if i := findTarget(prev.ExcludeTargets, t.ID); i < 0 || !reflect.DeepEqual(prev.ExcludeTargets[i], t) {
			out = append(out, CheckTarget(t, false)...)
		}
	}
	return append(out, failures(documentChecks, func(c documentCheck) (Problem, bool) { return c(prev, next) })...)
}

func failures[C any](checks []C, run func(C) (Problem, bool)) []Problem {
	var out []Problem
	for _, c := range checks {
		if p, failed := run(c); failed {
			out = append(out, p)
		}
	}
	return out
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is a GUID in its usual 8-4-4-4-12 form, any case.
func IsGUID(s string) bool { return guidPattern.MatchString(s) }

func describeProfile(p Profile) string {
	if p.Name == "" {
		return fmt.Sprintf("passkey profile %s", p.ID)
	}
	return fmt.Sprintf("passkey profile %q", p.Name)
}

func pass() (Problem, bool) { return Problem{}, false }

func fail(reason, format string, args ...any) (Problem, bool) {
	return problemf(reason, format, args...), true
}

// checkProfileID: targets reference profiles by a GUID id.
// checkProfileID: a profile has Entra's GUID, or none yet: a new profile
// is sent without an id and Entra gives it one.
func checkProfileID(p Profile) (Problem, bool) {
	if p.ID != "" && !IsGUID(p.ID) {
		return fail(ReasonInvalidProfileID, "%s has id %q, which is not a GUID", describeProfile(p), p.ID)
	}
	return pass()
}

func checkProfileName(p Profile) (Problem, bool) {
	if p.Name == "" {
		return fail(ReasonMissingProfileName, "passkey profile %s has no name", p.ID)
	}
	return pass()
}

func checkPasskeyTypes(p Profile) (Problem, bool) {
	if len(p.PasskeyTypes) == 0 {
		return fail(ReasonNoPasskeyTypes, "%s allows no passkey type; allow deviceBound, synced or both", describeProfile(p))
	}
	for _, t := range p.PasskeyTypes {
		if t != PasskeyDeviceBound && t != PasskeySynced {
			return fail(ReasonInvalidValue, "%s has passkey type %q; Entra knows deviceBound and synced", describeProfile(p), t)
		}
	}
	return pass()
}

// WarningAttestationWithSynced is what the API server (through the
// ValidatingAdmissionPolicy in config/), passkeyctl validate and a
// resource's status say of a profile that enforces attestation and allows
// synced passkeys.
const WarningAttestationWithSynced = "attestation is enforced while synced passkeys are allowed: synced passkeys carry no attestation, " +
	"so users cannot register them; remove Synced from passkeyTypes or set attestation to Disabled"

// checkAttestation: attestation needs device-bound passkeys. Enforcing it
// with synced ones allowed too is a state Entra holds (its migration left
// many default profiles so), judged where it is written (see
// checkAttestationWrittenAnew).
func checkAttestation(p Profile) (Problem, bool) {
	switch p.AttestationEnforcement {
	case AttestationDisabled:
		return pass()
	case AttestationRegistrationOnly:
		if !slices.Contains(p.PasskeyTypes, PasskeyDeviceBound) {
			return fail(ReasonAttestationNeedsDeviceBoundOnly,
				"%s enforces attestation but allows passkey types %s; attestation needs deviceBound, because synced passkeys carry no attestation",
				describeProfile(p), renderSet(p.PasskeyTypes))
		}
		return pass()
	default:
		return fail(ReasonInvalidValue, "%s has attestationEnforcement %q; Entra knows disabled and registrationOnly",
			describeProfile(p), p.AttestationEnforcement)
	}
}

func onlyDeviceBound(types []string) bool {
	return len(types) > 0 && !slices.ContainsFunc(types, func(t string) bool { return t != PasskeyDeviceBound })
}

// checkEnforcementType: Graph requires allow or block even when the
// restrictions are not enforced.
func checkEnforcementType(p Profile) (Problem, bool) {
	switch p.KeyRestrictions.EnforcementType {
	case EnforcementAllow, EnforcementBlock:
		return pass()
	default:
		return fail(ReasonInvalidValue, "%s has keyRestrictions.enforcementType %q; Entra knows allow and block",
			describeProfile(p), p.KeyRestrictions.EnforcementType)
	}
}

func checkAAGUIDs(p Profile) (Problem, bool) {
	for _, a := range p.KeyRestrictions.AAGUIDs {
		if !IsGUID(a) {
			return fail(ReasonInvalidAAGUID, "%s lists AAGUID %q, which is not a GUID such as cb69481e-8ff7-4039-93ec-0a2729a154a8",
				describeProfile(p), a)
		}
	}
	return pass()
}

func describeTarget(t Target, include bool) string {
	if include {
		return "include target " + t.ID
	}
	return "exclude target " + t.ID
}

// checkTargetID: a target is a group (or user) object id; only an include
// target may be all_users.
func checkTargetID(t Target, include bool) (Problem, bool) {
	if IsGUID(t.ID) || (include && t.ID == AllUsers) {
		return pass()
	}
	if include {
		return fail(ReasonInvalidTargetID, "%s is neither %s nor a group object id", describeTarget(t, include), AllUsers)
	}
	return fail(ReasonInvalidTargetID, "%s is not a group object id", describeTarget(t, include))
}

func checkTargetType(t Target, include bool) (Problem, bool) {
	if t.TargetType != TargetTypeGroup && t.TargetType != TargetTypeUser {
		return fail(ReasonInvalidValue, "%s has targetType %q; Entra knows group and user", describeTarget(t, include), t.TargetType)
	}
	return pass()
}

func checkTargetNamesProfiles(t Target, include bool) (Problem, bool) {
	if include && len(t.AllowedPasskeyProfiles) == 0 {
		return fail(ReasonTargetWithoutProfiles, "%s allows no passkey profile; an include target needs at least one", describeTarget(t, include))
	}
	return pass()
}

func checkMethodState(_, next Policy) (Problem, bool) {
	switch next.State {
	case "", StateEnabled, StateDisabled:
		return pass()
	default:
		return fail(ReasonInvalidValue, "state is %q; Entra knows enabled and disabled", next.State)
	}
}

func checkProfileLimit(_, next Policy) (Problem, bool) {
	if n := len(next.Profiles); n > MaxProfiles {
		return fail(ReasonTooManyProfiles, "the policy has %d passkey profiles (%s); Entra allows at most %d, the default one included",
			n, profileNames(next.Profiles), MaxProfiles)
	}
	return pass()
}

func checkUniqueProfileIDs(_, next Policy) (Problem, bool) {
	seen := idSet{}
	for _, p := range next.Profiles {
		if p.ID == "" {
			continue // new: Entra gives it its own id
		}
		if seen.has(p.ID) {
			return fail(ReasonDuplicateProfileID, "more than one passkey profile has id %s", p.ID)
		}
		seen.add(p.ID)
	}
	return pass()
}

func checkDefaultProfileKept(_, next Policy) (Problem, bool) {
	if next.DefaultProfileID != "" && findProfile(next.Profiles, next.DefaultProfileID) < 0 {
		return fail(ReasonDefaultProfileRemoved, "the default passkey profile %s cannot be removed", next.DefaultProfileID)
	}
	return pass()
}

// checkAttestationWrittenAnew: Entra holds attestation with synced passkeys
// where its migration left it, but whether it accepts that state written
// anew is not known (ENTRA-FACTS.md), so a write may keep it, never make it.
func checkAttestationWrittenAnew(prev, next Policy) (Problem, bool) {
	for _, p := range next.Profiles {
		if !AttestationWithSynced(p) {
			continue
		}
		if i := findProfile(prev.Profiles, p.ID); i < 0 || !AttestationWithSynced(prev.Profiles[i]) {
			return fail(ReasonAttestationNeedsDeviceBoundOnly, "%s would newly enforce attestation with synced passkeys allowed, "+
				"which Entra holds only where its migration left it; the operator does not write it anew", describeProfile(p))
		}
	}
	return pass()
}

// UnknownValues lists the values of p that are not members of the
// enumerations this version knows. Graph's enumerations are evolvable
// (unknownFutureValue, and members added later): such a value is read and
// kept, never rewritten.
func UnknownValues(p Profile) []string {
	var out []string
	unknown := func(field, value string, members ...string) {
		if _, ok := canonical(value, members...); !ok && value != "" {
			out = append(out, fmt.Sprintf("%s %q", field, value))
		}
	}
	for _, t := range p.PasskeyTypes {
		unknown("passkeyTypes member", t, PasskeyDeviceBound, PasskeySynced)
	}
	unknown("attestationEnforcement", p.AttestationEnforcement, AttestationDisabled, AttestationRegistrationOnly)
	if p.KeyRestrictions.IsEnforced {
		unknown("keyRestrictions.enforcementType", p.KeyRestrictions.EnforcementType, EnforcementAllow, EnforcementBlock)
	}
	return out
}

// AttestationWithSynced says whether p enforces attestation and allows
// synced passkeys besides device-bound ones (without device-bound ones it
// breaks checkAttestation).
func AttestationWithSynced(p Profile) bool {
	return p.AttestationEnforcement == AttestationRegistrationOnly &&
		slices.Contains(p.PasskeyTypes, PasskeySynced) && slices.Contains(p.PasskeyTypes, PasskeyDeviceBound)
}

func checkDefaultProfileUnchanged(prev, next Policy) (Problem, bool) {
	if prev.DefaultProfileID != "" && !sameID(prev.DefaultProfileID, next.DefaultProfileID) {
		return fail(ReasonDefaultProfileChanged, "the default passkey profile is %s and cannot change to %q",
			prev.DefaultProfileID, next.DefaultProfileID)
	}
	return pass()
}

func checkTargetProfilesExist(_, next Policy) (Problem, bool) {
	exist := profileIDs(next.Profiles)
	for _, t := range next.IncludeTargets {
		for _, id := range t.AllowedPasskeyProfiles {
			if !exist.has(id) {
				return fail(ReasonUnknownProfileID, "%s allows passkey profile %s, which does not exist", describeTarget(t, true), id)
			}
		}
	}
	return pass()
}

func checkUniqueTargets(_, next Policy) (Problem, bool) {
	for _, list := range []struct {
		include bool
		targets []Target
	}{{true, next.IncludeTargets}, {false, next.ExcludeTargets}} {
		seen := idSet{}
		for _, t := range list.targets {
			if seen.has(t.ID) {
				return fail(ReasonDuplicateTarget, "%s appears more than once", describeTarget(t, list.include))
			}
			seen.add(t.ID)
		}
	}
	return pass()
}

// profileNames lists profiles for a message: "A", "B" and "C".
func profileNames(profiles []Profile) string {
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = fmt.Sprintf("%q", p.Name)
	}
	return JoinWords(names)
}
