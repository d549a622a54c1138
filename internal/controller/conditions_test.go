package controller

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// TestConditionSettersReadByKstatus checks, without a cluster, what
// sigs.k8s.io/cli-utils' kstatus (the library Flux and kubectl-style tools
// use) makes of the status each condition setter writes for generation 2 of
// a resource last seen at generation 1 (or never: -1).
func TestConditionSettersReadByKstatus(t *testing.T) {
	drift := []policy.Drift{{Field: "passkeyTypes", Desired: "deviceBound, synced", Observed: "deviceBound"}}
	const gen = 2
	cases := []struct {
		name      string
		observed  int64
		set       func(*passkeysv1alpha1.SyncStatus)
		want      status.Status
		condition string // the condition that must be True, besides what kstatus says
		reason    string
	}{
		{"in sync", 1, func(s *passkeysv1alpha1.SyncStatus) { setSynced(s, gen, nil, true) },
			status.CurrentStatus, passkeysv1alpha1.ConditionReady, ReasonSucceeded},
		{"drift under Report", 1, func(s *passkeysv1alpha1.SyncStatus) { setSynced(s, gen, drift, false) },
			status.FailedStatus, passkeysv1alpha1.ConditionStalled, ReasonDriftDetected},
		{"Enforce drift Entra did not keep", 1, func(s *passkeysv1alpha1.SyncStatus) { setSynced(s, gen, drift, true) },
			status.FailedStatus, passkeysv1alpha1.ConditionStalled, ReasonNotPersisted},
		{"stalled on the first pass", -1, func(s *passkeysv1alpha1.SyncStatus) { stall(s, gen, policy.ReasonProfileNotFound, "no such profile") },
			status.FailedStatus, passkeysv1alpha1.ConditionStalled, policy.ReasonProfileNotFound},
		{"credentials refused", 1, func(s *passkeysv1alpha1.SyncStatus) {
			setFailure(s, gen, &credentialsError{err: errors.New("no secret")})
		},
			status.FailedStatus, passkeysv1alpha1.ConditionStalled, ReasonCredentialsInvalid},
		{"waiting for another resource", 1, func(s *passkeysv1alpha1.SyncStatus) {
			setProgressing(s, gen, policy.ReasonProfileNotReady, "the profile is not in Entra yet")
		}, status.InProgressStatus, passkeysv1alpha1.ConditionReconciling, policy.ReasonProfileNotReady},
		{"Graph unavailable", 1, func(s *passkeysv1alpha1.SyncStatus) { setFailure(s, gen, errors.New("connection reset")) },
			status.InProgressStatus, passkeysv1alpha1.ConditionReconciling, ReasonGraphUnavailable},
		{"suspended", -1, func(s *passkeysv1alpha1.SyncStatus) { setSuspended(s, gen, "spec.suspend is true") },
			status.InProgressStatus, "", ""},
		{"new generation not acted on yet", 1, func(s *passkeysv1alpha1.SyncStatus) {
			setSynced(s, gen-1, nil, true) // Ready from the previous generation only
		}, status.InProgressStatus, passkeysv1alpha1.ConditionReady, ReasonSucceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := passkeysv1alpha1.SyncStatus{ObservedGeneration: tc.observed}
			tc.set(&s)
			res := kstatusOf(t, gen, s)
			if res.Status != tc.want {
				t.Errorf("kstatus = %s (%s), want %s; conditions %+v", res.Status, res.Message, tc.want, s.Conditions)
			}
			if tc.condition != "" {
				c := meta.FindStatusCondition(s.Conditions, tc.condition)
				if c == nil || c.Status != metav1.ConditionTrue || c.Reason != tc.reason {
					t.Errorf("condition %s = %+v, want True with reason %s", tc.condition, c, tc.reason)
				}
			}
			// Stalled and Reconciling exclude each other: kstatus reads the
			// first it meets, so both True would make the answer depend on order.
			if meta.IsStatusConditionTrue(s.Conditions, passkeysv1alpha1.ConditionStalled) &&
				meta.IsStatusConditionTrue(s.Conditions, passkeysv1alpha1.ConditionReconciling) {
				t.Errorf("Stalled and Reconciling both True: %+v", s.Conditions)
			}
		})
	}
}

// TestStalledAndSuspendedAdvanceObservedGeneration: a setter that has acted
// on a generation records it, or kstatus keeps saying "not observed".
func TestStalledAndSuspendedAdvanceObservedGeneration(t *testing.T) {
	for name, set := range map[string]func(*passkeysv1alpha1.SyncStatus){
		"stall":     func(s *passkeysv1alpha1.SyncStatus) { stall(s, 3, ReasonForbidden, "403") },
		"suspended": func(s *passkeysv1alpha1.SyncStatus) { setSuspended(s, 3, "suspended") },
		"synced":    func(s *passkeysv1alpha1.SyncStatus) { setSynced(s, 3, nil, true) },
	} {
		s := passkeysv1alpha1.SyncStatus{ObservedGeneration: -1}
		set(&s)
		if s.ObservedGeneration != 3 {
			t.Errorf("%s: observedGeneration = %d, want 3", name, s.ObservedGeneration)
		}
	}
	// A transient failure does not: the generation has not been applied.
	s := passkeysv1alpha1.SyncStatus{ObservedGeneration: 1}
	setFailure(&s, 3, errors.New("connection reset"))
	if s.ObservedGeneration != 1 {
		t.Errorf("transient failure: observedGeneration = %d, want 1", s.ObservedGeneration)
	}
}

func kstatusOf(t *testing.T, generation int64, s passkeysv1alpha1.SyncStatus) *status.Result {
	t.Helper()
	st, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&s)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": st}}
	u.SetGroupVersionKind(passkeysv1alpha1.GroupVersion.WithKind("PasskeyProfile"))
	u.SetName("staff")
	u.SetGeneration(generation)
	res, err := status.Compute(u)
	if err != nil {
		t.Fatalf("kstatus: %v", err)
	}
	return res
}

// TestVerdictPrecedence: which condition a resource shows when several
// things are true at once, and what kstatus (so Flux and kubectl wait)
// makes of it.
func TestVerdictPrecedence(t *testing.T) {
	drift := []policy.Drift{{Field: "passkeyTypes", Desired: "deviceBound, synced", Observed: "deviceBound"}}
	notFound := &policy.Problem{Reason: policy.ReasonProfileNotFound, Message: "no such profile"}
	notReady := &policy.Problem{Reason: policy.ReasonProfileNotReady, Message: "waits"}
	for _, tc := range []struct {
		name   string
		v      verdict
		reason string
		want   status.Status
	}{
		// kstatus reads Ready=False without Reconciling or Stalled as InProgress.
		{"the tenant's suspension beats a failure", verdict{tenantSuspended: "tenant suspended", err: errors.New("reset"), outcome: outcome{problem: notFound}},
			ReasonSuspended, status.InProgressStatus},
		{"a failed pass beats the resource's own suspension", verdict{err: &credentialsError{err: errors.New("no key")}, suspended: "suspended"},
			ReasonCredentialsInvalid, status.FailedStatus},
		{"the resource's suspension beats its problem", verdict{suspended: "suspended", outcome: outcome{problem: notFound}},
			ReasonSuspended, status.InProgressStatus},
		{"a problem that clears by itself is in progress", verdict{outcome: outcome{problem: notReady, drift: drift}},
			policy.ReasonProfileNotReady, status.InProgressStatus},
		{"a problem a person must fix stalls", verdict{outcome: outcome{problem: notFound, keptFor: []string{"x"}}},
			policy.ReasonProfileNotFound, status.FailedStatus},
		{"a deleted profile still in use waits", verdict{outcome: outcome{keptFor: []string{"GroupAssignment team/staff"}, drift: drift}},
			ReasonInUse, status.InProgressStatus},
		{"Report drift stalls", verdict{outcome: outcome{drift: drift}},
			ReasonDriftDetected, status.FailedStatus},
		{"Enforce drift Entra did not keep stalls", verdict{enforced: true, outcome: outcome{drift: drift}},
			ReasonNotPersisted, status.FailedStatus},
		{"no drift is Ready", verdict{enforced: true},
			ReasonSucceeded, status.CurrentStatus},
		{"a warning leaves it Ready", verdict{enforced: true, outcome: outcome{warnings: []string{policy.WarningAttestationWithSynced}}},
			ReasonSucceeded, status.CurrentStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := passkeysv1alpha1.SyncStatus{ObservedGeneration: 1}
			tc.v.setConditions(&s, 2)
			ready := meta.FindStatusCondition(s.Conditions, passkeysv1alpha1.ConditionReady)
			if ready == nil || ready.Reason != tc.reason {
				t.Errorf("Ready = %+v, want reason %s", ready, tc.reason)
			}
			if w := tc.v.warnings; len(w) > 0 && !strings.HasSuffix(ready.Message, "; warning: "+w[0]) {
				t.Errorf("Ready message %q does not end with the warning", ready.Message)
			}
			if res := kstatusOf(t, 2, s); res.Status != tc.want {
				t.Errorf("kstatus = %s (%s), want %s", res.Status, res.Message, tc.want)
			}
		})
	}
}

// TestRepeatedStallLeavesTheStatus: a retry that fails as the last pass did
// changes nothing in the status, though Graph's request id differs, so a
// stalled tenant retried at every interval writes no status and records no
// event; a failure that differs in anything else shows.
func TestRepeatedStallLeavesTheStatus(t *testing.T) {
	forbidden := func(requestID, permission string) error {
		return fmt.Errorf("updating the passkey (FIDO2) policy of tenant contoso: Graph answered 403 accessDenied (request-id %s); grant %s: %w",
			requestID, permission, graphError(http.StatusForbidden, ""))
	}
	first := forbidden("0f8fad5b-d9cb-469f-a165-70867728950e", "Policy.ReadWrite.AuthenticationMethod")
	again := forbidden("7c9e6679-7425-40de-944b-e07fc1f90ae7", "Policy.ReadWrite.AuthenticationMethod")
	for _, tc := range []struct {
		name    string
		gen     int64
		err     error
		changed bool
	}{
		{"the same failure, another request id", 2, again, false},
		{"another permission", 2, forbidden("7c9e6679-7425-40de-944b-e07fc1f90ae7", "Group.Read.All"), true},
		{"another reason", 2, &credentialsError{err: errors.New("no key")}, true},
		{"a new generation", 3, again, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := passkeysv1alpha1.SyncStatus{}
			setFailure(&s, 2, first)
			before := *s.DeepCopy()
			setFailure(&s, tc.gen, tc.err)
			if changed := !equality.Semantic.DeepEqual(s, before); changed != tc.changed {
				t.Errorf("status changed = %v, want %v:\nbefore %+v\nafter  %+v", changed, tc.changed, before, s)
			}
			if ready := meta.FindStatusCondition(s.Conditions, passkeysv1alpha1.ConditionReady); ready.ObservedGeneration != tc.gen {
				t.Errorf("Ready observes generation %d, want %d", ready.ObservedGeneration, tc.gen)
			}
		})
	}
}
