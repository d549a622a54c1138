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
	"github.com/passkey-operator/passkey-operator/internal/specs"
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
	// Patches is how many: two when new profiles must be created, and get
	// Entra's ids, before targets can name them.
	Patches int `json:"patches"`
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
// and deciding exactly as the operator does, with policy.Decide, its
// authenticator names resolved in catalog. The set must come from a
// Validate that found no problems.
func (s *Set) PlanTenant(ctx context.Context, c *entra.Client, t *passkeysv1alpha1.EntraTenant, catalog specs.Catalog) (Plan, error) {
	p, err := s.PreviewTenant(ctx, c, t, catalog)
	return p.Plan, err
}

// Preview is a plan with the fido2 policies it goes from and to.
type Preview struct {
	Plan Plan
	// Observed is the policy Entra holds now.
	Observed policy.Policy
	// Planned is the policy applying the set would leave in Entra: the
	// document of the pass's last write, or Observed when nothing is
	// written. A profile Entra would create has an id of the preview's own
	// once a target names it (Entra gives the real one when it creates
	// it), and none before.
	Planned policy.Policy
}

// PreviewTenant is PlanTenant with the policies before and after: one
// reading of the tenant and one decision, so that what passkeyctl explain
// shows is what passkeyctl diff plans.
func (s *Set) PreviewTenant(ctx context.Context, c *entra.Client, t *passkeysv1alpha1.EntraTenant, catalog specs.Catalog) (Preview, error) {
	cfg, err := c.GetFido2(ctx)
	if err != nil {
		return Preview{}, err
	}
	profiles, assignments := s.ofTenant(t.Name)
	declared, err := specs.Declared(ctx, t, profiles, assignments, c, catalog)
	if err != nil {
		return Preview{}, err
	}
	return preview(t, entra.ToPolicy(cfg), declared), nil
}

// preview decides the pass for the tenant t, which holds observed, and
// plays it through.
func preview(t *passkeysv1alpha1.EntraTenant, observed policy.Policy, declared policy.Declared) Preview {
	p := Preview{Observed: observed, Planned: observed}
	// Entra's ids for new profiles are not known before it is written: the
	// preview stands in ids of its own.
	writes := policy.Decide(observed, declared).Expect(uuid.NewString)
	p.Plan = Plan{Tenant: t.Name, TenantID: t.Spec.TenantID, Changes: changes(writes)}
	for _, w := range writes {
		if w.Send != nil {
			p.Plan.Patches++
			p.Planned = *w.Send
		}
	}
	p.Plan.Patch = p.Plan.Patches > 0
	return p
}

// changes lists what the pass's writes do: each field that differs before
// the pass (Continue keeps that drift), what is removed, and the problems
// left once every write is done.
func changes(writes []policy.Decision) []Change {
	last := writes[len(writes)-1]
	written := map[policy.Ref]bool{}
	var removed []string
	for _, w := range writes {
		if w.Send == nil {
			continue
		}
		for ref, o := range w.Outcomes {
			written[ref] = written[ref] || o.Written
		}
		removed = append(removed, w.Removed...)
	}
	var out []Change
	for _, ref := range sortedRefs(last.Outcomes) {
		for _, d := range last.Outcomes[ref].Drift {
			c := Change{Action: "update", Resource: ref.String(), Field: d.Field, From: d.Observed, To: d.Desired}
			switch {
			case !written[ref]:
				c.Action = "report"
			case d.Observed == policy.Absent:
				c.Action = "create"
			}
			out = append(out, c)
		}
	}
	for _, r := range removed {
		out = append(out, Change{Action: "remove", Resource: r})
	}
	problems := last.Problems()
	for _, ref := range sortedRefs(problems) {
		p := problems[ref]
		c := Change{Action: "problem", Resource: ref.String(), Message: p.Reason + ": " + p.Message}
		if p.Reason == policy.ReasonGroupNotFound || p.Reason == policy.ReasonGroupAmbiguous {
			c.Field = "spec.target"
		}
		out = append(out, c)
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
