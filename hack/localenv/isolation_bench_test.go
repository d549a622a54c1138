package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// BenchmarkThrottledNeighbour measures whether one tenant's trouble stays
// its own: 50 tenants (3 profiles + 2 assignments each) on one manager at
// --concurrency 4; one iteration changes an assignment of one of tenants
// 1..49 in turn and waits until it is Ready. First with every tenant
// quiet, then with tenant 0 throttled hard: every Graph request answered 429
// with Retry-After 5 s, so each of its passes waits out the SDK's inline
// retries (up to entra.MaxInlineRetryWait) on a worker, and a force-reconcile
// asks it for a pass every second. Reported: apply→Ready p50/p99 of the
// others, and the throttled tenant's fido2 requests per minute from the
// moment it was throttled (bounded: no hot loop).
//
//	KUBEBUILDER_ASSETS=$(make -s envtest-path) go test -run '^$' -bench ThrottledNeighbour -benchtime 60x ./hack/localenv/
func BenchmarkThrottledNeighbour(b *testing.B) {
	const tenants, assignments = 50, 2
	s := startBenchStack(b)
	createBenchTenants(b, s, tenants, assignments)
	waitAllReady(b, s, tenants*(3+assignments))

	// The change each iteration makes flips with each round over the
	// tenants, carried from one sub-benchmark to the next, so that every
	// change is a real one.
	required := false
	for _, neighbour := range []string{"quiet", "throttled"} {
		b.Run("neighbour="+neighbour, func(b *testing.B) {
			throttledID := benchTenantID(0)
			throttledBefore := tenantFido2Requests(b, s, throttledID)
			started := time.Now()
			if neighbour == "throttled" {
				if err := s.setFault(throttledID, emulator.Fault{ThrottleRatio: 1, RetryAfterSeconds: 5}); err != nil {
					b.Fatal(err)
				}
				defer func() {
					if err := s.setFault(throttledID, emulator.Fault{}); err != nil {
						b.Error(err)
					}
				}()
				// Keep the throttled tenant asking for passes, as edits in
				// Git or an impatient admin would.
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go pokeTenant(ctx, s, "tenant-0")
				waitThrottled(b, s, throttledID)
			}

			var samples []time.Duration
			i := 0
			for b.Loop() {
				tenant := 1 + i%(tenants-1)
				i++
				if tenant == 1 {
					required = !required
				}
				samples = append(samples, applyToReady(b, s, fmt.Sprintf("tenant-%d", tenant), "group-0", required))
			}
			elapsed := time.Since(started)
			b.ReportMetric(float64(percentile(samples, 50))/float64(time.Millisecond), "p50-ms")
			b.ReportMetric(float64(percentile(samples, 99))/float64(time.Millisecond), "p99-ms")
			throttled := tenantFido2Requests(b, s, throttledID) - throttledBefore
			b.ReportMetric(float64(throttled)/elapsed.Minutes(), "throttled-requests/min")
		})
	}
}

// waitThrottled waits until Graph has answered the tenant with a 429.
func waitThrottled(b *testing.B, s *stack, tenantID string) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for emulatorStats(b, s).Count(tenantID, "", "", http.StatusTooManyRequests) == 0 {
		if time.Now().After(deadline) {
			b.Fatal("the throttled tenant made no request within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pokeTenant sets the force-reconcile annotation on a tenant every second
// until ctx is done.
func pokeTenant(ctx context.Context, s *stack, name string) {
	for n := 0; ; n++ {
		patch := client.RawPatch(types.MergePatchType,
			fmt.Appendf(nil, `{"metadata":{"annotations":{%q:"poke-%d"}}}`, passkeysv1alpha1.ReconcileRequestAnnotation, n))
		_ = s.env.Client.Patch(ctx, &passkeysv1alpha1.EntraTenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, patch)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// applyToReady sets registrationRequired on an assignment and returns how
// long it took until the assignment was Ready at its new generation.
func applyToReady(b *testing.B, s *stack, namespace, name string, required bool) time.Duration {
	b.Helper()
	ctx := context.Background()
	a := &passkeysv1alpha1.GroupAssignment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"registrationRequired":%t}}`, required))
	start := time.Now()
	if err := s.env.Client.Patch(ctx, a, patch); err != nil {
		b.Fatal(err)
	}
	deadline := start.Add(time.Minute)
	for {
		if err := s.env.Client.Get(ctx, client.ObjectKeyFromObject(a), a); err != nil {
			b.Fatal(err)
		}
		ready := meta.FindStatusCondition(a.Status.Conditions, passkeysv1alpha1.ConditionReady)
		if ready != nil && ready.Status == "True" && ready.ObservedGeneration == a.Generation {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s/%s not Ready a minute after a change", namespace, name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tenantFido2Requests counts the fido2 requests a tenant has sent.
func tenantFido2Requests(b *testing.B, s *stack, tenantID string) int {
	b.Helper()
	return emulatorStats(b, s).Count(tenantID, "", graphFido2Path, emulator.AnyStatus)
}
