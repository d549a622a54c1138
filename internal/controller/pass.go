package controller

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

// pass is one reconcile of one tenant: what was read, what policy.Decide
// decided, and what is left to write to the statuses at the end.
type pass struct {
	r      *TenantReconciler
	tenant *passkeysv1alpha1.EntraTenant
	res    resources
	// originals are the objects as read, to patch statuses against and to
	// tell what changed.
	originals map[passkeysv1alpha1.Object]passkeysv1alpha1.Object
	// refused are the resources from namespaces the tenant does not allow:
	// they take no part in the decision.
	refused   map[policy.Ref]policy.Problem
	decision  policy.Decision
	confirmed policy.Confirmation
	// final is what Entra holds at the end of the pass.
	final policy.Policy
	// applied says what this pass's PATCHes wrote, for the Applied event,
	// and patches how many it sent.
	applied []string
	patches int
	// err is a failure that stopped the pass; every resource reports it.
	err error
	// suspended: the tenant is suspended; nothing was read or written.
	suspended bool
	// catalog is the authenticator catalog the pass resolves names in.
	catalog specs.Catalog
}

func (r *TenantReconciler) newPass(tenant *passkeysv1alpha1.EntraTenant, res resources) *pass {
	p := &pass{r: r, tenant: tenant, res: res, catalog: r.catalog(),
		originals: map[passkeysv1alpha1.Object]passkeysv1alpha1.Object{}, refused: map[policy.Ref]policy.Problem{}}
	p.originals[tenant] = tenant.DeepCopy()
	for _, o := range res.objects() {
		p.originals[o] = o.DeepCopyObject().(passkeysv1alpha1.Object)
	}
	return p
}

// failAll stops the pass: every resource reports err, and the error decides
// when the tenant is tried again (see failureResult) and whether that needs
// a new sign-in.
func (p *pass) failAll(err error) (ctrl.Result, error) {
	p.err = err
	p.r.disconnectAfter(p.tenant.Name, err)
	return failureResult(err, p.r.failures.before(p.tenant.Name), p.tenant.GetResyncInterval())
}

// declare builds the policy the resources the tenant admits declare,
// resolving the groups they name.
func (p *pass) declare(ctx context.Context, groups specs.Groups, allowed map[string]bool) (policy.Declared, error) {
	profiles := admit(p, p.res.profiles, allowed)
	assignments := admit(p, p.res.assignments, allowed)
	return specs.Declared(ctx, p.tenant, profiles, assignments, groups, p.catalog)
}

// decide makes the pass's decision from what Entra holds and what the
// resources declare, and records the ids of the profiles Entra holds.
func (p *pass) decide(ctx context.Context, declared policy.Declared, observed policy.Policy) error {
	p.final = observed
	p.decision = policy.Decide(observed, declared)
	return p.recordProfileIDs(ctx, p.decision.IDs)
}

// admit keeps the resources from namespaces the tenant allows and records
// why the others are refused; being deleted, such a resource owns nothing
// in Entra and is let go.
func admit[T passkeysv1alpha1.TenantObject](p *pass, objs []T, allowed map[string]bool) []T {
	var out []T
	for _, obj := range objs {
		if allowed[obj.GetNamespace()] {
			out = append(out, obj)
			continue
		}
		p.refused[specs.RefOf(obj)] = policy.Problem{Reason: ReasonNamespaceNotAllowed, Message: fmt.Sprintf(
			"namespace %s is not allowed to write to EntraTenant %s: its labels do not match the tenant's spec.allowedNamespaces",
			obj.GetNamespace(), p.tenant.Name)}
	}
	return out
}

// write sends the decided document, if any, reads it back to confirm Entra
// kept it, and goes on while the decision does: new profiles are created
// without ids, and only once the read-back has given them Entra's ids can a
// second write let targets name them. A crash in between adopts them by
// name, never creating a duplicate (DESIGN §3).
func (p *pass) write(ctx context.Context, graph Graph) error {
	for p.decision.Send != nil && p.patches < policy.MaxPatches {
		body, err := entra.PatchFromPolicy(*p.decision.Send)
		if err != nil {
			return err
		}
		if err := p.recordClaims(ctx, p.decision.Claims()); err != nil {
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
		p.applied = append(p.applied, p.decision.Written...)
		p.patches++
		p.decision = p.decision.Continue(p.final)
		if err := p.recordProfileIDs(ctx, p.decision.IDs); err != nil {
			return err
		}
	}
	p.confirmed = p.decision.Confirm(p.final)
	return nil
}

// recordClaims writes to status, before a PATCH is sent, what it may make
// each resource own in Entra: the name of a profile it creates, a target it
// writes. If the PATCH is applied but its outcome never recorded (a crash, a
// failed read-back), a rename, move or deletion that follows still finds
// the item and takes it along, rather than leave it as unmanaged
// (docs/reliability.md). A claim that cannot be recorded stops the pass
// before anything is sent.
func (p *pass) recordClaims(ctx context.Context, claims policy.Claims) error {
	for _, obj := range p.res.profiles {
		if name, ok := claims.Names[specs.RefOf(obj)]; ok && name != obj.Status.PendingName {
			obj.Status.PendingName = name
			if err := p.patchOwnership(ctx, obj, "the name of the profile it creates"); err != nil {
				return err
			}
		}
	}
	for _, obj := range p.res.assignments {
		target, ok := claims.Targets[specs.RefOf(obj)]
		held := specs.HeldTargets(obj.Status)
		if !ok || held.Holds(target) {
			continue
		}
		specs.SetHeldTargets(&obj.Status, held.Claim(target))
		if err := p.patchOwnership(ctx, obj, "the target it writes"); err != nil {
			return err
		}
	}
	return nil
}

// recordProfileIDs writes each profile's Entra id from ids into its status
// where it differs; with the id known, a pending name has done its work.
func (p *pass) recordProfileIDs(ctx context.Context, ids map[policy.Ref]string) error {
	for _, obj := range p.res.profiles {
		id, ok := ids[specs.RefOf(obj)]
		if !ok || (id == obj.Status.ProfileID && obj.Status.PendingName == "") {
			continue
		}
		obj.Status.ProfileID, obj.Status.PendingName = id, ""
		if err := p.patchOwnership(ctx, obj, "Entra's profile id"); err != nil {
			return err
		}
	}
	return nil
}

// patchOwnership writes obj's status at once, in the middle of the pass,
// and remembers it until the cache has it (see ledger).
func (p *pass) patchOwnership(ctx context.Context, obj passkeysv1alpha1.TenantObject, what string) error {
	if err := p.r.Status().Patch(ctx, obj, client.MergeFrom(p.originals[obj].(client.Object))); err != nil {
		return fmt.Errorf("recording %s in the status of %s %s/%s: %w", what, obj.ResourceKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	p.r.ledger.record(obj)
	p.originals[obj] = obj.DeepCopyObject().(passkeysv1alpha1.Object)
	return nil
}

// releaseDeleted lets Kubernetes forget deleted resources whose slice is
// gone from Entra, orphaned, or never was theirs.
func (p *pass) releaseDeleted(ctx context.Context) error {
	for _, obj := range p.res.objects() {
		if obj.GetDeletionTimestamp().IsZero() || len(p.outcome(obj).keptFor) > 0 {
			continue
		}
		if err := p.r.removeFinalizer(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

// outcome is what the pass found for one resource, as its status shows it.
type outcome struct {
	problem *policy.Problem
	// drift is what still differs at the end of the pass.
	drift []policy.Drift
	// corrected is drift found and written back in this pass.
	corrected []policy.Drift
	// keptFor lists what keeps a deleted profile in Entra.
	keptFor []string
	// usedBy are the assignments naming a profile, as namespace/name.
	usedBy  []string
	groupID string
	// warnings are added to the Ready message when Entra matches the spec.
	warnings []string
}

func (p *pass) outcome(obj passkeysv1alpha1.Object) outcome {
	ref := specs.RefOf(obj)
	if problem, refused := p.refused[ref]; refused {
		return outcome{problem: &problem}
	}
	o := p.decision.Outcomes[ref]
	out := outcome{problem: o.Problem, drift: p.nameAAGUIDs(p.confirmed.Drift[ref]), corrected: p.nameAAGUIDs(p.confirmed.Corrected[ref]),
		keptFor: o.KeptFor, groupID: o.GroupID, warnings: o.Warnings}
	for _, user := range o.UsedBy {
		out.usedBy = append(out.usedBy, user.Namespace+"/"+user.Name)
	}
	return out
}
