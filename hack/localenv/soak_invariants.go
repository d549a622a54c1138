package main

// The fault soak's invariants, as pure functions of what it observed: the
// tenants' stored documents, the emulator's request logs, the resources,
// log lines. soak_invariants_test.go tests each on hand-made cases.

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// graphFido2Path is the Graph path of the passkey policy, as the emulator logs it.
const graphFido2Path = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2"

// duplicateProfileNames lists the names that more than one profile of the
// document carries. The operator creates profiles by name and adopts them
// by name after a crash, so a duplicate means it created one twice.
func duplicateProfileNames(doc emulator.Fido2Document) []string {
	seen := map[string]int{}
	for _, p := range doc.PasskeyProfiles {
		seen[p.Name]++
	}
	var dups []string
	for name, n := range seen {
		if n > 1 {
			dups = append(dups, name)
		}
	}
	sort.Strings(dups)
	return dups
}

// The kinds of item a portal edit adds behind the operator's back.
const (
	itemProfile       = "profile"
	itemIncludeTarget = "include target"
	itemExcludeTarget = "exclude target"
)

// portalItem is a profile or target a portal edit added and no resource
// declares. Under Merge the operator must keep it.
type portalItem struct {
	kind string
	id   string
	// version is the policy version the portal edit wrote.
	version uint64
	at      time.Time
}

func (it portalItem) String() string {
	return fmt.Sprintf("%s %s (added by a portal edit at %s, version %d)", it.kind, it.id, it.at.Format("15:04:05.000"), it.version)
}

// presentIn says whether the document still holds the item.
func (it portalItem) presentIn(doc emulator.Fido2Document) bool {
	switch it.kind {
	case itemProfile:
		return slices.ContainsFunc(doc.PasskeyProfiles, func(p emulator.PasskeyProfile) bool { return strings.EqualFold(p.ID, it.id) })
	case itemIncludeTarget:
		return slices.ContainsFunc(doc.IncludeTargets, func(t emulator.IncludeTarget) bool { return strings.EqualFold(t.ID, it.id) })
	default:
		return slices.ContainsFunc(doc.ExcludeTargets, func(t emulator.ExcludeTarget) bool { return strings.EqualFold(t.ID, it.id) })
	}
}

// raceWindow is the documented last-writer-wins window: an operator PATCH
// that wrote a document read before a portal edit, after that edit.
type raceWindow struct {
	read, write emulator.RequestRecord
}

func (w raceWindow) String() string {
	return fmt.Sprintf("GET %s–%s read version %d, PATCH %s–%s wrote version %d",
		w.read.Start.Format("15:04:05.000"), w.read.End.Format("15:04:05.000"), w.read.Version,
		w.write.Start.Format("15:04:05.000"), w.write.End.Format("15:04:05.000"), w.write.Version)
}

// overwriteExcuse looks in a tenant's Graph requests for what excuses losing
// an item that a portal edit added at version edited and that was found
// missing at version seen: a PATCH that wrote a version in (edited, seen]
// from a GET that read a version before edited — the portal edit landed
// between the operator's read and its write, and the last writer won.
// Versions order reads and writes exactly; the times are for the report.
// Each PATCH is taken to build on the last GET that started before it,
// as a pass does: it reads, then writes, then reads back before a second
// write. Without such a PATCH the operator removed an item it had read,
// which Merge forbids.
func overwriteExcuse(requests []emulator.RequestRecord, edited, seen uint64) (raceWindow, bool) {
	var fido2 []emulator.RequestRecord
	for _, r := range requests {
		if r.Path == graphFido2Path {
			fido2 = append(fido2, r)
		}
	}
	// The log is in the order requests ended; a pass's order is the order
	// they started.
	sort.SliceStable(fido2, func(i, j int) bool { return fido2[i].Start.Before(fido2[j].Start) })
	var lastRead *emulator.RequestRecord
	for i, r := range fido2 {
		switch {
		case r.Method == "GET" && r.Status == 200:
			lastRead = &fido2[i]
		case r.Method == "PATCH" && r.Status == 204 && r.Version > edited && r.Version <= seen:
			if lastRead != nil && lastRead.Version < edited {
				return raceWindow{read: *lastRead, write: r}, true
			}
		}
	}
	return raceWindow{}, false
}

// expectedProfile is a PasskeyProfile as the document should show it.
type expectedProfile struct {
	ref string // "namespace/name", for messages
	// name is the profile's name in Entra; empty for the default profile,
	// which is found by the document's defaultPasskeyProfile instead.
	name         string
	isDefault    bool
	passkeyTypes []string // Graph's spelling, sorted
	attestation  string   // Graph's spelling
}

// expectedTarget is a GroupAssignment as the document should show it.
type expectedTarget struct {
	ref                  string
	id                   string
	exclude              bool
	registrationRequired bool
	// profiles are the resource names of the profiles it allows.
	profiles []string
}

// expectation is what one tenant's resources declare, and what the soak
// removed, as the converged document must show it.
type expectation struct {
	authoritative bool
	// profiles are keyed by resource name, as assignments name them.
	profiles map[string]expectedProfile
	targets  []expectedTarget
	// retiredNames and retiredTargets were profile names and target ids of
	// resources since deleted, renamed or moved: they must be gone.
	retiredNames, retiredTargets []string
}

// expectationOf reads what the resources declare. groups maps the tenant's
// group display names to ids; everNames and everTargets are every profile
// name and target id the soak's resources ever had.
func expectationOf(authoritative bool, profiles []passkeysv1alpha1.PasskeyProfile, assignments []passkeysv1alpha1.GroupAssignment,
	groups map[string]string, everNames, everTargets map[string]bool) expectation {
	want := expectation{authoritative: authoritative, profiles: map[string]expectedProfile{}}
	liveNames, liveTargets := map[string]bool{}, map[string]bool{}
	for _, p := range profiles {
		e := expectedProfile{ref: p.Namespace + "/" + p.Name, isDefault: p.Spec.Default, attestation: "disabled"}
		if !p.Spec.Default {
			e.name = entraProfileName(p)
			liveNames[e.name] = true
		}
		for _, t := range p.Spec.PasskeyTypes {
			e.passkeyTypes = append(e.passkeyTypes, graphPasskeyType(t))
		}
		sort.Strings(e.passkeyTypes)
		if p.Spec.Attestation == passkeysv1alpha1.AttestationRegistrationOnly {
			e.attestation = "registrationOnly"
		}
		want.profiles[p.Name] = e
	}
	for _, a := range assignments {
		t := expectedTarget{ref: a.Namespace + "/" + a.Name, exclude: a.Spec.Mode == passkeysv1alpha1.AssignmentExclude,
			registrationRequired: a.Spec.RegistrationRequired, profiles: a.Spec.Profiles}
		switch {
		case a.Spec.Target.AllUsers != nil:
			t.id = emulator.AllUsers
		case a.Spec.Target.GroupName != "":
			t.id = groups[a.Spec.Target.GroupName]
		default:
			t.id = strings.ToLower(a.Spec.Target.GroupID)
		}
		liveTargets[t.id] = true
		want.targets = append(want.targets, t)
	}
	for name := range everNames {
		if !liveNames[name] {
			want.retiredNames = append(want.retiredNames, name)
		}
	}
	for id := range everTargets {
		if !liveTargets[id] {
			want.retiredTargets = append(want.retiredTargets, id)
		}
	}
	sort.Strings(want.retiredNames)
	sort.Strings(want.retiredTargets)
	return want
}

// entraProfileName is a non-default profile's name in Entra.
func entraProfileName(p passkeysv1alpha1.PasskeyProfile) string {
	if p.Spec.DisplayName != "" {
		return p.Spec.DisplayName
	}
	return p.Name
}

func graphPasskeyType(t passkeysv1alpha1.PasskeyType) string {
	if t == passkeysv1alpha1.PasskeySynced {
		return emulator.PasskeyTypeSynced
	}
	return emulator.PasskeyTypeDeviceBound
}

// documentMismatches lists where the document differs from what the
// resources declare: a profile or target missing or different, something
// removed still there, and under Authoritative anything undeclared. It is
// written without the operator's policy code, to check it from outside.
func documentMismatches(doc emulator.Fido2Document, want expectation) []string {
	var out []string
	profileID := map[string]string{} // resource name → Entra id
	declaredIDs := map[string]bool{doc.DefaultPasskeyProfile: true}
	byName := map[string]emulator.PasskeyProfile{}
	for _, p := range doc.PasskeyProfiles {
		byName[p.Name] = p
	}
	for _, resource := range slices.Sorted(maps.Keys(want.profiles)) {
		e := want.profiles[resource]
		var got emulator.PasskeyProfile
		var ok bool
		if e.isDefault {
			i := slices.IndexFunc(doc.PasskeyProfiles, func(p emulator.PasskeyProfile) bool { return p.ID == doc.DefaultPasskeyProfile })
			if ok = i >= 0; ok {
				got = doc.PasskeyProfiles[i]
			}
		} else {
			got, ok = byName[e.name]
		}
		if !ok {
			out = append(out, fmt.Sprintf("profile %s (%q) is missing", e.ref, e.name))
			continue
		}
		profileID[resource] = got.ID
		declaredIDs[got.ID] = true
		types := strings.Split(got.PasskeyTypes, ",")
		sort.Strings(types)
		if !slices.Equal(types, e.passkeyTypes) {
			out = append(out, fmt.Sprintf("profile %s has passkeyTypes %s, want %s", e.ref, got.PasskeyTypes, strings.Join(e.passkeyTypes, ",")))
		}
		if got.AttestationEnforcement != e.attestation {
			out = append(out, fmt.Sprintf("profile %s has attestationEnforcement %s, want %s", e.ref, got.AttestationEnforcement, e.attestation))
		}
	}
	declaredTargets := map[string]bool{}
	for _, t := range want.targets {
		declaredTargets[t.id] = true
		include := slices.IndexFunc(doc.IncludeTargets, func(it emulator.IncludeTarget) bool { return strings.EqualFold(it.ID, t.id) })
		exclude := slices.ContainsFunc(doc.ExcludeTargets, func(et emulator.ExcludeTarget) bool { return strings.EqualFold(et.ID, t.id) })
		// A group both included and excluded is excluded: its users
		// cannot use passkeys, whatever the assignment says.
		switch {
		case t.exclude && !exclude:
			out = append(out, fmt.Sprintf("assignment %s: %s is not an exclude target", t.ref, t.id))
		case t.exclude && include >= 0:
			out = append(out, fmt.Sprintf("assignment %s: %s is an exclude target but also an include target no resource declares", t.ref, t.id))
		case !t.exclude && include < 0:
			out = append(out, fmt.Sprintf("assignment %s: %s is not an include target", t.ref, t.id))
		case !t.exclude && exclude:
			out = append(out, fmt.Sprintf("assignment %s: %s is an include target but also an exclude target no resource declares, so its users cannot use passkeys", t.ref, t.id))
		}
		if t.exclude || include < 0 || exclude {
			continue
		}
		got := doc.IncludeTargets[include]
		if got.IsRegistrationRequired != t.registrationRequired {
			out = append(out, fmt.Sprintf("assignment %s: isRegistrationRequired %v, want %v", t.ref, got.IsRegistrationRequired, t.registrationRequired))
		}
		var wantIDs []string
		for _, p := range t.profiles {
			wantIDs = append(wantIDs, profileID[p])
		}
		gotIDs := slices.Clone(got.AllowedPasskeyProfiles)
		sort.Strings(wantIDs)
		sort.Strings(gotIDs)
		if !slices.Equal(gotIDs, wantIDs) {
			out = append(out, fmt.Sprintf("assignment %s: allowedPasskeyProfiles %v, want the ids of %v (%v)", t.ref, gotIDs, t.profiles, wantIDs))
		}
	}
	for _, name := range want.retiredNames {
		if _, ok := byName[name]; ok {
			out = append(out, fmt.Sprintf("profile %q is still there, though no resource declares it any more", name))
		}
	}
	for _, id := range want.retiredTargets {
		if hasTarget(doc, id) {
			out = append(out, fmt.Sprintf("target %s is still there, though no resource declares it any more", id))
		}
	}
	if want.authoritative {
		for _, p := range doc.PasskeyProfiles {
			if !declaredIDs[p.ID] {
				out = append(out, fmt.Sprintf("Authoritative, yet undeclared profile %q (%s) is there", p.Name, p.ID))
			}
		}
		for _, id := range targetIDs(doc) {
			if !declaredTargets[id] {
				out = append(out, fmt.Sprintf("Authoritative, yet undeclared target %s is there", id))
			}
		}
	}
	return out
}

func hasTarget(doc emulator.Fido2Document, id string) bool {
	return slices.ContainsFunc(targetIDs(doc), func(t string) bool { return strings.EqualFold(t, id) })
}

func targetIDs(doc emulator.Fido2Document) []string {
	var ids []string
	for _, t := range doc.IncludeTargets {
		ids = append(ids, strings.ToLower(t.ID))
	}
	for _, t := range doc.ExcludeTargets {
		ids = append(ids, strings.ToLower(t.ID))
	}
	return ids
}

// notConverged lists what keeps one tenant's resources from being done:
// not Ready at their generation, or still being deleted. Nil means done.
func notConverged(statuses []resourceStatus, deleting []string) []string {
	var out []string
	for _, r := range statuses {
		if ready, text := r.summary(); !ready {
			out = append(out, r.ref+": "+text)
		}
	}
	for _, ref := range deleting {
		out = append(out, ref+": still being deleted")
	}
	return out
}

// countRequests counts a tenant's requests of one method to one path that
// started in [from, to).
func countRequests(requests []emulator.RequestRecord, method, path string, from, to time.Time) int {
	n := 0
	for _, r := range requests {
		if r.Method == method && r.Path == path && !r.Start.Before(from) && r.Start.Before(to) {
			n++
		}
	}
	return n
}

// The budget for one tenant's fido2 GETs in one minute. A healthy pass
// reads once and reads back after each of at most two PATCHes; passes come
// from the resync (at most three start in a minute at a 30s interval) and
// from triggers (resource edits, forced passes, a manager starting, the API
// server coming back). A calm minute — no Graph fault on the tenant and no
// API server outage in it or the half minute before — adds two retries: the
// first retry of a failure from before the minute, which succeeds, and one
// of a pass that failed on a conflict with a concurrent edit. So it allows
// getsPerPass × (resyncStarts + triggers + 2). A disturbed minute adds
// more: the SDK attempts a GET up to four times (it retries 429, 503 and
// 504 three times), and a failed pass is retried — after Retry-After or a
// second when throttled, else with controller-runtime's exponential
// backoff from 5ms, of which about fourteen steps fit in a minute. A pass
// that queues itself again without waiting, or a status write that
// triggers the next pass, exceeds the calm budget within a minute; only a
// loop without any backoff exceeds the disturbed one.
const (
	getsPerPass       = 3
	attemptsPerGet    = 4
	resyncStarts      = 3
	calmRetries       = 2
	failedPassRetries = 14
	// calmLookback is how long before a minute a fault or an outage still
	// disturbs it: its SDK retries are over within 10s, and its backoff
	// has at most one retry left.
	calmLookback = 30 * time.Second
)

func minuteBudget(triggers int, calm bool) int {
	if calm {
		return getsPerPass * (resyncStarts + triggers + calmRetries)
	}
	return getsPerPass * attemptsPerGet * (resyncStarts + triggers + failedPassRetries)
}

// span is a stretch of time: a fault window, an API server outage.
type span struct{ from, to time.Time }

// overlaps says whether any of spans meets [from, to).
func overlaps(spans []span, from, to time.Time) bool {
	return slices.ContainsFunc(spans, func(s span) bool { return s.from.Before(to) && s.to.After(from) })
}

// quietBudget bounds a converged tenant's fido2 GETs in a quiet window
// after the final forced pass, with nothing to do but resync: passes come
// at least one resync interval apart (the jitter only adds), so at most
// ⌊window / resync⌋ + 1; and at least one once the window outlasts an
// interval and its jitter, or the resync has stopped.
func quietBudget(window, resync time.Duration) (least, most int) {
	if window > resync+resync/10 {
		least = 1
	}
	return least, int(window/resync) + 1
}

// secretPatterns find access tokens in a line: a JWT (the header and
// payload of every Entra token start with "eyJ", base64 for `{"`) and an
// Authorization header's value.
var secretPatterns = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a JWT", regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}`)},
	{"a bearer token", regexp.MustCompile(`(?i)bearer[ :=]+[A-Za-z0-9._~+/-]{20,}`)},
}

// secretsIn says which secrets a line shows: the client secret itself, or
// an access token.
func secretsIn(line, clientSecret string) []string {
	var found []string
	if clientSecret != "" && strings.Contains(line, clientSecret) {
		found = append(found, "the client secret")
	}
	for _, p := range secretPatterns {
		if p.re.MatchString(line) {
			found = append(found, p.what)
		}
	}
	return found
}

// percentile is the p-th percentile (0–100) of ds by the nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}
