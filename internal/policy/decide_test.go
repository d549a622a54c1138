package policy

import (
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
		name:     "a new profile and a target naming it: both written",
		observed: defaultTenant(),
		declared: Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{profileSpec("keys", 1)},
			Assignments: []AssignmentSpec{assignmentSpec("staff", 2, gid(1), []string{"keys"})}},
		send:     true,
		written:  []string{"wrote PasskeyProfile team/keys", "wrote GroupAssignment team/staff"},
		problems: map[Ref]string{},
		drift:    map[Ref][]string{profileRef("keys"): {FieldProfile}, assignmentRef("staff"): {FieldTarget}},
		wrote:    []Ref{profileRef("keys"), assignmentRef("staff")},
	}, {
		// The regression: a profile Merge refuses was named as written.
		name:     "a fourth profile is refused, not written, and its target waits",
		observed: withTwoProfiles(),
		declared: Declared{Tenant: mergeTenant(),
			Profiles:    []ProfileSpec{profileSpec("keys", 1), profileSpec("staff", 2), profileSpec("extra", 3)},
			Assignments: []AssignmentSpec{assignmentSpec("extra", 4, gid(1), []string{"extra"})}},
		problems: map[Ref]string{profileRef("extra"): ReasonTooManyProfiles, assignmentRef("extra"): ReasonProfileNotReady},
		drift:    map[Ref][]string{profileRef("extra"): {FieldProfile}, assignmentRef("extra"): {FieldTarget}},
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
			d := Decide(tc.observed, tc.declared, idSource())
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
	d := Decide(defaultTenant(), declared, idSource())
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
	if d.IDs[profileRef("keys")] != newID1 {
		t.Errorf("ids = %v, want keys to get %s", d.IDs, newID1)
	}
}

// A profile that is deleted while a target in Entra still allows it stays,
// and its outcome says what keeps it.
func TestDecideKeptFor(t *testing.T) {
	observed := defaultTenant()
	observed.Profiles = append(observed.Profiles, entraProfile(pid(2), "keys", PasskeyDeviceBound))
	observed.IncludeTargets = append(observed.IncludeTargets, includeTarget(gid(1), pid(2)))
	deleting := profileSpec("keys", 1, func(s *ProfileSpec) { s.Deleting = true; s.KnownID = pid(2) })
	d := Decide(observed, Declared{Tenant: mergeTenant(), Profiles: []ProfileSpec{deleting}}, noNewID(t))
	assertEqual(t, "kept for", d.Outcomes[profileRef("keys")].KeptFor, []string{"include target " + gid(1)})
	if d.Send != nil {
		t.Errorf("sent %+v, want nothing: the profile stays", *d.Send)
	}
}

// Confirm compares with the read-back: what the PATCH fixed, what Entra
// did not keep, and ids Entra chose itself.
func TestDecisionConfirm(t *testing.T) {
	declared := Declared{Tenant: mergeTenant(),
		Profiles: []ProfileSpec{profileSpec("keys", 1), profileSpec("staff", 2)}}
	d := Decide(defaultTenant(), declared, idSource())
	if d.Send == nil {
		t.Fatal("nothing to send")
	}

	// Entra kept keys under its own id and dropped staff.
	readBack := defaultTenant()
	readBack.Profiles = append(readBack.Profiles, entraProfile(pid(7), "keys", PasskeyDeviceBound))
	c := d.Confirm(readBack)
	assertEqual(t, "moved ids", c.MovedIDs, map[Ref]string{profileRef("keys"): pid(7)})
	if _, ok := c.Drift[profileRef("staff")]; !ok {
		t.Errorf("staff has no drift left after Entra dropped it: %v", c.Drift)
	}
	if _, ok := c.Corrected[profileRef("staff")]; ok {
		t.Error("staff counted as corrected")
	}

	// Entra kept both as sent: all corrected, nothing left.
	c = d.Confirm(*d.Send)
	if len(c.Drift) != 0 || len(c.Corrected) != 2 || len(c.MovedIDs) != 0 {
		t.Errorf("confirm(sent) = drift %v, corrected %v, moved %v; want none, both, none", c.Drift, c.Corrected, c.MovedIDs)
	}

	// Nothing sent: nothing corrected.
	if c := d.Confirm(defaultTenant()); len(c.Corrected) != 0 || len(c.Drift) != 2 {
		t.Errorf("confirm(observed) = drift %v, corrected %v", c.Drift, c.Corrected)
	}
}
