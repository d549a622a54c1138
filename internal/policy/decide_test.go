package policy

import (
	"maps"
	"slices"
	"testing"
)

// TestDecide follows one decision from the resources to each resource's
// outcome and the document to send.
func TestDecide(t *testing.T) {
	withTwoProfiles := func() Policy {
		p := defaultTenant()
		p.Profiles = append(p.Profiles, entraProfile(pid(2), "keys", PasskeyDeviceBound), entraProfile(pid(3), "staff", PasskeyDeviceBound))
		return p
	}
	notFound := &Problem{Reason: ReasonGroupNotFound, Message: `no group named "Nobody"`}
	for _, tc := range []struct {
		name     string
		observed Policy
		declared Declared
		// send: whether a PATCH is decided.
		send bool
		// written: the Written lines, in order.
		written []string
		// problems, drift and wrote: by resource.
		problems map[Ref]string
		drift    map[Ref][]string
		wrote    []Ref
	}{{
		name:     "in sync: nothing to send",
		observed: withTwoProfiles(),
		declared: Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{profileSpec("keys", 1)}},
		problems: map[Ref]string{},
		drift:    map[Ref][]string{},
	}, {
		// The first write creates the profile; the target waits for its id
		// (TestDecideContinue has the second write).
		name:     "a new profile is written first, and a target naming it waits",
		observed: defaultTenant(),
		declared: Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{profileSpec("keys", 1)},
			Assignments: []AssignmentSpec{assignmentSpec("staff", 2, gid(1), []string{"keys"})}},
		send:     true,
		written:  []string{"wrote PasskeyProfile team/keys"},
		problems: map[Ref]string{assignmentRef("staff"): ReasonProfileNotReady},
		drift:    map[Ref][]string{profileRef("keys"): {FieldProfile}},
		wrote:    []Ref{profileRef("keys")},
	}, {
		// The regression: a profile Merge refuses was named as written.
		name:     "a fourth profile is refused, not written, and its target waits",
		observed: withTwoProfiles(),
		declared: Declared{Tenant: mergeTenant(),
			Profiles:    []ProfileSpec{profileSpec("keys", 1), profileSpec("staff", 2), profileSpec("extra", 3)},
			Assignments: []AssignmentSpec{assignmentSpec("extra", 4, gid(1), []string{"extra"})}},
		problems: map[Ref]string{profileRef("extra"): ReasonTooManyProfiles, assignmentRef("extra"): ReasonProfileNotReady},
		drift:    map[Ref][]string{profileRef("extra"): {FieldProfile}},
	}, {
		name:     "Report drift is shown, not written",
		observed: withTwoProfiles(),
		declared: Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{profileSpec("keys", 1, func(s *ProfileSpec) {
			s.PasskeyTypes = []string{"DeviceBound", "Synced"}
			s.Enforce = false
		})}},
		problems: map[Ref]string{},
		drift:    map[Ref][]string{profileRef("keys"): {FieldPasskeyTypes}},
	}, {
		name:     "the group lookup's problem is the assignment's",
		observed: withTwoProfiles(),
		declared: Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{profileSpec("keys", 1)},
			Assignments: []AssignmentSpec{assignmentSpec("nobody", 2, "", []string{"keys"}, func(s *AssignmentSpec) { s.GroupProblem = notFound })}},
		problems: map[Ref]string{assignmentRef("nobody"): ReasonGroupNotFound},
		drift:    map[Ref][]string{},
	}, {
		name:     "a group not looked up yet waits",
		observed: withTwoProfiles(),
		declared: Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{profileSpec("keys", 1)},
			Assignments: []AssignmentSpec{assignmentSpec("later", 2, "", []string{"keys"})}},
		problems: map[Ref]string{assignmentRef("later"): ReasonGroupNotResolved},
		drift:    map[Ref][]string{},
	}, {
		name:     "Authoritative removes what no resource declares, and says so first",
		observed: withTwoProfiles(),
		declared: Declared{Tenant: TenantSpec{Ref: tenantRef, Enforce: true, Authoritative: true, MethodState: StateDisabled},
			Profiles: []ProfileSpec{profileSpec("keys", 1)}},
		send:     true,
		written:  []string{"include target all_users", `passkey profile "staff"`, "wrote method settings"},
		problems: map[Ref]string{},
		drift:    map[Ref][]string{tenantRef: {FieldState}},
		wrote:    []Ref{tenantRef},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.observed, tc.declared)
			if got := d.Send != nil; got != tc.send {
				t.Errorf("send = %v, want %v", got, tc.send)
			}
			assertEqual(t, "written", d.Written, tc.written)
			problems := map[Ref]string{}
			for ref, p := range d.Problems() {
				problems[ref] = p.Reason
			}
			assertEqual(t, "problems", problems, tc.problems)
			drift := map[Ref][]string{}
			var wrote []Ref
			for ref, o := range d.Outcomes {
				for _, dr := range o.Drift {
					drift[ref] = append(drift[ref], dr.Field)
				}
				if o.Written {
					wrote = append(wrote, ref)
				}
			}
			assertEqual(t, "drift fields", drift, tc.drift)
			slices.SortFunc(wrote, compareRefs)
			want := slices.Clone(tc.wrote)
			slices.SortFunc(want, compareRefs)
			assertEqual(t, "written resources", wrote, want)
			if d.Send != nil {
				assertValid(t, tc.observed, *d.Send)
			}
		})
	}
}

// Every declared resource has an outcome, so callers never guess.
func TestDecideHasAnOutcomeForEveryResource(t *testing.T) {
	declared := Declared{Tenant: mergeTenant(),
		Profiles:    []ProfileSpec{profileSpec("keys", 1), profileSpec("keys", 2, func(s *ProfileSpec) { s.Ref = profileRef("dup") })},
		Assignments: []AssignmentSpec{assignmentSpec("staff", 3, gid(1), []string{"keys"})}}
	d := Decide(defaultTenant(), declared)
	for _, ref := range []Ref{tenantRef, profileRef("keys"), profileRef("dup"), assignmentRef("staff")} {
		if _, ok := d.Outcomes[ref]; !ok {
			t.Errorf("no outcome for %s", ref)
		}
	}
	if len(d.Outcomes) != 4 {
		t.Errorf("%d outcomes, want 4", len(d.Outcomes))
	}
	assertEqual(t, "profile keys used by", d.Outcomes[profileRef("keys")].UsedBy, []Ref{assignmentRef("staff")})
	assertEqual(t, "assignment's group", d.Outcomes[assignmentRef("staff")].GroupID, gid(1))
	if id, found := d.IDs[profileRef("keys")]; found {
		t.Errorf("a new profile got id %s before Entra gave it one", id)
	}
}

// A profile that is deleted while a target in Entra still allows it stays,
// and its outcome says what keeps it.
func TestDecideKeptFor(t *testing.T) {
	observed := defaultTenant()
	observed.Profiles = append(observed.Profiles, entraProfile(pid(2), "keys", PasskeyDeviceBound))
	observed.IncludeTargets = append(observed.IncludeTargets, includeTarget(gid(1), pid(2)))
	deleting := profileSpec("keys", 1, func(s *ProfileSpec) { s.Deleting = true; s.KnownID = pid(2) })
	d := Decide(observed, Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{deleting}})
	assertEqual(t, "kept for", d.Outcomes[profileRef("keys")].KeptFor, []string{"include target " + gid(1)})
	if d.Send != nil {
		t.Errorf("sent %+v, want nothing: the profile stays", *d.Send)
	}
}

// entraKeeps is the read-back of a write Entra kept as sent, giving each
// new profile the next id from newID.
func entraKeeps(sent Policy, newID func() string) Policy {
	kept := sent.Clone()
	for i := range kept.Profiles {
		if kept.Profiles[i].ID == "" {
			kept.Profiles[i].ID = newID()
		}
	}
	return kept
}

// The second write of a pass: once Entra has given the new profile its id,
// the target names it; drift stays what it was before the pass.
func TestDecideContinue(t *testing.T) {
	declared := Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{profileSpec("keys", 1)},
		Assignments: []AssignmentSpec{assignmentSpec("staff", 2, gid(1), []string{"keys"})}}
	first := Decide(defaultTenant(), declared)
	readBack := entraKeeps(*first.Send, idSource())

	second := first.Continue(readBack)
	assertEqual(t, "ids", second.IDs, map[Ref]string{profileRef("keys"): newID1})
	assertEqual(t, "written", second.Written, []string{"wrote GroupAssignment team/staff"})
	assertEqual(t, "problems", second.Problems(), map[Ref]Problem{})
	if second.Send == nil || !HasTarget(second.Send.IncludeTargets, gid(1)) {
		t.Fatalf("the second write does not add the target: %+v", second.Send)
	}
	assertEqual(t, "target", second.Send.IncludeTargets[1].AllowedPasskeyProfiles, []string{newID1})
	assertEqual(t, "profile drift, from before the pass", second.Outcomes[profileRef("keys")].Drift,
		[]Drift{{FieldProfile, Present, Absent}})
	assertEqual(t, "target drift", second.Outcomes[assignmentRef("staff")].Drift, []Drift{{FieldTarget, Present, Absent}})

	third := second.Continue(*second.Send)
	if third.Send != nil {
		t.Errorf("a third write: %+v", *third.Send)
	}
	c := third.Confirm(*second.Send)
	if len(c.Drift) != 0 || len(c.Corrected) != 2 {
		t.Errorf("confirm = drift %v, corrected %v; want none left, both corrected", c.Drift, c.Corrected)
	}
}

// Expect plays the same pass without Entra, for a preview.
func TestDecisionExpect(t *testing.T) {
	declared := Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{profileSpec("keys", 1)},
		Assignments: []AssignmentSpec{assignmentSpec("staff", 2, gid(1), []string{"keys"})}}
	writes := Decide(defaultTenant(), declared).Expect(idSource())
	if len(writes) != MaxPatches {
		t.Fatalf("%d decisions, want %d", len(writes), MaxPatches)
	}
	var lines []string
	for _, w := range writes {
		if w.Send != nil {
			lines = append(lines, w.Written...)
		}
	}
	assertEqual(t, "written", lines, []string{"wrote PasskeyProfile team/keys", "wrote GroupAssignment team/staff"})

	inSync := Decide(defaultTenant(), Declared{Tenant: mergeTenant()}).Expect(noNewID(t))
	if len(inSync) != 1 || inSync[0].Send != nil {
		t.Errorf("in sync: %d decisions, send %v", len(inSync), inSync[0].Send)
	}
}

// Confirm compares with the read-back: what the pass fixed, what Entra
// did not keep, and ids Entra chose itself.
func TestDecisionConfirm(t *testing.T) {
	declared := Declared{Tenant: mergeTenant(),
		Profiles: []ProfileSpec{profileSpec("keys", 1), profileSpec("staff", 2)}}
	d := Decide(defaultTenant(), declared)
	if d.Send == nil {
		t.Fatal("nothing to send")
	}

	// Entra kept keys, under its own id, and dropped staff.
	readBack := defaultTenant()
	readBack.Profiles = append(readBack.Profiles, entraProfile(pid(7), "keys", PasskeyDeviceBound))
	next := d.Continue(readBack)
	assertEqual(t, "ids Entra gave", next.IDs, map[Ref]string{profileRef("keys"): pid(7)})
	c := next.Confirm(readBack)
	if _, ok := c.Drift[profileRef("staff")]; !ok {
		t.Errorf("staff has no drift left after Entra dropped it: %v", c.Drift)
	}
	assertEqual(t, "corrected", slices.Collect(maps.Keys(c.Corrected)), []Ref{profileRef("keys")})

	// Nothing sent: nothing corrected.
	if c := d.Confirm(defaultTenant()); len(c.Corrected) != 0 || len(c.Drift) != 2 {
		t.Errorf("confirm(observed) = drift %v, corrected %v", c.Drift, c.Corrected)
	}
}

// A target waiting for a profile Entra has no room for says so, not that
// the profile is merely not created yet.
func TestDecideTargetWaitsForARefusedProfile(t *testing.T) {
	observed := defaultTenant()
	observed.Profiles = append(observed.Profiles, entraProfile(pid(2), "keys", PasskeyDeviceBound), entraProfile(pid(3), "staff", PasskeyDeviceBound))
	d := Decide(observed, Declared{Tenant: mergeTenant(),
		Profiles:    []ProfileSpec{profileSpec("extra", 3)},
		Assignments: []AssignmentSpec{assignmentSpec("extra", 4, gid(1), []string{"extra"})}})
	got := d.Outcomes[assignmentRef("extra")].Problem
	want := "PasskeyProfile team/extra was not created in Entra, which allows at most 3 passkey profiles; the target waits for it"
	if got == nil || got.Reason != ReasonProfileNotReady || got.Message != want {
		t.Errorf("problem = %+v, want ProfileNotReady: %s", got, want)
	}
}

// A tenant Entra has not moved to passkey profiles says so, and what Entra
// will do about it.
func TestDecideWarnsOfATenantWithoutDefault(t *testing.T) {
	d := Decide(Policy{State: StateDisabled}, Declared{Tenant: mergeTenant()})
	assertEqual(t, "tenant warnings", d.Outcomes[tenantRef].Warnings, []string{NoDefaultProfile})
	if w := Decide(defaultTenant(), Declared{Tenant: mergeTenant()}).Outcomes[tenantRef].Warnings; w != nil {
		t.Errorf("a migrated tenant warns: %v", w)
	}
}
