package manifests

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// Change is one line of a plan.
type Change struct {
	// Action is create, update, remove, report (drift a Report resource
	// leaves in place) or problem (the operator would stall the resource).
	Action   string `json:"action"`
	Resource string `json:"resource"`
	Field    string `json:"field,omitempty"`
	// From is what Entra holds, To what applying would make it.
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Message string `json:"message,omitempty"`
}

// Plan is what applying the manifests would do to the tenant.
type Plan struct {
	Tenant   string   `json:"tenant"`
	TenantID string   `json:"tenantID"`
	Changes  []Change `json:"changes"`
	// Patch says whether the operator would send a PATCH.
	Patch bool `json:"patch"`
}

// Problems says whether any change is a problem.
func (p Plan) Problems() bool {
	for _, c := range p.Changes {
		if c.Action == "problem" {
			return true
		}
	}
	return false
}

// PlanTenant computes what applying the set would change in the tenant t
// (one of the set's, from Tenant) describes, reading the tenant through c
// and deciding exactly as the operator does: the same Build, Merge (Merge
// or Authoritative) and Diff. The set must come from a Validate that found
// no problems.
func (s *Set) PlanTenant(ctx context.Context, c *entra.Client, t *passkeysv1alpha1.EntraTenant) (Plan, error) {
	cfg, err := c.GetFido2(ctx)
	if err != nil {
		return Plan{}, err
	}
	observed := entra.ToPolicy(cfg)

	plan := Plan{Tenant: t.Name, TenantID: t.Spec.TenantID}
	var profiles []policy.ProfileSpec
	for _, p := range s.profiles {
		if p.Spec.TenantRef == t.Name {
			profiles = append(profiles, ProfileSpec(p, t))
		}
	}
	var assignments []policy.AssignmentSpec
	for _, a := range s.assignments {
		if a.Spec.TenantRef != t.Name {
			continue
		}
		id, problem, err := groupID(ctx, c, a.Spec.Target, t.Spec.TenantID)
		if err != nil {
			return Plan{}, err
		}
		if problem != nil {
			plan.Changes = append(plan.Changes, Change{Action: "problem", Resource: RefOf(a, policy.KindAssignment).String(),
				Field: "spec.target", Message: problem.Reason + ": " + problem.Message})
		}
		assignments = append(assignments, AssignmentSpec(a, id, t))
	}
	ids := policy.AssignProfileIDs(profiles, observed, uuid.NewString)
	desired := policy.Build(TenantSpec(t), profiles, assignments, ids)
	_, report := policy.Merge(observed, desired)
	plan.Patch = report.Changed
	plan.Changes = append(plan.Changes, changes(desired, observed, report)...)
	return plan, nil
}

func changes(desired policy.Desired, observed policy.Policy, report policy.MergeReport) []Change {
	written := map[policy.Ref]bool{}
	for _, d := range desired.Profiles {
		written[d.Spec.Ref] = d.Problem == nil && d.Spec.Enforce && !d.Spec.Suspended && report.Problems[d.Spec.Ref].Reason == ""
	}
	for _, d := range desired.Assignments {
		written[d.Spec.Ref] = d.Problem == nil && d.Spec.Enforce && !d.Spec.Suspended && report.Problems[d.Spec.Ref].Reason == ""
	}
	written[desired.Tenant.Spec.Ref] = desired.Tenant.Problem == nil && desired.Tenant.Spec.Enforce

	var out []Change
	drift := policy.Diff(desired, observed)
	for _, ref := range sortedRefs(drift) {
		for _, d := range drift[ref] {
			c := Change{Action: "update", Resource: ref.String(), Field: d.Field, From: d.Observed, To: d.Desired}
			switch {
			case !written[ref]:
				c.Action = "report"
			case d.Observed == "absent":
				c.Action = "create"
			}
			out = append(out, c)
		}
	}
	for _, r := range report.Removed {
		out = append(out, Change{Action: "remove", Resource: r})
	}
	problems := desired.Problems()
	for ref, p := range report.Problems {
		problems[ref] = p
	}
	for _, ref := range sortedRefs(problems) {
		p := problems[ref]
		if p.Reason == policy.ReasonGroupNotResolved {
			continue // reported with the lookup that failed
		}
		out = append(out, Change{Action: "problem", Resource: ref.String(), Message: p.Reason + ": " + p.Message})
	}
	return out
}

func sortedRefs[V any](m map[policy.Ref]V) []policy.Ref {
	refs := make([]policy.Ref, 0, len(m))
	for ref := range m {
		refs = append(refs, ref)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	return refs
}

// groupID resolves a target as the operator does: a group id or all users
// as written, a display name through Graph.
func groupID(ctx context.Context, c *entra.Client, t passkeysv1alpha1.AssignmentTarget, tenantID string) (string, *policy.Problem, error) {
	if id, ok := TargetID(t); ok {
		return id, nil, nil
	}
	groups, err := c.GroupsByDisplayName(ctx, t.GroupName)
	if err != nil {
		return "", nil, fmt.Errorf("looking up group %q: %w", t.GroupName, err)
	}
	id, problem := GroupByName(groups, t.GroupName, tenantID)
	return id, problem, nil
}

// Tenant is the EntraTenant named name, or the only one when name is "".
func (s *Set) Tenant(name string) (*passkeysv1alpha1.EntraTenant, error) {
	if name != "" {
		if t, ok := s.tenants[name]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("no EntraTenant named %q in the manifests", name)
	}
	if len(s.tenants) != 1 {
		var names []string
		for n := range s.tenants {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("the manifests hold %d EntraTenants (%s); say which with --tenant", len(s.tenants), strings.Join(names, ", "))
	}
	for _, t := range s.tenants {
		return t, nil
	}
	return nil, nil
}
