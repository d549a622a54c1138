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
		o := p.outcome(obj)
		if o.groupID != "" {
			obj.Status.ResolvedGroupID = o.groupID
		}
		if t := p.appliedTarget(obj, o); t != nil {
			obj.Status.AppliedTarget = t
		}
	}
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
	if !p.suspended && p.err == nil {
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

// appliedTarget is the assignment's target if Entra holds it at the end of
// the pass, so that a later move to another group or mode can take it out;
// nil leaves the last one recorded.
func (p *pass) appliedTarget(a *passkeysv1alpha1.GroupAssignment, o outcome) *passkeysv1alpha1.AppliedTarget {
	// A resource with a problem may be looking at another resource's target
	// (a conflict): only a clean pass says the target is its own.
	if o.groupID == "" || o.problem != nil || !a.DeletionTimestamp.IsZero() {
		return nil
	}
	mode := passkeysv1alpha1.AssignmentInclude
	targets := p.final.IncludeTargets
	if a.Spec.Mode == passkeysv1alpha1.AssignmentExclude {
		mode, targets = passkeysv1alpha1.AssignmentExclude, p.final.ExcludeTargets
	}
	if !policy.HasTarget(targets, o.groupID) {
		return nil
	}
	return &passkeysv1alpha1.AppliedTarget{GroupID: o.groupID, Mode: mode}
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
	if err := r.Status().Patch(ctx, o, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("writing status of %s %s: %w", o.ResourceKind(), client.ObjectKeyFromObject(o), err)
	}
	return nil
}

func statusChanged(a, b passkeysv1alpha1.Object) bool {
	return !equality.Semantic.DeepEqual(a.StatusValue(), b.StatusValue())
}
