package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// TestReconcileRequested: of all annotation changes, only the
// force-reconcile request starts a pass.
func TestReconcileRequested(t *testing.T) {
	withAnnotations := func(a map[string]string) *passkeysv1alpha1.PasskeyProfile {
		return &passkeysv1alpha1.PasskeyProfile{ObjectMeta: metav1.ObjectMeta{Annotations: a}}
	}
	const request = passkeysv1alpha1.ReconcileRequestAnnotation
	for _, tc := range []struct {
		name     string
		old, new map[string]string
		want     bool
	}{
		{"first request", nil, map[string]string{request: "1"}, true},
		{"a new request", map[string]string{request: "1"}, map[string]string{request: "2"}, true},
		{"the request removed", map[string]string{request: "1"}, nil, true},
		{"another annotation added", nil, map[string]string{"argocd.argoproj.io/tracking-id": "x"}, false},
		{"another annotation changed beside the same request",
			map[string]string{request: "1", "note": "a"}, map[string]string{request: "1", "note": "b"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := event.UpdateEvent{ObjectOld: withAnnotations(tc.old), ObjectNew: withAnnotations(tc.new)}
			if got := reconcileRequested.Update(e); got != tc.want {
				t.Errorf("Update = %v, want %v", got, tc.want)
			}
		})
	}
}
