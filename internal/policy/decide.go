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
}

// Decision is what one pass does to a tenant's document, decided before
// any write: the operator carries it out, and passkeyctl diff and validate
// show it.
type Decision struct {
	Desired Desired
	// IDs is the Entra id of every profile that has one. The operator
	// records new ones before it sends anything, so that a crash in between
	// never creates a duplicate (DESIGN §3).
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
}

// Decide turns what Entra holds and what the resources declare into the
// pass's decision: ids for the profiles, the desired policy, each
// resource's drift and problems, and the document to send. It is the one
// place this is decided, for the operator and passkeyctl alike. newID makes
// ids for new profiles.
func Decide(observed Policy, declared Declared, newID func() string) Decision {
	ids := AssignProfileIDs(declared.Profiles, observed, newID)
	desired := Build(declared.Tenant, declared.Profiles, declared.Assignments, ids)
	drift := Diff(desired, observed)
	merged, report := Merge(observed, desired)

	d := Decision{Desired: desired, IDs: ids, Outcomes: map[Ref]Outcome{}, Removed: report.Removed}
	if report.Changed {
		d.Send = &merged
	}
	outcome := func(ref Ref, problem *Problem) Outcome {
		if p, found := report.Problems[ref]; found && problem == nil {
			problem = &p
		}
		return Outcome{Problem: problem, Drift: drift[ref], Written: report.Written[ref]}
	}
	d.Outcomes[desired.Tenant.Spec.Ref] = outcome(desired.Tenant.Spec.Ref, desired.Tenant.Problem)
	for _, p := range desired.Profiles {
		o := outcome(p.Spec.Ref, p.Problem)
		o.UsedBy = p.UsedBy
		d.Outcomes[p.Spec.Ref] = o
	}
	for _, a := range desired.Assignments {
		o := outcome(a.Spec.Ref, a.Problem)
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
	// MovedIDs are the profiles Entra holds under another id than the one
	// sent (found by name), to record in their statuses.
	MovedIDs map[Ref]string
	// Unmanaged is what Entra holds that no resource declares.
	Unmanaged UnmanagedSummary
}

// Confirm compares the decision with what Entra holds at the end of the
// pass.
func (d Decision) Confirm(final Policy) Confirmation {
	c := Confirmation{
		Drift:     Diff(d.Desired, final),
		Corrected: map[Ref][]Drift{},
		MovedIDs:  MatchByName(d.Desired, final),
		Unmanaged: Unmanaged(final, d.Desired),
	}
	for ref, o := range d.Outcomes {
		if _, remains := c.Drift[ref]; len(o.Drift) > 0 && !remains {
			c.Corrected[ref] = o.Drift
		}
	}
	return c
}
