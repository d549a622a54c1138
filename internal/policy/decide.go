package policy

import "slices"

// Declared is what one tenant's resources declare: Decide's input besides
// what Entra holds.
type Declared struct {
	Tenant      TenantSpec
	Profiles    []ProfileSpec
	Assignments []AssignmentSpec
}

// Outcome is what Decide found for one resource.
type Outcome struct {
	// Problem keeps the resource from being written: found by Build (which
	// also carries the group lookup's) or by Merge.
	Problem *Problem
	// Drift is where Entra differed from the resource before anything was
	// sent.
	Drift []Drift
	// Written says the document to send changes the resource's slice.
	Written bool
	// KeptFor names what keeps a deleted profile in Entra: the
	// GroupAssignments and include targets that still use it.
	KeptFor []string
	// UsedBy are the GroupAssignments that name a profile.
	UsedBy []Ref
	// GroupID is the group an assignment's target resolved to; "" if none.
	GroupID string
	// Warnings are for people: what the resource declares that Entra holds
	// but that does not do what it seems to.
	Warnings []string
}

// Decision is what one pass does to a tenant's document, decided before
// any write: the operator carries it out, and passkeyctl diff and validate
// show it.
type Decision struct {
	Desired Desired
	// IDs is the Entra id of every profile Entra holds, found by KnownID or
	// adopted by name; the operator records them in status. A profile Entra
	// does not hold yet has none: Send creates it without one.
	IDs map[Ref]string
	// Send is the document to PATCH; nil when Entra already holds what the
	// Enforce resources declare.
	Send *Policy
	// Outcomes has one entry for each declared resource, the tenant's
	// method settings included.
	Outcomes map[Ref]Outcome
	// Written says, for people, what Send changes: the profiles and targets
	// it removes, then each resource whose slice it writes.
	Written []string
	// Removed describes each profile and target Send takes out.
	Removed []string

	declared Declared
}

// MaxPatches is how many PATCHes one pass sends at most: one that creates
// new profiles, without ids, and one that lets targets name them once
// Entra has given them ids. A second write that is still not enough would
// mean Entra does not keep what it is sent; the pass stops there and the
// statuses say so.
const MaxPatches = 2

// Decide turns what Entra holds and what the resources declare into the
// pass's decision: ids for the profiles, the desired policy, each
// resource's drift and problems, and the document to send. It is the one
// place this is decided, for the operator and passkeyctl alike.
func Decide(observed Policy, declared Declared) Decision {
	ids := AssignProfileIDs(declared.Profiles, observed)
	desired := Build(declared.Tenant, declared.Profiles, declared.Assignments, ids)
	drift := Diff(desired, observed)
	merged, report := Merge(observed, desired)

	d := Decision{Desired: desired, IDs: ids, Outcomes: map[Ref]Outcome{}, Removed: report.Removed, declared: declared}
	if report.Changed {
		d.Send = &merged
	}
	outcome := func(ref Ref, problem *Problem) Outcome {
		if p, found := report.Problems[ref]; found && problem == nil {
			problem = &p
		}
		return Outcome{Problem: problem, Drift: drift[ref], Written: report.Written[ref]}
	}
	tenant := outcome(desired.Tenant.Spec.Ref, desired.Tenant.Problem)
	if observed.DefaultProfileID == "" {
		tenant.Warnings = []string{NoDefaultProfile}
	}
	d.Outcomes[desired.Tenant.Spec.Ref] = tenant
	for _, p := range desired.Profiles {
		o := outcome(p.Spec.Ref, p.Problem)
		o.UsedBy = p.UsedBy
		if AttestationWithSynced(p.Profile) {
			o.Warnings = []string{WarningAttestationWithSynced}
		}
		d.Outcomes[p.Spec.Ref] = o
	}
	for _, a := range desired.Assignments {
		o := outcome(a.Spec.Ref, waitsForRefused(a, report.Problems))
		o.GroupID = a.Spec.GroupID
		d.Outcomes[a.Spec.Ref] = o
	}
	for _, kept := range report.Kept {
		if o, found := d.Outcomes[kept.Ref]; found && !kept.Default {
			o.KeptFor = keptFor(kept)
			d.Outcomes[kept.Ref] = o
		}
	}
	d.Written = slices.Concat(report.Removed, written(desired, report.Written))
	return d
}

// Continue decides the next write of the same pass, once Send was written
// and Entra read back as readBack: the profiles Send created now have the
// ids Entra gave them (matched by name), so targets may name them. Drift
// stays what it was before the pass wrote anything.
func (d Decision) Continue(readBack Policy) Decision {
	declared := d.declared
	declared.Profiles = slices.Clone(declared.Profiles)
	created := MatchByName(d.Desired, readBack)
	for i, p := range declared.Profiles {
		if id, ok := created[p.Ref]; ok {
			declared.Profiles[i].KnownID = id
		}
	}
	next := Decide(readBack, declared)
	for ref, o := range next.Outcomes {
		// A target that waited for a new profile was not compared before:
		// its drift before the pass wrote it is what it is now.
		if before := d.Outcomes[ref].Drift; len(before) > 0 {
			o.Drift = before
		}
		next.Outcomes[ref] = o
	}
	return next
}

// Expect plays the whole pass as if Entra kept every document sent and gave
// new profiles ids from newID: the writes, in order, starting with d. A
// preview (passkeyctl diff) shows them; the operator plays them for real,
// reading Entra back between writes.
func (d Decision) Expect(newID func() string) []Decision {
	writes := []Decision{d}
	for last := d; last.Send != nil && len(writes) < MaxPatches; {
		kept := last.Send.Clone()
		for i := range kept.Profiles {
			if kept.Profiles[i].ID == "" {
				kept.Profiles[i].ID = newID()
			}
		}
		last = last.Continue(kept)
		writes = append(writes, last)
	}
	return writes
}

// waitsForRefused says why a target waits when a profile it names was
// refused by Merge for want of room: Build only knew that the profile was
// not in Entra yet.
func waitsForRefused(a DesiredAssignment, merged map[Ref]Problem) *Problem {
	if a.Problem == nil || a.Problem.Reason != ReasonProfileNotReady {
		return a.Problem
	}
	for _, name := range a.Spec.Profiles {
		ref := Ref{Kind: KindProfile, Namespace: a.Spec.Ref.Namespace, Name: name}
		if merged[ref].Reason == ReasonTooManyProfiles {
			return problemPtr(ReasonProfileNotReady, "%s was not created in Entra, which allows at most %d passkey profiles; the target waits for it",
				ref, MaxProfiles)
		}
	}
	return a.Problem
}

// Problems returns every resource's problem, by resource.
func (d Decision) Problems() map[Ref]Problem {
	out := map[Ref]Problem{}
	for ref, o := range d.Outcomes {
		if o.Problem != nil {
			out[ref] = *o.Problem
		}
	}
	return out
}

func keptFor(kept KeptProfile) []string {
	var out []string
	for _, a := range kept.Assignments {
		out = append(out, a.String())
	}
	for _, target := range kept.Targets {
		out = append(out, "include target "+target)
	}
	return out
}

// written names each resource whose slice Merge wrote, in the desired
// order: profiles, assignments, then the method settings.
func written(desired Desired, wrote map[Ref]bool) []string {
	var out []string
	for _, p := range desired.Profiles {
		if wrote[p.Spec.Ref] {
			out = append(out, "wrote "+p.Spec.Ref.String())
		}
	}
	for _, a := range desired.Assignments {
		if wrote[a.Spec.Ref] {
			out = append(out, "wrote "+a.Spec.Ref.String())
		}
	}
	if wrote[desired.Tenant.Spec.Ref] {
		out = append(out, "wrote method settings")
	}
	return out
}

// Confirmation is what a pass finds at its end, in the document Entra holds
// then: after Send's read-back, or as observed when nothing was sent.
type Confirmation struct {
	// Drift is what still differs, by resource: Report drift, or Enforce
	// drift Entra did not keep.
	Drift map[Ref][]Drift
	// Corrected is drift found before and gone now, by resource.
	Corrected map[Ref][]Drift
	// Unmanaged is what Entra holds that no resource declares.
	Unmanaged UnmanagedSummary
}

// Confirm compares the decision with what Entra holds at the end of the
// pass.
func (d Decision) Confirm(final Policy) Confirmation {
	c := Confirmation{
		Drift:     Diff(d.Desired, final),
		Corrected: map[Ref][]Drift{},
		Unmanaged: Unmanaged(final, d.Desired),
	}
	for ref, o := range d.Outcomes {
		if _, remains := c.Drift[ref]; len(o.Drift) > 0 && !remains {
			c.Corrected[ref] = o.Drift
		}
	}
	return c
}
