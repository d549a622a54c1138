package controller

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// Conditions follow kstatus, so kubectl wait, Flux and Argo CD read them
// without help (docs/gitops.md): Ready=True is Current; Reconciling=True is
// InProgress, for what clears by itself; Stalled=True is Failed, for what
// only a person can fix. Everything here is pure.

// verdict is everything that decides a resource's conditions at the end of
// a pass.
type verdict struct {
	// tenantSuspended is the message to show when the tenant is suspended.
	tenantSuspended string
	// err stopped the pass.
	err error
	// suspended is the message to show when the resource itself is suspended.
	suspended string
	// enforced is driftPolicy Enforce, the resource's own or its tenant's.
	enforced bool
	outcome
}

// setConditions writes the verdict into s. What wins, in order: the tenant
// is suspended, the pass failed, the resource is suspended, a problem that
// clears by itself, a problem a person must fix, a deleted profile still in
// use, and else the comparison with Entra.
func (v verdict) setConditions(s *passkeysv1alpha1.SyncStatus, gen int64) {
	switch {
	case v.tenantSuspended != "":
		setSuspended(s, gen, v.tenantSuspended)
	case v.err != nil:
		setFailure(s, gen, v.err)
	case v.suspended != "":
		setSuspended(s, gen, v.suspended)
	case v.problem != nil && waits(v.problem.Reason):
		setProgressing(s, gen, v.problem.Reason, v.problem.Message)
	case v.problem != nil:
		stall(s, gen, v.problem.Reason, v.problem.Message)
	case len(v.keptFor) > 0:
		setProgressing(s, gen, ReasonInUse, "kept in Entra while it is still used by "+strings.Join(v.keptFor, ", ")+
			"; remove the profile from them to let the deletion finish")
	default:
		setSynced(s, gen, v.drift, v.enforced)
		warnWhenReady(s, v.warnings)
	}
}

// warnWhenReady adds warnings to a True Ready condition's message: the
// spec holds, but does not do what it seems to.
func warnWhenReady(s *passkeysv1alpha1.SyncStatus, warnings []string) {
	ready := meta.FindStatusCondition(s.Conditions, passkeysv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || len(warnings) == 0 {
		return
	}
	ready.Message += "; warning: " + strings.Join(warnings, "; ")
}

// waits says whether a problem clears by itself once another resource or
// a lookup catches up, rather than needing a change to this resource.
func waits(reason string) bool {
	return reason == policy.ReasonProfileNotReady || reason == policy.ReasonGroupNotResolved ||
		reason == policy.ReasonNoDefaultProfile
}

func setCondition(s *passkeysv1alpha1.SyncStatus, generation int64, condition string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type: condition, Status: status, Reason: reason, Message: message, ObservedGeneration: generation,
	})
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
	switch {
	case f.stalled && stalledBy(s, gen, f):
		// A retry that failed as the last pass did: only Graph's request id
		// can differ, and a new one is not worth a status write and a
		// Warning event on every resource at every retry.
	case f.stalled:
		stall(s, gen, f.reason, f.message)
	default:
		setProgressing(s, gen, f.reason, f.message)
	}
}

// stalledBy says whether s already shows f for this generation.
func stalledBy(s *passkeysv1alpha1.SyncStatus, gen int64, f failure) bool {
	c := meta.FindStatusCondition(s.Conditions, passkeysv1alpha1.ConditionStalled)
	return c != nil && c.Status == metav1.ConditionTrue && c.Reason == f.reason &&
		c.ObservedGeneration == gen && s.ObservedGeneration == gen && entra.SameFailure(c.Message, f.message)
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

// comparedBefore says whether an earlier pass already found Entra holding
// this generation of the spec (Drifted is set only by a successful
// comparison). Then a difference written back now is drift, someone else's
// change undone; otherwise it is the spec being applied: a new resource or
// an edited one, which is no cause for a Warning.
func comparedBefore(s *passkeysv1alpha1.SyncStatus, generation int64) bool {
	drifted := meta.FindStatusCondition(s.Conditions, passkeysv1alpha1.ConditionDrifted)
	return drifted != nil && drifted.ObservedGeneration == generation
}
