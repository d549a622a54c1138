package emulator

import (
	"regexp"
	"slices"
)

// The product rules Entra enforces on the passkey (FIDO2) policy. Each rule
// is a pure function of the stored document (prev) and the document a write
// would produce (next); docs/emulator.md cites the documentation of each.

// maxPasskeyProfiles is the number of profiles a tenant may have, the
// default one included.
const maxPasskeyProfiles = 3

// maxPolicyBytes is the policy size limit: 20 KB.
const maxPolicyBytes = 20 * 1024

// fido2Rule returns a violation, or nil when next satisfies the rule.
type fido2Rule func(prev, next Fido2Document) *graphError

// fido2Rules run in order; the first violation is reported.
var fido2Rules = []fido2Rule{
	ruleEnumValues,
	ruleProfileLimit,
	ruleProfileFields,
	ruleDefaultProfile,
	ruleAttestationDeviceBoundOnly,
	ruleAAGUIDFormat,
	ruleIncludeTargets,
	ruleExcludeTargets,
	rulePolicySize,
}

// validateFido2 applies every rule to a write turning prev into next.
func validateFido2(prev, next Fido2Document) *graphError {
	for _, rule := range fido2Rules {
		if err := rule(prev, next); err != nil {
			return err
		}
	}
	return nil
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidPattern.MatchString(s) }

// ruleEnumValues refuses enum values outside their enumerations. A Graph
// PATCH never gets here with one (the OData layer refuses it first); the
// rule guards documents edited through the Go API.
func ruleEnumValues(_, next Fido2Document) *graphError {
	check := func(value string, members ...string) *graphError {
		if !slices.Contains(members, value) {
			return odataError("Requested value '%s' was not found.", value)
		}
		return nil
	}
	errs := []*graphError{
		check(next.State, StateEnabled, StateDisabled),
		check(next.KeyRestrictions.EnforcementType, EnforcementAllow, EnforcementBlock),
	}
	for _, p := range next.PasskeyProfiles {
		if _, err := canonicalPasskeyTypes(p.PasskeyTypes); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs,
			check(p.AttestationEnforcement, AttestationDisabled, AttestationRegistrationOnly),
			check(p.KeyRestrictions.EnforcementType, EnforcementAllow, EnforcementBlock))
	}
	for _, t := range next.IncludeTargets {
		errs = append(errs, check(t.TargetType, TargetTypeGroup, TargetTypeUser))
	}
	for _, t := range next.ExcludeTargets {
		errs = append(errs, check(t.TargetType, TargetTypeGroup, TargetTypeUser))
	}
	return firstError(errs)
}

// ruleProfileLimit: at most three passkey profiles, the default included.
func ruleProfileLimit(_, next Fido2Document) *graphError {
	if n := len(next.PasskeyProfiles); n > maxPasskeyProfiles {
		return ruleError("A tenant can have at most %d passkey profiles, including the default passkey profile; the request has %d.", maxPasskeyProfiles, n)
	}
	return nil
}

// ruleProfileFields: a profile has a GUID id (targets reference profiles in
// a Guid collection) that no other profile has, a name and at least one
// passkey type.
func ruleProfileFields(_, next Fido2Document) *graphError {
	seen := map[string]bool{}
	for _, p := range next.PasskeyProfiles {
		switch {
		case !isGUID(p.ID):
			return ruleError("Passkey profile id '%s' is not a valid GUID.", p.ID)
		case seen[p.ID]:
			return ruleError("Passkey profile id '%s' is used by more than one passkey profile.", p.ID)
		case p.Name == "":
			return ruleError("Passkey profile '%s' must have a name.", p.ID)
		case p.PasskeyTypes == "":
			return ruleError("Passkey profile '%s' must allow at least one passkey type.", p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}

// ruleDefaultProfile: the default profile cannot be deleted, and which
// profile is the default cannot be changed.
func ruleDefaultProfile(prev, next Fido2Document) *graphError {
	if prev.DefaultPasskeyProfile != "" && next.DefaultPasskeyProfile != prev.DefaultPasskeyProfile {
		return ruleError("The property 'defaultPasskeyProfile' cannot be changed; the default passkey profile is '%s'.", prev.DefaultPasskeyProfile)
	}
	if next.DefaultPasskeyProfile == "" {
		return nil
	}
	if !slices.ContainsFunc(next.PasskeyProfiles, func(p PasskeyProfile) bool { return p.ID == next.DefaultPasskeyProfile }) {
		return ruleError("The default passkey profile '%s' cannot be deleted.", next.DefaultPasskeyProfile)
	}
	return nil
}

// ruleAttestationDeviceBoundOnly: attestation can only be enforced on a
// profile that allows device-bound passkeys alone, because synced passkeys
// carry no attestation.
func ruleAttestationDeviceBoundOnly(_, next Fido2Document) *graphError {
	for _, p := range next.PasskeyProfiles {
		if p.AttestationEnforcement == AttestationRegistrationOnly && p.PasskeyTypes != PasskeyTypeDeviceBound {
			return ruleError("Passkey profile '%s': attestation can be enforced only when passkeyTypes is 'deviceBound' alone; synced passkeys do not support attestation.", p.ID)
		}
	}
	return nil
}

// ruleAAGUIDFormat: an AAGUID is a GUID, in every key-restriction list.
func ruleAAGUIDFormat(_, next Fido2Document) *graphError {
	lists := [][]string{next.KeyRestrictions.AAGUIDs}
	for _, p := range next.PasskeyProfiles {
		lists = append(lists, p.KeyRestrictions.AAGUIDs)
	}
	for _, list := range lists {
		for _, a := range list {
			if !isGUID(a) {
				return ruleError("'%s' is not a valid AAGUID; an AAGUID is a GUID such as 'cb69481e-8ff7-4039-93ec-0a2729a154a8'.", a)
			}
		}
	}
	return nil
}

// ruleIncludeTargets: an include target is all users or a group object id,
// and names at least one passkey profile, each of which exists.
func ruleIncludeTargets(_, next Fido2Document) *graphError {
	profiles := map[string]bool{}
	for _, p := range next.PasskeyProfiles {
		profiles[p.ID] = true
	}
	for _, t := range next.IncludeTargets {
		if t.ID != AllUsers && !isGUID(t.ID) {
			return ruleError("Include target id '%s' is neither '%s' nor an object id.", t.ID, AllUsers)
		}
		if len(t.AllowedPasskeyProfiles) == 0 {
			return ruleError("Include target '%s' must name at least one passkey profile in 'allowedPasskeyProfiles'.", t.ID)
		}
		for _, id := range t.AllowedPasskeyProfiles {
			if !profiles[id] {
				return ruleError("Include target '%s' references passkey profile '%s', which does not exist.", t.ID, id)
			}
		}
	}
	return nil
}

// ruleExcludeTargets: an exclude target is a group (or user) object id.
func ruleExcludeTargets(_, next Fido2Document) *graphError {
	for _, t := range next.ExcludeTargets {
		if !isGUID(t.ID) {
			return ruleError("Exclude target id '%s' is not an object id.", t.ID)
		}
	}
	return nil
}

// rulePolicySize: the passkey (FIDO2) policy is at most 20 KB.
func rulePolicySize(_, next Fido2Document) *graphError {
	if n := next.size(); n > maxPolicyBytes {
		return ruleError("The passkey (FIDO2) policy would be %d bytes, over its size limit of 20 KB.", n)
	}
	return nil
}

func firstError(errs []*graphError) *graphError {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
