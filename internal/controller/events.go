package controller

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// Events say what changed, never that nothing did (docs/events.md): a
// quiet resync records none.

// emitApplied records, on the tenant, what the pass's PATCHes wrote.
func (p *pass) emitApplied() {
	if len(p.applied) == 0 || p.r.Events == nil {
		return
	}
	// A second PATCH names the profiles the first created (ADR 0009).
	count := "one PATCH"
	if p.patches > 1 {
		count = "two PATCHes"
	}
	p.r.Events.Eventf(p.tenant, nil, corev1.EventTypeNormal, ReasonApplied, "Patch",
		"Applied %s to the fido2 policy: %s", count, strings.Join(p.applied, "; "))
}

// emitTransitions records an event when the Ready condition changes, and
// for what a PATCH wrote: never on a quiet resync.
func (p *pass) emitTransitions(obj, before passkeysv1alpha1.Object, o outcome, enforced bool) {
	if p.r.Events == nil {
		return
	}
	if len(o.corrected) > 0 && enforced {
		if comparedBefore(before.SyncStatus(), obj.GetGeneration()) {
			p.r.Events.Eventf(obj, nil, corev1.EventTypeWarning, ReasonDriftDetected, "Correct",
				"Entra differed from the spec and was corrected: %s", renderDrift(o.corrected))
		} else {
			p.r.Events.Eventf(obj, nil, corev1.EventTypeNormal, ReasonApplied, "Apply",
				"Wrote the spec to Entra: %s", renderDrift(o.corrected))
		}
	}
	was := meta.FindStatusCondition(before.GetConditions(), passkeysv1alpha1.ConditionReady)
	now := meta.FindStatusCondition(obj.GetConditions(), passkeysv1alpha1.ConditionReady)
	if now == nil || (was != nil && was.Status == now.Status && was.Reason == now.Reason && was.Message == now.Message) {
		return
	}
	eventType := corev1.EventTypeWarning
	if now.Status == metav1.ConditionTrue || now.Reason == ReasonSuspended {
		eventType = corev1.EventTypeNormal
	}
	p.r.Events.Eventf(obj, nil, eventType, now.Reason, "Reconcile", "%s", now.Message)
}

func renderDrift(drift []policy.Drift) string {
	parts := make([]string, 0, len(drift))
	for _, d := range drift {
		parts = append(parts, fmt.Sprintf("%s (want %s, Entra has %s)", d.Field, d.Desired, d.Observed))
	}
	return strings.Join(parts, "; ")
}
