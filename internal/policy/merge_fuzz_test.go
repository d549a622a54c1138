package policy

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzMerge generates a valid observed document and a set of resources from
// the fuzz input, runs the controller's pipeline and checks Merge's
// promises:
//
//	(a) under Merge, every profile and target no resource declares survives
//	    unchanged (Extra included) and in its order;
//	(b) diffing the merged document again finds no drift for any Enforce,
//	    non-suspended, problem-free resource;
//	(c) the merged document passes the Entra rules;
//	(d) merging again changes nothing, and Merge does not touch its input;
//	(e) under Authoritative, what no resource declares is gone, unless it is
//	    the default or a target still allows it;
//	(f) what a Report, suspended or orphaned resource owns is left exactly;
//	(g) the read-back of the merged document moves no profile id.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("passkey profiles"))
	f.Add([]byte{3, 1, 2, 0, 1, 1, 1, 0, 3, 2, 1, 0, 4, 4, 4, 4, 1, 1, 0, 2, 3, 0, 1, 1, 1, 1, 2, 2, 2})
	f.Add([]byte{255, 254, 253, 252, 251, 250, 249, 248, 247, 246, 245, 244, 243, 242, 241, 240})
	seq := make([]byte, 256)
	for i := range seq {
		seq[i] = byte(i * 7)
	}
	f.Add(seq)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{data: data}
		observed := r.observed()
		if problems := Validate(observed, observed); len(problems) > 0 {
			t.Fatalf("generator made an invalid observed document: %v", problems)
		}
		tenant, profiles, assignments := r.tenant(), r.profiles(), r.assignments()
		before := observed.Clone()

		ids := AssignProfileIDs(profiles, observed)
		desired := Build(tenant, profiles, assignments, ids)
		next, report := Merge(observed, desired)

		if !reflect.DeepEqual(observed, before) {
			t.Fatalf("Merge changed its input")
		}
		if problems := Validate(observed, next); len(problems) > 0 {
			t.Fatalf("(c) merged document breaks Entra rules: %v\nobserved %+v\nnext %+v", problems, observed, next)
		}
		if !tenant.Authoritative {
			checkUnmanagedKept(t, observed, next, ids, assignments)
		} else {
			checkUndeclaredGone(t, next, desired)
		}
		checkNoDriftLeft(t, desired, next, report)
		checkKeptSlices(t, desired, observed, next)
		if moved := MatchByName(desired, next); len(moved) > 0 {
			t.Fatalf("(g) read-back would move ids: %v", moved)
		}
		again, report2 := Merge(next, desired)
		if report2.Changed || !reflect.DeepEqual(again, next) {
			t.Fatalf("(d) merging twice changed the document again:\nfirst  %+v\nsecond %+v", next, again)
		}
	})
}

// checkUnmanagedKept is property (a). What is declared comes from the
// inputs, not from Merge's own bookkeeping.
func checkUnmanagedKept(t *testing.T, observed, next Policy, ids map[Ref]string, assignments []AssignmentSpec) {
	t.Helper()
	declared := idSet{}
	for _, id := range ids {
		declared.add(id)
	}
	undeclared := func(p Profile) bool { return !declared.has(p.ID) }
	assertSubsequence(t, "profiles", filter(observed.Profiles, undeclared), filter(next.Profiles, undeclared))
	for _, exclude := range []bool{false, true} {
		groups := idSet{}
		for _, a := range assignments {
			if a.Exclude == exclude {
				groups.add(a.GroupID)
			}
		}
		undeclared := func(t Target) bool { return !groups.has(t.ID) }
		in, out := observed.IncludeTargets, next.IncludeTargets
		if exclude {
			in, out = observed.ExcludeTargets, next.ExcludeTargets
		}
		assertSubsequence(t, fmt.Sprintf("targets (exclude=%v)", exclude), filter(in, undeclared), filter(out, undeclared))
	}
}

func assertSubsequence[T any](t *testing.T, what string, want, got []T) {
	t.Helper()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("(a) unmanaged %s changed:\nobserved %+v\nmerged   %+v", what, want, got)
	}
}

func filter[T any](in []T, keep func(T) bool) []T {
	var out []T
	for _, v := range in {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// checkUndeclaredGone is property (e).
func checkUndeclaredGone(t *testing.T, next Policy, desired Desired) {
	t.Helper()
	left := Unmanaged(next, desired)
	used := targetsUsing(next.IncludeTargets)
	for _, p := range left.Profiles {
		if !sameID(p.ID, next.DefaultProfileID) && len(used[strings.ToLower(p.ID)]) == 0 {
			t.Fatalf("(e) Authoritative kept undeclared profile %+v", p)
		}
	}
	if len(left.IncludeTargets)+len(left.ExcludeTargets) > 0 {
		t.Fatalf("(e) Authoritative kept undeclared targets %+v", left)
	}
}

// checkNoDriftLeft is property (b).
func checkNoDriftLeft(t *testing.T, desired Desired, next Policy, report MergeReport) {
	t.Helper()
	written := map[Ref]bool{}
	if desired.Tenant.Problem == nil && desired.Tenant.Spec.Enforce {
		written[desired.Tenant.Spec.Ref] = true
	}
	for _, p := range desired.Profiles {
		written[p.Spec.Ref] = p.action() == actionWrite
	}
	for _, a := range desired.Assignments {
		written[a.Spec.Ref] = a.action() == actionWrite
	}
	for ref, drift := range Diff(desired, next) {
		if _, problem := report.Problems[ref]; written[ref] && !problem {
			t.Fatalf("(b) %s still drifts after the merge: %+v\nnext %+v", ref, drift, next)
		}
	}
}

// checkKeptSlices is property (f).
func checkKeptSlices(t *testing.T, desired Desired, observed, next Policy) {
	t.Helper()
	for _, d := range desired.Profiles {
		i := findProfile(observed.Profiles, d.Profile.ID)
		if d.Problem != nil || d.action() != actionKeep || i < 0 {
			continue
		}
		if j := findProfile(next.Profiles, d.Profile.ID); j < 0 || !reflect.DeepEqual(next.Profiles[j], observed.Profiles[i]) {
			t.Fatalf("(f) %s's profile changed", d.Spec.Ref)
		}
	}
	for _, d := range desired.Assignments {
		in, out := observed.IncludeTargets, next.IncludeTargets
		if d.Spec.Exclude {
			in, out = observed.ExcludeTargets, next.ExcludeTargets
		}
		i := findTarget(in, d.Target.ID)
		if d.Problem != nil || d.action() != actionKeep || i < 0 {
			continue
		}
		if j := findTarget(out, d.Target.ID); j < 0 || !reflect.DeepEqual(out[j], in[i]) {
			t.Fatalf("(f) %s's target changed", d.Spec.Ref)
		}
	}
}

// fuzzReader turns fuzz bytes into choices; past the end every choice is 0.
type fuzzReader struct{ data []byte }

func (r *fuzzReader) next() int {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return int(b)
}

func (r *fuzzReader) intn(n int) int    { return r.next() % n }
func (r *fuzzReader) chance(n int) bool { return r.intn(n) == 0 }

func pick[T any](r *fuzzReader, options ...T) T { return options[r.intn(len(options))] }

// subset picks some of the options, in order; at least atLeast of them.
func subset[T any](r *fuzzReader, atLeast int, options ...T) []T {
	var out []T
	for _, o := range options {
		if r.chance(2) {
			out = append(out, o)
		}
	}
	if len(out) < atLeast {
		return options[:atLeast]
	}
	return out
}

var (
	fuzzProfileIDs = []string{pid(1), pid(2), pid(3), pid(4), strings.ToUpper(pid(5)), pid(6)}
	fuzzGroups     = []string{gid(1), gid(2), strings.ToUpper(gid(3)), gid(4)}
	fuzzAAGUIDs    = []string{aaguid(1), aaguid(2), strings.ToUpper(aaguid(3))}
	fuzzNames      = []string{"Default passkey profile", "Strict", "strict", "Synced", "Keys"}
)

func (r *fuzzReader) observed() Policy {
	p := Policy{
		State:                   pick(r, "", StateEnabled, StateDisabled),
		SelfServiceRegistration: pick(r, nil, ptr(true), ptr(false)),
	}
	ids := subset(r, 0, fuzzProfileIDs...)
	if len(ids) > MaxProfiles {
		ids = ids[:MaxProfiles]
	}
	for _, id := range ids {
		p.Profiles = append(p.Profiles, r.observedProfile(id))
	}
	if len(ids) > 0 && !r.chance(4) {
		p.DefaultProfileID = pick(r, ids...)
	}
	if len(ids) > 0 {
		for _, g := range append([]string{AllUsers}, fuzzGroups...) {
			if r.chance(2) {
				t := includeTarget(g, subset(r, 1, ids...)...)
				t.IsRegistrationRequired = r.chance(2)
				t.Extra = r.extra()
				p.IncludeTargets = append(p.IncludeTargets, t)
			}
		}
	}
	for _, g := range fuzzGroups {
		if r.chance(3) {
			p.ExcludeTargets = append(p.ExcludeTargets, excludeTarget(g))
		}
	}
	if p.ExcludeTargets == nil && r.chance(2) {
		p.ExcludeTargets = []Target{} // Graph's [] must stay [], not become null
	}
	return p
}

func (r *fuzzReader) observedProfile(id string) Profile {
	p := entraProfile(id, pick(r, fuzzNames...),
		pick(r, []string{PasskeyDeviceBound}, []string{PasskeySynced},
			[]string{PasskeyDeviceBound, PasskeySynced}, []string{PasskeySynced, PasskeyDeviceBound})...)
	if onlyDeviceBound(p.PasskeyTypes) && r.chance(2) {
		p.AttestationEnforcement = AttestationRegistrationOnly
	}
	p.KeyRestrictions = KeyRestrictions{
		IsEnforced:      r.chance(2),
		EnforcementType: pick(r, EnforcementAllow, EnforcementBlock),
		AAGUIDs:         subset(r, 0, fuzzAAGUIDs...),
	}
	p.Extra = r.extra()
	return p
}

func (r *fuzzReader) extra() map[string]any {
	if !r.chance(3) {
		return nil
	}
	return map[string]any{"x": float64(r.next()), "nested": map[string]any{"list": []any{"a", true}}}
}

// aaguids are mostly valid: an invalid one only stalls its profile.
func (r *fuzzReader) aaguids() []string {
	out := subset(r, 0, fuzzAAGUIDs...)
	if r.chance(8) {
		out = append(out, "not-a-guid")
	}
	return out
}

func (r *fuzzReader) lifecycle() Lifecycle {
	return Lifecycle{
		Enforce:   !r.chance(4),
		Suspended: r.chance(6),
		Deleting:  r.chance(5),
		Orphan:    r.chance(2),
	}
}

func (r *fuzzReader) tenant() TenantSpec {
	return TenantSpec{
		Ref:                     tenantRef,
		Authoritative:           r.chance(2),
		MethodState:             pick(r, "", "Enabled", "disabled"),
		SelfServiceRegistration: pick(r, nil, ptr(true), ptr(false)),
		Enforce:                 !r.chance(3),
	}
}

func (r *fuzzReader) profiles() []ProfileSpec {
	var out []ProfileSpec
	for range r.intn(6) {
		ref := Ref{Kind: KindProfile, Namespace: pick(r, "a", "a", "a", "b"), Name: pick(r, "p0", "p1", "p2")}
		if slices.ContainsFunc(out, func(p ProfileSpec) bool { return p.Ref == ref }) {
			continue
		}
		out = append(out, ProfileSpec{
			Ref:       ref,
			CreatedAt: time.Unix(int64(r.intn(3)), 0),
			Name:      pick(r, append([]string{""}, fuzzNames...)...),
			PasskeyTypes: pick(r, []string{"DeviceBound"}, []string{"Synced"}, []string{"DeviceBound", "Synced"},
				[]string{"deviceBound"}, []string{"synced", "DeviceBound"}, []string{"DeviceBound"},
				[]string{"Synced"}, nil, []string{"Bogus"}),
			Attestation:    pick(r, "", "Disabled", "RegistrationOnly"),
			KeyEnforcement: pick(r, "", "None", "Allow", "Block"),
			AAGUIDs:        r.aaguids(),
			Default:        r.chance(4),
			KnownID:        pick(r, append([]string{"", ""}, fuzzProfileIDs...)...),
			Lifecycle:      r.lifecycle(),
		})
	}
	return out
}

func (r *fuzzReader) assignments() []AssignmentSpec {
	var out []AssignmentSpec
	for range r.intn(6) {
		ref := Ref{Kind: KindAssignment, Namespace: pick(r, "a", "a", "a", "b"), Name: pick(r, "g0", "g1", "g2")}
		if slices.ContainsFunc(out, func(a AssignmentSpec) bool { return a.Ref == ref }) {
			continue
		}
		a := AssignmentSpec{
			Ref:                  ref,
			CreatedAt:            time.Unix(int64(r.intn(3)), 0),
			GroupID:              pick(r, append([]string{AllUsers, strings.ToLower(fuzzGroups[2]), ""}, fuzzGroups...)...),
			RegistrationRequired: r.chance(2),
			Exclude:              r.chance(4),
			Lifecycle:            r.lifecycle(),
		}
		if a.Exclude && a.GroupID == AllUsers {
			a.Exclude = false // admission refuses it
		}
		if !a.Exclude {
			a.Profiles = subset(r, 0, "p0", "p1", "p2")
		}
		out = append(out, a)
	}
	return out
}
