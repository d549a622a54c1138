package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/manifests"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// pass is one reconcile of one tenant: what was read, what was decided for
// each resource, and what is left to write to the statuses at the end.
type pass struct {
	r      *TenantReconciler
	tenant *passkeysv1alpha1.EntraTenant
	res    resources
	// originals are the objects as read, to patch statuses against and to
	// tell what changed.
	originals map[client.Object]client.Object

	observed policy.Policy
	desired  policy.Desired
	outcomes map[policy.Ref]*outcome
	// final is what Entra holds at the end of the pass.
	final     policy.Policy
	unmanaged policy.UnmanagedSummary
	applied   []string
	// err is a failure that stopped the pass; every resource reports it.
	err error
	// suspended: the tenant is suspended; nothing was read or written.
	suspended bool
}

// outcome is what the pass decided for one resource.
type outcome struct {
	problem *policy.Problem
	// drift is what still differs at the end of the pass.
	drift []policy.Drift
	// corrected is drift found and written back in this pass.
	corrected []policy.Drift
	// keptFor lists the include targets that keep a deleted profile in Entra.
	keptFor []string
	// usedBy are the assignments naming a profile.
	usedBy  []string
	groupID string
}

func (r *TenantReconciler) newPass(tenant *passkeysv1alpha1.EntraTenant, res resources) *pass {
	p := &pass{r: r, tenant: tenant, res: res, originals: map[client.Object]client.Object{}, outcomes: map[policy.Ref]*outcome{}}
	for _, o := range append(res.objects(), tenant) {
		p.originals[o] = o.DeepCopyObject().(client.Object)
	}
	return p
}

func (res resources) objects() []client.Object {
	var out []client.Object
	for _, p := range res.profiles {
		out = append(out, p)
	}
	for _, a := range res.assignments {
		out = append(out, a)
	}
	return out
}

func (p *pass) outcome(ref policy.Ref) *outcome {
	if p.outcomes[ref] == nil {
		p.outcomes[ref] = &outcome{}
	}
	return p.outcomes[ref]
}

func (p *pass) suspendAll() { p.suspended = true }

// failAll stops the pass: every resource reports err, and the error decides
// whether controller-runtime retries (with backoff) or waits for a change.
func (p *pass) failAll(err error) (ctrl.Result, error) {
	p.err = err
	return failureResult(err)
}

func (p *pass) observe(observed policy.Policy) {
	p.observed = observed
	p.final = observed
}

// build turns the resources into the desired policy. Profile ids are
// written to the statuses before anything is sent to Entra, so a crash
// between the two can never create a duplicate profile.
func (p *pass) build(ctx context.Context, graph Graph, allowed map[string]bool) error {
	var profiles []policy.ProfileSpec
	for _, obj := range p.res.profiles {
		if !p.admit(obj, allowed) {
			continue
		}
		profiles = append(profiles, manifests.ProfileSpec(obj, p.tenant))
	}
	var assignments []policy.AssignmentSpec
	for _, obj := range p.res.assignments {
		if !p.admit(obj, allowed) {
			continue
		}
		groupID, err := p.r.resolveGroup(ctx, graph, p.tenant, obj)
		if err != nil {
			return err
		}
		o := p.outcome(manifests.RefOf(obj, policy.KindAssignment))
		o.groupID, o.problem = groupID.id, groupID.problem
		// Unresolved, it still goes to Build: the target it holds in Entra
		// (status.appliedTarget) stays declared until it can move.
		assignments = append(assignments, manifests.AssignmentSpec(obj, groupID.id, p.tenant))
	}

	ids := policy.AssignProfileIDs(profiles, p.observed, p.r.newID)
	if err := p.recordProfileIDs(ctx, ids, "the profile id before creating it"); err != nil {
		return err
	}
	p.desired = policy.Build(manifests.TenantSpec(p.tenant), profiles, assignments, ids)
	for ref, problem := range p.desired.Problems() {
		// The lookup's GroupNotFound says more than Build's GroupNotResolved.
		if o := p.outcome(ref); o.problem == nil {
			o.problem = &problem
		}
	}
	for _, d := range p.desired.Profiles {
		for _, user := range d.UsedBy {
			o := p.outcome(d.Spec.Ref)
			o.usedBy = append(o.usedBy, user.Namespace+"/"+user.Name)
		}
	}
	return nil
}

// admit refuses resources from namespaces the tenant does not allow; being
// deleted, such a resource owns nothing in Entra and is let go.
func (p *pass) admit(obj client.Object, allowed map[string]bool) bool {
	if allowed[obj.GetNamespace()] {
		return true
	}
	o := p.outcome(manifests.RefOf(obj, kindOf(obj)))
	o.problem = &policy.Problem{Reason: ReasonNamespaceNotAllowed, Message: fmt.Sprintf(
		"namespace %s is not allowed to write to EntraTenant %s: its labels do not match the tenant's spec.allowedNamespaces",
		obj.GetNamespace(), p.tenant.Name)}
	return false
}

// recordProfileIDs writes each profile's id from ids into its status where
// it differs; why says, in errors, what the id is for.
func (p *pass) recordProfileIDs(ctx context.Context, ids map[policy.Ref]string, why string) error {
	for _, obj := range p.res.profiles {
		id, ok := ids[manifests.RefOf(obj, policy.KindProfile)]
		if !ok || id == obj.Status.ProfileID {
			continue
		}
		obj.Status.ProfileID = id
		if err := p.r.Status().Patch(ctx, obj, client.MergeFrom(p.originals[obj])); err != nil {
			return fmt.Errorf("recording %s for PasskeyProfile %s/%s: %w", why, obj.Namespace, obj.Name, err)
		}
		p.originals[obj] = obj.DeepCopy()
	}
	return nil
}

// apply diffs, sends one merged PATCH when an Enforce resource differs, and
// reads the result back to confirm Entra kept it.
func (p *pass) apply(ctx context.Context, graph Graph) error {
	before := policy.Diff(p.desired, p.observed)
	merged, report := policy.Merge(p.observed, p.desired)
	for ref, problem := range report.Problems {
		p.outcome(ref).problem = &problem
	}
	for _, kept := range report.Kept {
		if kept.Ref != (policy.Ref{}) && !kept.Default {
			o := p.outcome(kept.Ref)
			for _, a := range kept.Assignments {
				o.keptFor = append(o.keptFor, "GroupAssignment "+a.Namespace+"/"+a.Name)
			}
			for _, target := range kept.Targets {
				o.keptFor = append(o.keptFor, "include target "+target)
			}
		}
	}
	if report.Changed {
		body, err := entra.PatchFromPolicy(merged)
		if err != nil {
			return err
		}
		if err := graph.PatchFido2(ctx, body); err != nil {
			return err
		}
		readBack, err := graph.GetFido2(ctx)
		if err != nil {
			return err
		}
		p.final = entra.ToPolicy(readBack)
		p.applied = slices.Concat(report.Removed, describeWrites(p.desired, before))
		// Entra may store a new profile under another id than the one we
		// sent: the read-back, matched by name, has the last word.
		if err := p.recordProfileIDs(ctx, policy.MatchByName(p.desired, p.final), "Entra's profile id"); err != nil {
			return err
		}
	}
	after := policy.Diff(p.desired, p.final)
	for ref, drift := range before {
		if _, remains := after[ref]; !remains {
			p.outcome(ref).corrected = drift
		}
	}
	for ref, drift := range after {
		p.outcome(ref).drift = drift
	}
	p.unmanaged = policy.Unmanaged(p.final, p.desired)
	return nil
}

// releaseDeleted lets Kubernetes forget deleted resources whose slice is
// gone from Entra, orphaned, or never was theirs.
func (p *pass) releaseDeleted(ctx context.Context) error {
	for _, obj := range p.res.objects() {
		if obj.GetDeletionTimestamp().IsZero() {
			continue
		}
		o := p.outcome(manifests.RefOf(obj, kindOf(obj)))
		if len(o.keptFor) > 0 {
			continue
		}
		if err := p.r.removeFinalizer(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *passkeysv1alpha1.PasskeyProfile:
		return policy.KindProfile
	case *passkeysv1alpha1.EntraTenant:
		return policy.KindTenant
	}
	return policy.KindAssignment
}

// describeWrites names each resource whose slice this pass wrote, for the
// Applied event.
func describeWrites(desired policy.Desired, drift map[policy.Ref][]policy.Drift) []string {
	var out []string
	for _, d := range desired.Profiles {
		if _, ok := drift[d.Spec.Ref]; ok && d.Spec.Enforce {
			out = append(out, "wrote "+d.Spec.Ref.String())
		}
	}
	for _, d := range desired.Assignments {
		if _, ok := drift[d.Spec.Ref]; ok && d.Spec.Enforce {
			out = append(out, "wrote "+d.Spec.Ref.String())
		}
	}
	if _, ok := drift[desired.Tenant.Spec.Ref]; ok {
		out = append(out, "wrote method settings")
	}
	return out
}

func renderDrift(drift []policy.Drift) string {
	parts := make([]string, 0, len(drift))
	for _, d := range drift {
		parts = append(parts, fmt.Sprintf("%s (want %s, Entra has %s)", d.Field, d.Desired, d.Observed))
	}
	return strings.Join(parts, "; ")
}

func statusChanged(a, b runtime.Object) bool {
	return !equality.Semantic.DeepEqual(statusValue(a), statusValue(b))
}
