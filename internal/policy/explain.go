package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Group is a group a user belongs to, directly or through other groups.
type Group struct {
	ID   string
	Name string
}

// Explanation is what a fido2 document means for one user: whether the
// passkey method applies to them, through which targets and profiles, and
// what they may register. Lists are in the document's order.
type Explanation struct {
	// Enabled is whether the method's State is enabled.
	Enabled bool
	// InScope is whether passkeys apply to the user: the method is enabled,
	// an include target matches and no exclude target does.
	InScope bool
	// Reason says why the user is in or out of scope, naming the targets.
	Reason string
	// Included and Excluded are the targets that match the user, whatever
	// the outcome: an exclusion is shown beside the inclusions it beats.
	Included []MatchedTarget
	Excluded []MatchedTarget

	// The rest is what applies to the user: out of scope, no profile, no
	// passkey type and no authenticator.

	// Profiles are the profiles the matching include targets name, once
	// each. MissingProfiles are ids they name that the document does not
	// hold; only Profile.ID is set in those.
	Profiles        []ProfileInScope
	MissingProfiles []ProfileInScope
	// PasskeyTypes the user may register: the union over Profiles, since
	// any one profile suffices; deviceBound before synced, as Graph orders
	// them.
	PasskeyTypes []string
	// AttestationRequired is true when every profile enforces attestation:
	// a passkey that one non-enforcing profile allows registers without it.
	AttestationRequired bool
	// AttestationEnforcedBy names the profiles that enforce attestation.
	AttestationEnforcedBy []string
	// Authenticators combines the key restrictions of Profiles.
	Authenticators Authenticators
	// RegistrationRequiredBy names the matching include targets that
	// require the user to register a passkey.
	RegistrationRequiredBy []string

	// Notes are things a person should know that change no field above,
	// such as self-service registration being off.
	Notes []string
}

// MatchedTarget is a target that matches the user.
type MatchedTarget struct {
	Target Target
	// Label names the target for people: "all users", "user <id>",
	// "group <name>" (its id when the name is not known).
	Label string
}

// ProfileInScope is a profile that applies to the user.
type ProfileInScope struct {
	Profile Profile
	// Through are the labels of the include targets that bring it in.
	Through []string
	// Authenticators are this profile's own key restrictions.
	Authenticators Authenticators
}

// Authenticators says which authenticators, by AAGUID, may be registered.
// The zero value allows any authenticator.
type Authenticators struct {
	// OnlyListed: only the listed AAGUIDs may be registered (an allow-list);
	// otherwise any authenticator except the listed ones (a block-list).
	OnlyListed bool
	AAGUIDs    []string
}

// Explain says what the fido2 document p means for the user with the id,
// who is a member of groups. groups must be all the user's groups,
// transitively (Graph's transitiveMemberOf): Explain does not resolve
// nesting, it takes the list as given.
func Explain(p Policy, userID string, groups []Group) Explanation {
	user := newMember(userID, groups)
	e := Explanation{
		Enabled:  p.State == StateEnabled,
		Included: user.matching(p.IncludeTargets),
		Excluded: user.matching(p.ExcludeTargets),
	}
	e.InScope, e.Reason = e.scope(p.State)
	if e.InScope {
		e.Profiles, e.MissingProfiles = profilesInScope(p.Profiles, e.Included)
		e.RegistrationRequiredBy = registrationRequiredBy(e.Included)
	}
	e.PasskeyTypes = unionPasskeyTypes(e.Profiles)
	e.AttestationRequired, e.AttestationEnforcedBy = attestation(e.Profiles)
	e.Authenticators = combineAuthenticators(e.Profiles)
	e.Notes = e.notes(p)
	return e
}

// member is the user as targets see them: their id and their groups.
type member struct {
	userID string
	groups idSet
	// names maps a group id (lower case) to its display name.
	names labeler
}

func newMember(userID string, groups []Group) member {
	m := member{userID: userID, groups: idSet{}, names: labeler{}}
	for _, g := range groups {
		m.groups.add(g.ID)
		if g.Name != "" {
			m.names[strings.ToLower(g.ID)] = g.Name
		}
	}
	return m
}

// matches says whether the target names the user: a user target by the
// user's id, a group target by one of their groups or AllUsers.
func (m member) matches(t Target) bool {
	if t.TargetType == TargetTypeUser {
		return sameID(t.ID, m.userID)
	}
	return sameID(t.ID, AllUsers) || m.groups.has(t.ID)
}

func (m member) matching(targets []Target) []MatchedTarget {
	var out []MatchedTarget
	for _, t := range targets {
		if m.matches(t) {
			out = append(out, MatchedTarget{Target: t, Label: m.label(t)})
		}
	}
	return out
}

func (m member) label(t Target) string {
	switch {
	case t.TargetType == TargetTypeUser:
		return "user " + t.ID
	case sameID(t.ID, AllUsers):
		return "all users"
	default:
		return "group " + cmp.Or(m.names[strings.ToLower(t.ID)], t.ID)
	}
}

// scope decides InScope and its Reason. A disabled method is named first,
// as it keeps everyone out; then exclusion, which beats every inclusion.
func (e Explanation) scope(state string) (bool, string) {
	switch {
	case !e.Enabled:
		return false, "the passkey (FIDO2) method is " + cmp.Or(state, "in an unknown state")
	case len(e.Excluded) > 0:
		return false, "excluded by " + JoinWords(labels(e.Excluded))
	case len(e.Included) == 0:
		return false, "no include target names the user or one of their groups"
	default:
		return true, "included by " + JoinWords(labels(e.Included))
	}
}

func labels(targets []MatchedTarget) []string {
	var out []string
	for _, t := range targets {
		out = append(out, t.Label)
	}
	return out
}

// profilesInScope returns the profiles the included targets name, in the
// document's order, and those it does not hold, in the targets' order.
func profilesInScope(profiles []Profile, included []MatchedTarget) (found, missing []ProfileInScope) {
	through := map[string][]string{} // profile id (lower case) → target labels
	var named []string               // profile ids as first named
	for _, t := range included {
		for _, id := range t.Target.AllowedPasskeyProfiles {
			key := strings.ToLower(id)
			if _, seen := through[key]; !seen {
				named = append(named, id)
			}
			if !slices.Contains(through[key], t.Label) {
				through[key] = append(through[key], t.Label)
			}
		}
	}
	for _, p := range profiles {
		if targets, ok := through[strings.ToLower(p.ID)]; ok {
			found = append(found, ProfileInScope{Profile: p, Through: targets, Authenticators: profileAuthenticators(p.KeyRestrictions)})
		}
	}
	for _, id := range named {
		if findProfile(profiles, id) < 0 {
			missing = append(missing, ProfileInScope{Profile: Profile{ID: id}, Through: through[strings.ToLower(id)]})
		}
	}
	return found, missing
}

// graphPasskeyTypes is Graph's order of the passkeyTypes members.
var graphPasskeyTypes = []string{PasskeyDeviceBound, PasskeySynced}

// unionPasskeyTypes lists each type some profile allows, in Graph's order;
// members this code does not know come last, as first seen.
func unionPasskeyTypes(profiles []ProfileInScope) []string {
	var out []string
	for _, p := range profiles {
		for _, t := range p.Profile.PasskeyTypes {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	rank := func(t string) int {
		if i := slices.Index(graphPasskeyTypes, t); i >= 0 {
			return i
		}
		return len(graphPasskeyTypes)
	}
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
	return out
}

// attestation is required only when every profile enforces it: any one
// profile suffices, so a passkey a non-enforcing profile allows registers
// without attestation.
func attestation(profiles []ProfileInScope) (required bool, enforcedBy []string) {
	for _, p := range profiles {
		if p.Profile.AttestationEnforcement == AttestationRegistrationOnly {
			enforcedBy = append(enforcedBy, profileLabel(p.Profile))
		}
	}
	return len(profiles) > 0 && len(enforcedBy) == len(profiles), enforcedBy
}

func profileLabel(p Profile) string { return cmp.Or(p.Name, p.ID) }

// profileAuthenticators reads one profile's key restrictions. A list that is
// not enforced counts as none, as Entra stores it without applying it; so
// does an enforcement type this code does not know, as it cannot say what
// that type allows.
func profileAuthenticators(k KeyRestrictions) Authenticators {
	if !k.IsEnforced || (k.EnforcementType != EnforcementAllow && k.EnforcementType != EnforcementBlock) {
		return Authenticators{}
	}
	return Authenticators{OnlyListed: k.EnforcementType == EnforcementAllow, AAGUIDs: uniqueIDs(nil, k.AAGUIDs)}
}

// combineAuthenticators says which authenticators at least one profile
// allows, since any one profile suffices:
//   - every profile has an allow-list: only the union of the lists (none
//     at all when no profile is in scope);
//   - otherwise any authenticator except those every profile forbids: an
//     AAGUID on every block-list and on no allow-list. A profile without
//     restrictions forbids nothing, so then any authenticator at all.
//
// It looks at authenticators alone: whether one profile allows both the
// authenticator and the passkey type is in each profile's own rules.
func combineAuthenticators(profiles []ProfileInScope) Authenticators {
	var allowed []string
	var blockLists [][]string
	for _, p := range profiles {
		if p.Authenticators.OnlyListed {
			allowed = uniqueIDs(allowed, p.Authenticators.AAGUIDs)
		} else {
			blockLists = append(blockLists, p.Authenticators.AAGUIDs)
		}
	}
	if len(blockLists) == 0 {
		return Authenticators{OnlyListed: true, AAGUIDs: allowed}
	}
	var forbidden []string
	for _, id := range blockLists[0] {
		if everyListHolds(blockLists, id) && !slices.ContainsFunc(allowed, sameIDAs(id)) {
			forbidden = append(forbidden, id)
		}
	}
	return Authenticators{AAGUIDs: forbidden}
}

func everyListHolds(lists [][]string, id string) bool {
	return !slices.ContainsFunc(lists, func(list []string) bool { return !slices.ContainsFunc(list, sameIDAs(id)) })
}

func sameIDAs(id string) func(string) bool {
	return func(other string) bool { return sameID(id, other) }
}

// uniqueIDs appends the ids to list, leaving out those it already holds in
// any case.
func uniqueIDs(list, ids []string) []string {
	for _, id := range ids {
		if !slices.ContainsFunc(list, sameIDAs(id)) {
			list = append(list, id)
		}
	}
	return list
}

// Any says whether every authenticator may be registered.
func (a Authenticators) Any() bool { return !a.OnlyListed && len(a.AAGUIDs) == 0 }

func (a Authenticators) String() string {
	switch {
	case a.Any():
		return "any authenticator"
	case a.OnlyListed && len(a.AAGUIDs) == 0:
		return "no authenticator"
	case a.OnlyListed:
		return "only authenticators " + JoinWords(a.AAGUIDs)
	default:
		return "any authenticator except " + JoinWords(a.AAGUIDs)
	}
}

func (a Authenticators) equal(b Authenticators) bool {
	return a.OnlyListed == b.OnlyListed && equalSets(a.AAGUIDs, b.AAGUIDs)
}

// registrationRequiredBy names the included targets that require
// registration. Only include targets can: the user is in scope, so no
// exclude target matches.
func registrationRequiredBy(included []MatchedTarget) []string {
	var out []string
	for _, t := range included {
		if t.Target.IsRegistrationRequired {
			out = append(out, t.Label)
		}
	}
	return out
}

// notes are the sentences for what the fields do not show by themselves.
func (e Explanation) notes(p Policy) []string {
	var out []string
	if p.SelfServiceRegistration != nil && !*p.SelfServiceRegistration {
		out = append(out, "self-service registration is off: the user cannot register a passkey in My Security Info themselves")
	}
	for _, m := range e.MissingProfiles {
		out = append(out, JoinWords(m.Through)+" names passkey profile "+m.Profile.ID+", which the tenant does not hold")
	}
	if e.InScope && len(e.Profiles) == 0 && len(e.MissingProfiles) == 0 {
		note := "the targets that include the user name no passkey profiles"
		if len(p.Profiles) == 0 && p.DefaultProfileID == "" {
			note += "; the tenant has not been moved to passkey profiles yet"
		}
		out = append(out, note)
	}
	return out
}

// Changes says, in plain sentences, what changes for the user from e (the
// explanation before) to next, in a fixed order: scope, profiles, passkey types, attestation,
// authenticators, registration, notes. What applies to the user is
// compared only while they stay in scope: a change of scope says it all.
func (e Explanation) Changes(next Explanation) []string {
	var out []string
	switch {
	case e.InScope != next.InScope:
		out = append(out, "now "+scopeWords(next.InScope)+": "+next.Reason)
	case e.Reason != next.Reason:
		out = append(out, "still "+scopeWords(next.InScope)+": "+next.Reason)
	}
	if e.InScope && next.InScope {
		out = append(out, e.profileChanges(next)...)
		out = append(out, addedAndGone(e.PasskeyTypes, next.PasskeyTypes, "may now register %s passkeys", "may no longer register %s passkeys")...)
		out = append(out, e.ruleChanges(next)...)
	}
	out = append(out, addedAndGone(e.Notes, next.Notes, "new note: %s", "note gone: %s")...)
	return out
}

func (e Explanation) profileChanges(next Explanation) []string {
	var out []string
	for _, p := range e.Profiles {
		if !slices.ContainsFunc(next.Profiles, sameProfileAs(p)) {
			out = append(out, "profile "+profileLabel(p.Profile)+" no longer applies")
		}
	}
	for _, p := range next.Profiles {
		if !slices.ContainsFunc(e.Profiles, sameProfileAs(p)) {
			out = append(out, "profile "+profileLabel(p.Profile)+" now applies, through "+JoinWords(p.Through))
		}
	}
	return out
}

func sameProfileAs(p ProfileInScope) func(ProfileInScope) bool {
	return func(other ProfileInScope) bool { return sameID(p.Profile.ID, other.Profile.ID) }
}

func scopeWords(inScope bool) string {
	if inScope {
		return "in scope"
	}
	return "out of scope"
}

// ruleChanges compares attestation, authenticators and registration.
func (e Explanation) ruleChanges(next Explanation) []string {
	var out []string
	switch {
	case next.AttestationRequired && !e.AttestationRequired:
		out = append(out, "attestation now required")
	case e.AttestationRequired && !next.AttestationRequired:
		out = append(out, "attestation no longer required")
	}
	if !e.Authenticators.equal(next.Authenticators) {
		out = append(out, "may now register "+next.Authenticators.String())
	}
	switch {
	case len(next.RegistrationRequiredBy) == 0 && len(e.RegistrationRequiredBy) > 0:
		out = append(out, "registration no longer required")
	case len(next.RegistrationRequiredBy) > 0 && !slices.Equal(e.RegistrationRequiredBy, next.RegistrationRequiredBy):
		out = append(out, "registration now required by "+JoinWords(next.RegistrationRequiredBy))
	}
	return out
}

// addedAndGone says, through the formats, which values next has and prev
// had not, then which prev had and next has not.
func addedAndGone(prev, next []string, addedFormat, goneFormat string) []string {
	var out []string
	for _, v := range next {
		if !slices.Contains(prev, v) {
			out = append(out, fmt.Sprintf(addedFormat, v))
		}
	}
	for _, v := range prev {
		if !slices.Contains(next, v) {
			out = append(out, fmt.Sprintf(goneFormat, v))
		}
	}
	return out
}
