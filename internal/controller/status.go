package controller

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/policy"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

// writeStatuses turns the pass's outcomes into statuses, writes the ones
// that changed and emits an event for each change people should see.
func (p *pass) writeStatuses(ctx context.Context) error {
	for _, obj := range p.res.profiles {
		obj.Status.UsedBy = p.outcome(obj).usedBy
		// Entra's own name matters for the default profile, which the spec
		// does not name.
		if entra, ok := p.final.ProfileByID(obj.Status.ProfileID); ok {
			obj.Status.Name = entra.Name
		}
	}
	for _, obj := range p.res.assignments {
		if o := p.outcome(obj); o.groupID != "" {
			obj.Status.ResolvedGroupID = o.groupID
		}
	}
	if p.readEntra() {
		p.settleOwnership()
	}
	// Whatever the pass did: the report is read apart from it.
	p.applyRegistration()
	p.setAuthenticators()
	// The tenant's status first, the resources' last: a user who applies
	// the next change the moment a resource turns Ready then finds the pass
	// over, and the change starts a pass at once (see coalescer).
	t := p.tenant
	o := p.outcome(t)
	v := verdict{err: p.err, enforced: t.GetDriftPolicy() != passkeysv1alpha1.DriftPolicyReport,
		outcome: outcome{drift: o.drift, warnings: o.warnings}}
	if p.suspended {
		v.tenantSuspended = "spec.suspend is true: the operator neither reads nor writes this tenant"
	}
	p.setStatus(t, v)
	if p.readEntra() {
		t.Status.Unmanaged = unmanagedStatus(p.confirmed.Unmanaged)
	}
	p.emitApplied()
	p.emitTransitions(t, p.originals[t], o, v.enforced)
	synced := meta.IsStatusConditionTrue(t.Status.Conditions, passkeysv1alpha1.ConditionReady)
	errs := []error{p.r.patchStatus(ctx, t, p.originals[t], synced)}

	for _, obj := range p.res.objects() {
		o := p.outcome(obj)
		enforced := specs.Enforced(obj, p.tenant)
		v := verdict{err: p.err, enforced: enforced, outcome: o}
		if p.suspended {
			v.tenantSuspended = "EntraTenant " + p.tenant.Name + " is suspended"
		}
		if obj.IsSuspended() {
			v.suspended = "spec.suspend is true: the operator neither writes this resource to Entra nor checks it for drift"
		}
		p.setStatus(obj, v)
		p.emitTransitions(obj, p.originals[obj], o, enforced)
		errs = append(errs, p.r.patchStatus(ctx, obj, p.originals[obj], false))
	}

	return errors.Join(errs...)
}

// setStatus writes what every kind shows: the handled reconcile request
// and the conditions.
func (p *pass) setStatus(obj passkeysv1alpha1.Object, v verdict) {
	s := obj.SyncStatus()
	if request, ok := obj.GetAnnotations()[passkeysv1alpha1.ReconcileRequestAnnotation]; ok {
		s.LastHandledReconcileAt = request
	}
	v.setConditions(s, obj.GetGeneration())
}

// readEntra says whether the pass read Entra to its end: p.final is what
// Entra holds after every write the pass sent.
func (p *pass) readEntra() bool { return !p.suspended && p.err == nil }

// settleOwnership narrows what each resource's status says it owns to what
// Entra holds at the end of the pass. An assignment's declared target
// becomes its own only after a clean pass: a resource with a problem may be
// looking at another resource's target (a conflict).
func (p *pass) settleOwnership() {
	for _, obj := range p.res.profiles {
		obj.Status.PendingName = policy.SettleName(obj.Status.PendingName, obj.Status.ProfileID, p.final)
	}
	for _, obj := range p.res.assignments {
		o := p.outcome(obj)
		declared := specs.AppliedTarget(passkeysv1alpha1.AppliedTarget{GroupID: o.groupID, Mode: obj.Spec.Mode})
		confirmed := o.groupID != "" && o.problem == nil && obj.DeletionTimestamp.IsZero()
		specs.SetHeldTargets(&obj.Status, policy.SettleTargets(specs.HeldTargets(obj.Status), declared, confirmed, p.final))
	}
}

func unmanagedStatus(u policy.UnmanagedSummary) *passkeysv1alpha1.UnmanagedSummary {
	if len(u.Profiles)+len(u.IncludeTargets)+len(u.ExcludeTargets) == 0 {
		return nil
	}
	out := &passkeysv1alpha1.UnmanagedSummary{IncludeTargets: u.IncludeTargets, ExcludeTargets: u.ExcludeTargets}
	for _, pr := range u.Profiles {
		out.Profiles = append(out.Profiles, passkeysv1alpha1.UnmanagedProfile{ID: pr.ID, Name: pr.Name})
	}
	return out
}

// patchStatus writes o's status if it differs from before's. lastSyncTime
// is stamped only on such a write, so a quiet resync writes nothing, unless
// stampAlways: the tenant's status is where people and alerts see that
// syncing goes on, so it is stamped on every successful pass.
func (r *TenantReconciler) patchStatus(ctx context.Context, o, before passkeysv1alpha1.Object, stampAlways bool) error {
	if stampAlways || statusChanged(o, before) {
		now := metav1.NewTime(r.now())
		o.SyncStatus().LastSyncTime = &now
	}
	if !statusChanged(o, before) {
		return nil
	}
	err := r.Status().Patch(ctx, o, client.MergeFrom(before))
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("writing status of %s %s: %w", o.ResourceKind(), client.ObjectKeyFromObject(o), err)
	}
	if err == nil && ownershipChanged(o, before) {
		r.ledger.record(o)
	}
	return nil
}

func statusChanged(a, b passkeysv1alpha1.Object) bool {
	return !equality.Semantic.DeepEqual(a.StatusValue(), b.StatusValue())
}
