package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/manifests"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// failureResult decides how a failed pass is retried: throttling waits for
// Retry-After, a transient failure returns the error so controller-runtime
// backs off exponentially, and a failure only a person can fix (credentials,
// permissions, a refused document) waits for a change instead of looping.
func failureResult(err error) (ctrl.Result, error) {
	class := classify(err)
	switch class.reason {
	case ReasonThrottled:
		return ctrl.Result{RequeueAfter: max(class.retryAfter, time.Second)}, nil
	case ReasonGraphUnavailable:
		if class.retryAfter > 0 {
			return ctrl.Result{RequeueAfter: class.retryAfter}, nil
		}
		return ctrl.Result{}, err
	default:
		return ctrl.Result{}, nil
	}
}

// failure is a pass-wide failure as conditions show it.
type failure struct {
	reason     string
	message    string
	stalled    bool
	retryAfter time.Duration
}

func classify(err error) failure {
	if isCredentialsError(err) {
		return failure{reason: ReasonCredentialsInvalid, message: err.Error(), stalled: true}
	}
	switch class := entra.Classify(err); class {
	case entra.ClassThrottled:
		return failure{reason: ReasonThrottled, message: "Graph is throttling requests; retrying after Retry-After: " + err.Error(), retryAfter: entra.RetryAfter(err)}
	case entra.ClassAuth, entra.ClassConfig:
		return failure{reason: ReasonCredentialsInvalid, message: err.Error(), stalled: true}
	case entra.ClassForbidden:
		return failure{reason: ReasonForbidden, message: err.Error(), stalled: true}
	case entra.ClassInvalid, entra.ClassNotFound:
		return failure{reason: ReasonRefusedByEntra, message: err.Error(), stalled: true}
	default:
		return failure{reason: ReasonGraphUnavailable, message: err.Error(), retryAfter: entra.RetryAfter(err)}
	}
}

// statusOf returns the shared part of a resource's status, for writing.
func statusOf(o client.Object) *passkeysv1alpha1.SyncStatus {
	switch obj := o.(type) {
	case *passkeysv1alpha1.PasskeyProfile:
		return &obj.Status.SyncStatus
	case *passkeysv1alpha1.GroupAssignment:
		return &obj.Status.SyncStatus
	case *passkeysv1alpha1.EntraTenant:
		return &obj.Status.SyncStatus
	}
	panic(fmt.Sprintf("statusOf: unexpected %T", o))
}

// statusValue returns a resource's whole status, for comparing.
func statusValue(o runtime.Object) any {
	switch obj := o.(type) {
	case *passkeysv1alpha1.PasskeyProfile:
		return obj.Status
	case *passkeysv1alpha1.GroupAssignment:
		return obj.Status
	case *passkeysv1alpha1.EntraTenant:
		return obj.Status
	}
	panic(fmt.Sprintf("statusValue: unexpected %T", o))
}

// patchStatus writes o's status if it differs from before's. lastSyncTime
// is stamped only on such a write, so a quiet resync writes nothing, unless
// stampAlways: the tenant's status is where people and alerts see that
// syncing goes on, so it is stamped on every successful pass.
func (r *TenantReconciler) patchStatus(ctx context.Context, o, before client.Object, stampAlways bool) error {
	if stampAlways || statusChanged(o, before) {
		now := metav1.NewTime(r.now())
		statusOf(o).LastSyncTime = &now
	}
	if !statusChanged(o, before) {
		return nil
	}
	if err := r.Status().Patch(ctx, o, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("writing status of %T %s: %w", o, client.ObjectKeyFromObject(o), err)
	}
	return nil
}

// writeStatuses turns the pass's outcomes into conditions, writes the
// statuses that changed and emits an event for each change people should see.
func (p *pass) writeStatuses(ctx context.Context) error {
	var errs []error
	for _, obj := range p.res.objects() {
		ref := manifests.RefOf(obj, kindOf(obj))
		p.setResourceStatus(obj, p.outcome(ref))
		p.emitTransitions(obj, p.originals[obj], p.outcome(ref))
		errs = append(errs, p.r.patchStatus(ctx, obj, p.originals[obj], false))
	}
	p.setTenantStatus()
	if len(p.applied) > 0 && p.r.Events != nil {
		p.r.Events.Eventf(p.tenant, nil, corev1.EventTypeNormal, ReasonApplied, "Patch",
			"Applied one PATCH to the fido2 policy: %s", strings.Join(p.applied, "; "))
	}
	p.emitTransitions(p.tenant, p.originals[p.tenant], p.outcome(p.desired.Tenant.Spec.Ref))
	synced := meta.IsStatusConditionTrue(p.tenant.Status.Conditions, passkeysv1alpha1.ConditionReady)
	errs = append(errs, p.r.patchStatus(ctx, p.tenant, p.originals[p.tenant], synced))
	p.r.Metrics.recordPass(p)
	return errors.Join(errs...)
}

func (p *pass) setResourceStatus(obj client.Object, o *outcome) {
	s := statusOf(obj)
	gen := obj.GetGeneration()
	switch obj := obj.(type) {
	case *passkeysv1alpha1.PasskeyProfile:
		obj.Status.UsedBy = o.usedBy
	case *passkeysv1alpha1.GroupAssignment:
		if o.groupID != "" {
			obj.Status.ResolvedGroupID = o.groupID
		}
		if t := p.appliedTarget(obj, o); t != nil {
			obj.Status.AppliedTarget = t
		}
	}
	if annotation, ok := obj.GetAnnotations()[passkeysv1alpha1.ReconcileRequestAnnotation]; ok {
		s.LastHandledReconcileAt = annotation
	}

	switch {
	case p.suspended:
		setSuspended(s, gen, "EntraTenant "+p.tenant.Name+" is suspended")
	case p.err != nil:
		setFailure(s, gen, p.err)
	case suspended(obj):
		setSuspended(s, gen, "spec.suspend is true: the operator neither writes this resource to Entra nor checks it for drift")
	case o.problem != nil && waits(o.problem.Reason):
		setProgressing(s, gen, o.problem.Reason, o.problem.Message)
	case o.problem != nil:
		stall(s, gen, o.problem.Reason, o.problem.Message)
	case len(o.keptFor) > 0:
		setProgressing(s, gen, ReasonInUse, "kept in Entra while it is still used by "+strings.Join(o.keptFor, ", ")+
			"; remove the profile from them to let the deletion finish")
	default:
		setSynced(s, gen, o.drift, enforcedOf(obj, p.tenant))
	}
}

// appliedTarget is the assignment's target if Entra holds it at the end of
// the pass, so that a later move to another group or mode can take it out;
// nil leaves the last one recorded.
func (p *pass) appliedTarget(a *passkeysv1alpha1.GroupAssignment, o *outcome) *passkeysv1alpha1.AppliedTarget {
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

func (p *pass) setTenantStatus() {
	t := p.tenant
	s := &t.Status.SyncStatus
	o := p.outcome(p.desired.Tenant.Spec.Ref)
	if a, ok := t.Annotations[passkeysv1alpha1.ReconcileRequestAnnotation]; ok {
		s.LastHandledReconcileAt = a
	}
	switch {
	case p.suspended:
		setSuspended(s, t.Generation, "spec.suspend is true: the operator neither reads nor writes this tenant")
	case p.err != nil:
		setFailure(s, t.Generation, p.err)
	default:
		setSynced(s, t.Generation, o.drift, t.Spec.DriftPolicy != passkeysv1alpha1.DriftPolicyReport)
		t.Status.Unmanaged = unmanagedStatus(p.unmanaged)
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

// waits says whether a problem clears by itself once another resource or
// a lookup catches up, rather than needing a change to this resource.
func waits(reason string) bool {
	return reason == policy.ReasonProfileNotReady || reason == policy.ReasonGroupNotResolved
}

func suspended(obj client.Object) bool {
	switch o := obj.(type) {
	case *passkeysv1alpha1.PasskeyProfile:
		return o.Spec.Suspend
	case *passkeysv1alpha1.GroupAssignment:
		return o.Spec.Suspend
	}
	return false
}

func enforcedOf(obj client.Object, tenant *passkeysv1alpha1.EntraTenant) bool {
	switch o := obj.(type) {
	case *passkeysv1alpha1.PasskeyProfile:
		return manifests.Enforced(o.Spec.DriftPolicy, tenant)
	case *passkeysv1alpha1.GroupAssignment:
		return manifests.Enforced(o.Spec.DriftPolicy, tenant)
	}
	return true
}

// setSuspended advances observedGeneration: the operator has seen this
// generation and deliberately left Entra alone, and kstatus tooling then
// shows the Suspended message rather than "generation not observed".
func setSuspended(s *passkeysv1alpha1.SyncStatus, gen int64, message string) {
	s.ObservedGeneration = gen
	setCondition(s, gen, passkeysv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonSuspended, message)
	meta.RemoveStatusCondition(&s.Conditions, passkeysv1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(&s.Conditions, passkeysv1alpha1.ConditionStalled)
}

func setProgressing(s *passkeysv1alpha1.SyncStatus, gen int64, reason, message string) {
	setCondition(s, gen, passkeysv1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	setCondition(s, gen, passkeysv1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, message)
	meta.RemoveStatusCondition(&s.Conditions, passkeysv1alpha1.ConditionStalled)
}

// stall marks a status as needing a change from a person. It advances
// observedGeneration: the operator has acted on this generation and found it
// cannot succeed, and kstatus (the library Flux health checks use) reports
// Stalled as Failed only once the generation is observed; before that it
// shows InProgress, which would leave a stalled resource "in progress" forever.
func stall(s *passkeysv1alpha1.SyncStatus, generation int64, reason, message string) {
	s.ObservedGeneration = generation
	setCondition(s, generation, passkeysv1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	setCondition(s, generation, passkeysv1alpha1.ConditionStalled, metav1.ConditionTrue, reason, message)
	meta.RemoveStatusCondition(&s.Conditions, passkeysv1alpha1.ConditionReconciling)
}

func setFailure(s *passkeysv1alpha1.SyncStatus, gen int64, err error) {
	f := classify(err)
	if f.stalled {
		stall(s, gen, f.reason, f.message)
		return
	}
	setProgressing(s, gen, f.reason, f.message)
}

// setSynced records a successful comparison with Entra. Drift left at the
// end of a pass is Report drift, or Enforce drift Entra did not keep.
func setSynced(s *passkeysv1alpha1.SyncStatus, gen int64, drift []policy.Drift, enforced bool) {
	s.ObservedGeneration = gen
	s.Drift = nil
	for _, d := range drift {
		s.Drift = append(s.Drift, passkeysv1alpha1.DriftEntry{Field: d.Field, Desired: d.Desired, Observed: d.Observed})
	}
	meta.RemoveStatusCondition(&s.Conditions, passkeysv1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(&s.Conditions, passkeysv1alpha1.ConditionStalled)
	switch {
	case len(drift) == 0:
		setCondition(s, gen, passkeysv1alpha1.ConditionDrifted, metav1.ConditionFalse, ReasonSucceeded, "Entra matches the spec")
		setCondition(s, gen, passkeysv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonSucceeded, "Entra matches the spec")
	case enforced:
		message := "Entra did not keep what was written: " + renderDrift(drift)
		setCondition(s, gen, passkeysv1alpha1.ConditionDrifted, metav1.ConditionTrue, ReasonNotPersisted, message)
		stall(s, gen, ReasonNotPersisted, message)
	default:
		// Report drift is Stalled: the operator will not correct it, so only a
		// person (in the portal or in Git) can end it. Without Stalled, kstatus
		// reads Ready=False as InProgress, and Flux's wait would hang until its
		// timeout on a resource nothing is working on (docs/gitops.md).
		message := "Entra differs from the spec (driftPolicy Report, not corrected): " + renderDrift(drift)
		setCondition(s, gen, passkeysv1alpha1.ConditionDrifted, metav1.ConditionTrue, ReasonDriftDetected, message)
		stall(s, gen, ReasonDriftDetected, message)
	}
}

// emitTransitions records an event when the Ready condition changes, and
// for what a PATCH wrote: never on a quiet resync.
func (p *pass) emitTransitions(obj, before client.Object, o *outcome) {
	if p.r.Events == nil {
		return
	}
	if len(o.corrected) > 0 && enforcedOf(obj, p.tenant) {
		if comparedBefore(statusOf(before), obj.GetGeneration()) {
			p.r.Events.Eventf(obj, nil, corev1.EventTypeWarning, ReasonDriftDetected, "Correct",
				"Entra differed from the spec and was corrected: %s", renderDrift(o.corrected))
		} else {
			p.r.Events.Eventf(obj, nil, corev1.EventTypeNormal, ReasonApplied, "Apply",
				"Wrote the spec to Entra: %s", renderDrift(o.corrected))
		}
	}
	was := meta.FindStatusCondition(statusOf(before).Conditions, passkeysv1alpha1.ConditionReady)
	now := meta.FindStatusCondition(statusOf(obj).Conditions, passkeysv1alpha1.ConditionReady)
	if now == nil || (was != nil && was.Status == now.Status && was.Reason == now.Reason && was.Message == now.Message) {
		return
	}
	eventType := corev1.EventTypeWarning
	if now.Status == metav1.ConditionTrue || now.Reason == ReasonSuspended {
		eventType = corev1.EventTypeNormal
	}
	p.r.Events.Eventf(obj, nil, eventType, now.Reason, "Reconcile", "%s", now.Message)
}

// comparedBefore says whether an earlier pass already found Entra holding
// this generation of the spec (Drifted is set only by a successful
// comparison). Then a difference written back now is drift, someone else's
// change undone; otherwise it is the spec being applied: a new resource or
// an edited one, which is no cause for a Warning.
func comparedBefore(s *passkeysv1alpha1.SyncStatus, generation int64) bool {
	drifted := meta.FindStatusCondition(s.Conditions, passkeysv1alpha1.ConditionDrifted)
	return drifted != nil && drifted.ObservedGeneration == generation
}

// readSecret reads the credential Secret's key straight from the API server.
func (r *TenantReconciler) readSecret(ctx context.Context, ref *passkeysv1alpha1.SecretKeyRef) ([]byte, error) {
	var secret corev1.Secret
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &secret); err != nil {
		return nil, &credentialsError{err: fmt.Errorf("reading Secret %s/%s: %w", ref.Namespace, ref.Name, err)}
	}
	value, ok := secret.Data[ref.Key]
	if !ok || len(value) == 0 {
		return nil, &credentialsError{err: fmt.Errorf("secret %s/%s has no key %q", ref.Namespace, ref.Name, ref.Key)}
	}
	return value, nil
}
