package emulator

import (
	"regexp"
	"slices"
	"strings"
)

// The product rules Entra enforces on the passkey (FIDO2) policy. Each rule
// judges what a write changes, not what it resends: an item (profile,
// target) equal to the stored item with the same id passes every rule, so a
// tenant holding a state the rules would refuse — a migrated default profile
// enforcing attestation with synced passkeys, a repeated AAGUID — can be
// read and written back. docs/emulator.md gives each rule's evidence.

// maxPasskeyProfiles is the number of profiles a tenant may have, the
// default one included ("Up to three passkey profiles, including the
// Default passkey profile, are supported"; more are announced).
const maxPasskeyProfiles = 3

// maxPolicyBytes is the policy size limit: 20 KB.
const maxPolicyBytes = 20 * 1024

// fido2Rule returns a violation, or nil.
type fido2Rule func(w *fido2Write) *graphError

// fido2Rules run in order; the first violation is reported.
var fido2Rules = []fido2Rule{
	ruleProfileLimit,
	ruleProfileRequired,
	ruleProfileFields,
	ruleEnumValues,
	ruleDefaultProfile,
	ruleAttestationWithSynced,
	ruleProfileInUse,
	ruleIncludeTargets,
	ruleExcludeTargets,
	rulePolicySize,
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidPattern.MatchString(s) }

// Verbatim messages of real Entra refusals (Microsoft support material
// quoting browser traces, see docs/emulator.md).
const (
	msgIncludeTargetWithoutProfile = "Include conditions are missing passkey profile targets"
	msgPolicySize                  = "Persistence of policy failed with error: Policy size is larger than allowed by %d bytes. Please change your targeting to fewer groups or settings and try again."
	msgRenameDefault               = "It is not possible to rename the default passkey profile."
)

// item pairs a collection item of the written document with the stored
// item it replaces (same id), if any.
type item struct {
	next    jsonObject
	base    jsonObject
	hasBase bool
}

// changed reports whether the item is new or differs from the stored one.
func (it item) changed() bool { return !it.hasBase || !sameJSON(it.base.bytes(), it.next.bytes()) }

// pair matches each written item of a collection with its stored one.
func (w *fido2Write) pair(collection string) []item {
	baseItems := w.base.objects(collection)
	var out []item
	for _, n := range w.next.objects(collection) {
		it := item{next: n}
		if i := findByID(baseItems, n.str("id")); i >= 0 {
			it.base, it.hasBase = baseItems[i], true
		}
		out = append(out, it)
	}
	return out
}

func (w *fido2Write) isNewProfile(id string) bool { return w.newProfiles[strings.ToLower(id)] }

// ruleProfileLimit: at most three passkey profiles, the default included. A
// tenant already holding more (should Entra raise the limit) may keep them.
func ruleProfileLimit(w *fido2Write) *graphError {
	n := len(w.nextView.PasskeyProfiles)
	if n > maxPasskeyProfiles && n > len(w.baseView.PasskeyProfiles) {
		return ruleError("A tenant can have at most %d passkey profiles, including the default passkey profile; the request has %d.", maxPasskeyProfiles, n)
	}
	return nil
}

// ruleProfileRequired: a passkey profile carries name, passkeyTypes,
// attestationEnforcement and keyRestrictions (all "Required" on the
// passkeyProfile page). Only a new profile, or one that loses a property it
// had, is refused.
func ruleProfileRequired(w *fido2Write) *graphError {
	for _, it := range w.pair("passkeyProfiles") {
		for _, name := range []string{"name", "passkeyTypes", "attestationEnforcement", "keyRestrictions"} {
			if !it.next.has(name) && (!it.hasBase || it.base.has(name)) {
				return ruleError("A passkey profile is missing the required property '%s'.", name)
			}
		}
	}
	return nil
}

// ruleProfileFields: a new profile's id is a GUID (targets name profiles in
// a Guid collection) that no other profile has; a profile's name and
// passkey types, where the write sets them, are not empty.
func ruleProfileFields(w *fido2Write) *graphError {
	count := func(items []PasskeyProfile, id string) int {
		n := 0
		for _, p := range items {
			if strings.EqualFold(p.ID, id) {
				n++
			}
		}
		return n
	}
	for _, it := range w.pair("passkeyProfiles") {
		p := profileView(it.next)
		var before PasskeyProfile
		if it.hasBase {
			before = profileView(it.base)
		}
		switch {
		case !it.hasBase && !isGUID(p.ID):
			return ruleError("Passkey profile id '%s' is not a valid GUID.", p.ID)
		case count(w.nextView.PasskeyProfiles, p.ID) > max(1, count(w.baseView.PasskeyProfiles, p.ID)):
			return ruleError("Passkey profile id '%s' is used by more than one passkey profile.", p.ID)
		case (!it.hasBase || p.Name != before.Name) && p.Name == "":
			return ruleError("Passkey profile '%s' must have a name.", p.ID)
		case (!it.hasBase || flagsSet(p.PasskeyTypes) != flagsSet(before.PasskeyTypes)) && len(splitFlags(p.PasskeyTypes)) == 0:
			return ruleError("Passkey profile '%s' must allow at least one passkey type.", p.ID)
		}
	}
	return nil
}

// ruleEnumValues: an enum value a write sets must be a member the service
// knows, and not the unknownFutureValue sentinel, which only marks "a value
// newer than your client" in responses. A value the tenant already holds may
// be resent. Graph PATCH bodies are checked against the enumerations when
// they are decoded; this rule also guards portal edits.
func ruleEnumValues(w *fido2Write) *graphError {
	check := func(property, before, after string) *graphError {
		if before == after || (property == "passkeyTypes" && flagsSet(before) == flagsSet(after)) {
			return nil
		}
		members := []string{after}
		if property == "passkeyTypes" {
			members = splitFlags(after)
		}
		for _, m := range members {
			if m == unknownFutureValue {
				return ruleError("The value '%s' of '%s' is a placeholder for values newer than the client; it cannot be written.", m, property)
			}
			if !w.model.hasMember(property, m) {
				return odataError("Requested value '%s' was not found.", m)
			}
		}
		return nil
	}
	errs := []*graphError{
		check("state", w.baseView.State, w.nextView.State),
		check("enforcementType", w.baseView.KeyRestrictions.EnforcementType, w.nextView.KeyRestrictions.EnforcementType),
	}
	for _, it := range w.pair("passkeyProfiles") {
		var before PasskeyProfile
		if it.hasBase {
			before = profileView(it.base)
		}
		after := profileView(it.next)
		errs = append(errs,
			check("passkeyTypes", before.PasskeyTypes, after.PasskeyTypes),
			check("attestationEnforcement", before.AttestationEnforcement, after.AttestationEnforcement),
			check("enforcementType", before.KeyRestrictions.EnforcementType, after.KeyRestrictions.EnforcementType))
	}
	for _, collection := range []string{"includeTargets", "excludeTargets"} {
		for _, it := range w.pair(collection) {
			before := ""
			if it.hasBase {
				before = includeTargetView(it.base).TargetType
			}
			errs = append(errs, check("targetType", before, includeTargetView(it.next).TargetType))
		}
	}
	return firstError(errs)
}

// ruleDefaultProfile: the default profile cannot be deleted (resource page:
// "The non-deletable baseline passkey profile") or renamed (Microsoft
// support material), and which profile is the default cannot be changed
// (our inference: re-pointing would make the baseline deletable).
func ruleDefaultProfile(w *fido2Write) *graphError {
	before, after := w.baseView.DefaultPasskeyProfile, w.nextView.DefaultPasskeyProfile
	if before == "" {
		if after != "" {
			return ruleError("The property 'defaultPasskeyProfile' cannot be changed; the tenant has no default passkey profile.")
		}
		return nil
	}
	if !strings.EqualFold(before, after) {
		return ruleError("The property 'defaultPasskeyProfile' cannot be changed; the default passkey profile is '%s'.", before)
	}
	next := w.next.objects("passkeyProfiles")
	i := findByID(next, before)
	if i < 0 {
		return ruleError("The default passkey profile '%s' cannot be deleted.", before)
	}
	if j := findByID(w.base.objects("passkeyProfiles"), before); j >= 0 {
		if old := w.base.objects("passkeyProfiles")[j].str("name"); old != "" && next[i].str("name") != old {
			return ruleError(msgRenameDefault)
		}
	}
	return nil
}

// ruleAttestationWithSynced: synced passkeys carry no attestation, so a
// write that sets a profile's attestation or passkey types such that it
// enforces attestation while allowing synced passkeys is refused — unless
// Behavior.AttestationWithSynced allows it: whether Entra refuses such a
// write is unknown (the portal drops Synced when attestation is turned on,
// and a migrated tenant can hold the state).
func ruleAttestationWithSynced(w *fido2Write) *graphError {
	if w.behavior.AttestationWithSynced == Allow {
		return nil
	}
	for _, it := range w.pair("passkeyProfiles") {
		p := profileView(it.next)
		if p.AttestationEnforcement != AttestationRegistrationOnly || !slices.Contains(splitFlags(p.PasskeyTypes), PasskeyTypeSynced) {
			continue
		}
		if it.hasBase {
			before := profileView(it.base)
			if before.AttestationEnforcement == p.AttestationEnforcement && flagsSet(before.PasskeyTypes) == flagsSet(p.PasskeyTypes) {
				continue // held already, not written anew
			}
		}
		return ruleError("Passkey profile '%s': attestation can be enforced only when passkeyTypes is 'deviceBound' alone; synced passkeys do not support attestation.", p.ID)
	}
	return nil
}

// ruleProfileInUse: a profile can be removed only when no include target
// names it (how-to "Delete a passkey profile": "You can delete a profile
// only if it's not assigned to a group of users").
func ruleProfileInUse(w *fido2Write) *graphError {
	next := w.next.objects("passkeyProfiles")
	for _, p := range w.baseView.PasskeyProfiles {
		if findByID(next, p.ID) >= 0 {
			continue
		}
		for _, t := range w.nextView.IncludeTargets {
			if slices.ContainsFunc(t.AllowedPasskeyProfiles, func(id string) bool { return strings.EqualFold(id, p.ID) }) {
				return ruleError("Passkey profile '%s' cannot be deleted while include target '%s' allows it; remove it from the target first.", p.ID, t.ID)
			}
		}
	}
	return nil
}

// ruleIncludeTargets: an include target the write adds or changes is all
// users or an object id, and names at least one existing passkey profile
// (Entra's verbatim refusal when it names none). A profile the same write
// creates exists for this rule only under SamePatchReference allow. In a
// tenant without passkey profiles (never migrated) targets name none.
func ruleIncludeTargets(w *fido2Write) *graphError {
	profiles := w.next.objects("passkeyProfiles")
	usesProfiles := w.nextView.DefaultPasskeyProfile != "" || len(profiles) > 0
	exists := func(id string) bool {
		if findByID(profiles, id) < 0 {
			return false
		}
		return !w.isNewProfile(id) || w.behavior.SamePatchReference == Allow
	}
	for _, it := range w.pair("includeTargets") {
		if !it.changed() {
			continue
		}
		t := includeTargetView(it.next)
		if t.ID != AllUsers && !isGUID(t.ID) {
			return ruleError("Include target id '%s' is neither '%s' nor an object id.", t.ID, AllUsers)
		}
		if !usesProfiles && len(t.AllowedPasskeyProfiles) == 0 {
			continue
		}
		var unknown []string
		for _, id := range t.AllowedPasskeyProfiles {
			if !exists(id) {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) == len(t.AllowedPasskeyProfiles) {
			return ruleError(msgIncludeTargetWithoutProfile)
		}
		if len(unknown) > 0 {
			return ruleError("Include target '%s' references passkey profile '%s', which does not exist.", t.ID, unknown[0])
		}
	}
	return nil
}

// ruleExcludeTargets: an exclude target the write adds or changes is an
// object id.
func ruleExcludeTargets(w *fido2Write) *graphError {
	for _, it := range w.pair("excludeTargets") {
		if id := it.next.str("id"); it.changed() && !isGUID(id) {
			return ruleError("Exclude target id '%s' is not an object id.", id)
		}
	}
	return nil
}

// rulePolicySize: the passkey (FIDO2) policy is at most 20 KB, measured as
// the stored document's compact JSON. A write that does not grow a policy
// already over the limit is not refused for it.
func rulePolicySize(w *fido2Write) *graphError {
	n := len(w.next.bytes())
	if n > maxPolicyBytes && n > len(w.base.bytes()) {
		return ruleError(msgPolicySize, n-maxPolicyBytes)
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
