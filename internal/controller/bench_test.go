package controller_test

// Benchmarks for the Graph-call budget of DESIGN.md §3, counted with the
// emulator's request statistics; docs/performance.md has the figures, what
// they mean and the commands. They share TestMain's control plane, emulator
// and operator, and run only with -bench, for example:
//
//	KUBEBUILDER_ASSETS=$(make -s envtest-path) go test -run '^$' -bench '^Benchmark(Resync|Burst)$' -benchtime 10x ./internal/controller/
//
// Each uses b.Loop, so its (slow) setup runs once per -count, not once per
// probe of b.N.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

const (
	// burstSize is the number of changes in one burst: the figure.
	burstSize = 50
	// quietPeriod is how long a tenant must make no request to Entra before
	// its counters are read, so that a pass still running, or one more
	// queued by a late event, is counted too.
	quietPeriod = 500 * time.Millisecond
	// benchTimeout bounds every wait: a benchmark fails rather than hangs.
	benchTimeout = 2 * time.Minute
)

// BenchmarkResync measures what a pass with nothing to change costs, for 1,
// 10 and 100 resources on one tenant. Each iteration forces one pass with
// the requestedAt annotation, as `kubectl annotate` would, and waits until
// the tenant echoes it. Budget: one GET per pass, whatever the number of
// resources; no PATCH.
func BenchmarkResync(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			f := newTenant(b)
			createBenchResources(b, f, n)
			waitAllReady(b, f)
			before := settle(b, f.tenantID)

			passes := 0
			for b.Loop() {
				passes++
				value := fmt.Sprintf("resync-%d", passes)
				requestReconcile(b, f.tenant, value)
				waitFor(b, "the tenant to handle "+value, 5*time.Millisecond, func() (bool, string) {
					if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.tenant), f.tenant); err != nil {
						return false, err.Error()
					}
					return f.tenant.Status.LastHandledReconcileAt == value, f.tenant.Status.LastHandledReconcileAt
				})
			}

			reportPerResync(b, settle(b, f.tenantID).minus(before), passes)
		})
	}
}

// BenchmarkPeriodicResync measures the steady state itself: no forced pass,
// only the resync the operator schedules every resyncInterval (30s, the
// shortest allowed), on 10 resources, one of them naming its group by
// display name. Group lookups are cached for one resync interval, so they
// show here and not in BenchmarkResync, whose passes are milliseconds
// apart. Slow: an iteration is one interval, so run it with -benchtime 4x.
func BenchmarkPeriodicResync(b *testing.B) {
	f := newTenant(b, func(t *passkeysv1alpha1.EntraTenant) {
		t.Spec.ResyncInterval = &metav1.Duration{Duration: 30 * time.Second}
	})
	createBenchResources(b, f, 10)
	waitAllReady(b, f)
	// Count from the last pass the creations caused: every pass after it
	// is one the operator scheduled.
	before := settle(b, f.tenantID)
	synced := waitNextSync(b, f, time.Time{})

	passes := 0
	for b.Loop() {
		passes++
		synced = waitNextSync(b, f, synced)
	}

	reportPerResync(b, settle(b, f.tenantID).minus(before), passes)
}

// reportPerResync reports the Graph requests of passes resyncs, per resync.
func reportPerResync(b *testing.B, spent graphCalls, passes int) {
	perPass := func(n int) float64 { return float64(n) / float64(passes) }
	b.ReportMetric(perPass(spent.gets), "GETs/resync")
	b.ReportMetric(perPass(spent.patches), "PATCHes/resync")
	b.ReportMetric(perPass(spent.groupLookups), "group-GETs/resync")
	b.ReportMetric(perPass(spent.other), "other-requests/resync")
}

// waitNextSync waits until the tenant's status.lastSyncTime, stamped on
// every successful pass, is later than after, and returns it.
func waitNextSync(tb testing.TB, f *tenantFixture, after time.Time) time.Time {
	tb.Helper()
	var synced time.Time
	waitFor(tb, "the tenant's next pass", 100*time.Millisecond, func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.tenant), f.tenant); err != nil {
			return false, err.Error()
		}
		if f.tenant.Status.LastSyncTime == nil {
			return false, "no status.lastSyncTime yet"
		}
		synced = f.tenant.Status.LastSyncTime.Time
		return synced.After(after), "status.lastSyncTime " + synced.String()
	})
	return synced
}

// BenchmarkBurst measures what burstSize changes to one tenant cost: each
// iteration flips registrationRequired on 50 GroupAssignments, as fast as
// the API server takes them, and waits until every resource is Ready at
// its new generation. "sequential" is `kubectl apply -f dir/` (one request
// after another); "parallel" sends all 50 at once, the tightest burst.
// Budget: one PATCH and its read-back GET, two when the burst straddles a
// pass.
func BenchmarkBurst(b *testing.B) {
	for _, mode := range []string{"sequential", "parallel"} {
		b.Run("apply="+mode, func(b *testing.B) {
			f := newTenant(b)
			// Two profiles and burstSize assignments.
			createBenchResources(b, f, burstSize+2)
			waitAllReady(b, f)
			var assignments []string
			for i := range burstSize {
				assignments = append(assignments, benchAssignmentName(i))
			}

			var perBurst []graphCalls
			var applying time.Duration
			required := false
			passesBefore := reconcileTime()
			for b.Loop() {
				b.StopTimer()
				before := settle(b, f.tenantID)
				required = !required
				b.StartTimer()

				start := time.Now()
				if err := setRegistrationRequired(f, assignments, required, mode == "parallel"); err != nil {
					b.Fatal(err)
				}
				applying += time.Since(start)
				waitAllReady(b, f)

				b.StopTimer()
				perBurst = append(perBurst, settle(b, f.tenantID).minus(before))
				b.StartTimer()
			}

			passes := reconcileTime().minus(passesBefore)

			var total graphCalls
			maxPatches := 0
			for _, c := range perBurst {
				total = total.plus(c)
				maxPatches = max(maxPatches, c.patches)
			}
			perBurstAvg := func(n int) float64 { return float64(n) / float64(len(perBurst)) }
			b.ReportMetric(perBurstAvg(total.patches), "PATCHes/burst")
			b.ReportMetric(float64(maxPatches), "max-PATCHes/burst")
			b.ReportMetric(perBurstAvg(total.gets), "GETs/burst")
			b.ReportMetric(perBurstAvg(total.groupLookups+total.other), "other-requests/burst")
			// A pass makes one GET, and a second (the read-back) when it PATCHes.
			b.ReportMetric(perBurstAvg(total.gets-total.patches), "passes/burst")
			// How long sending the burst took, against how long a pass takes:
			// a burst longer than a pass spans several passes.
			b.ReportMetric(float64(applying.Milliseconds())/float64(len(perBurst)), "apply-ms")
			if passes.count > 0 {
				b.ReportMetric(1000*passes.sum/float64(passes.count), "pass-ms")
			}
		})
	}
}

// BenchmarkApplyToReady measures how long a user waits between applying a
// change and seeing it Ready: each iteration changes one GroupAssignment's
// spec and watches for Ready=True at the new generation. The emulator adds
// 0 or 50 ms to every Graph response. Besides the percentiles it reports
// the mean duration of a pass (controller-runtime's reconcile histogram),
// to show how much of the wait is the pass and how much is Kubernetes.
func BenchmarkApplyToReady(b *testing.B) {
	for _, latencyMS := range []int{0, 50} {
		b.Run(fmt.Sprintf("latency=%dms", latencyMS), func(b *testing.B) {
			ctx := context.Background()
			f := newTenant(b)
			f.profile("p0", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
			a := f.assignment("a", passkeysv1alpha1.GroupAssignmentSpec{
				Target: passkeysv1alpha1.AssignmentTarget{GroupID: benchGroupID(0)}, Profiles: []string{"p0"},
			})
			waitAllReady(b, f)
			if err := emu.SetFault(f.tenantID, emulator.Fault{LatencyMS: latencyMS}); err != nil {
				b.Fatal(err)
			}

			// A watch sees the status write the moment the API server takes
			// it; polling would add up to its interval to every sample.
			watcher, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
			if err != nil {
				b.Fatal(err)
			}
			w, err := watcher.Watch(ctx, &passkeysv1alpha1.GroupAssignmentList{}, client.InNamespace(f.namespace))
			if err != nil {
				b.Fatal(err)
			}
			defer w.Stop()

			var samples []time.Duration
			var writing time.Duration
			required := false
			callsBefore := settle(b, f.tenantID)
			passesBefore := reconcileTime()
			for b.Loop() {
				required = !required
				start := time.Now()
				if err := setRegistrationRequired(f, []string{a.Name}, required, false); err != nil {
					b.Fatal(err)
				}
				writing += time.Since(start)
				waitReadyEvent(b, w, a.Name, required)
				samples = append(samples, time.Since(start))
			}
			spent := settle(b, f.tenantID).minus(callsBefore)
			passes := reconcileTime().minus(passesBefore)

			perApply := func(n float64) float64 { return n / float64(len(samples)) }
			b.ReportMetric(percentileMS(samples, 0.50), "p50-ms")
			b.ReportMetric(percentileMS(samples, 0.99), "p99-ms")
			b.ReportMetric(perApply(float64(spent.gets)), "GETs/apply")
			b.ReportMetric(perApply(float64(spent.patches)), "PATCHes/apply")
			// What one write to the API server costs here: the pass makes a
			// few (statuses), and the user's own change is one.
			b.ReportMetric(perApply(float64(writing.Microseconds())/1000), "write-ms")
			if passes.count > 0 {
				b.ReportMetric(perApply(float64(passes.count)), "passes/apply")
				b.ReportMetric(1000*passes.sum/float64(passes.count), "pass-ms")
			}
		})
	}
}

// BenchmarkReadWriteWindow measures the window in which a portal edit is
// lost: Graph offers no ETag on the fido2 policy, so a pass's PATCH
// overwrites whatever changed since its GET (docs/reliability.md). Each
// iteration changes one GroupAssignment of a tenant with two profiles and
// ten assignments (one naming its group by display name) and waits until it
// is Ready; the emulator's request log then gives, for every PATCH, the time
// from the end of the GET before it to its start. The emulator adds 0 or
// 50 ms to every Graph response, which the window does not include: Graph's
// own time to apply a PATCH adds to it on a real tenant.
func BenchmarkReadWriteWindow(b *testing.B) {
	for _, latencyMS := range []int{0, 50} {
		b.Run(fmt.Sprintf("latency=%dms", latencyMS), func(b *testing.B) {
			f := newTenant(b)
			createBenchResources(b, f, 12)
			waitAllReady(b, f)
			if err := emu.SetFault(f.tenantID, emulator.Fault{LatencyMS: latencyMS}); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			required := false
			for b.Loop() {
				required = !required
				if err := setRegistrationRequired(f, []string{benchAssignmentName(1)}, required, false); err != nil {
					b.Fatal(err)
				}
				waitAllReady(b, f)
			}
			settle(b, f.tenantID)
			requests, err := emu.Requests(f.tenantID)
			if err != nil {
				b.Fatal(err)
			}
			windows := readWriteWindows(requests, start)
			if len(windows) == 0 {
				b.Fatal("no PATCH in the emulator's request log")
			}
			b.ReportMetric(percentileMS(windows, 0.50), "window-p50-ms")
			b.ReportMetric(percentileMS(windows, 0.99), "window-p99-ms")
			b.ReportMetric(float64(len(windows))/float64(b.N), "PATCHes/op")
		})
	}
}

// readWriteWindows pairs each fido2 PATCH after since with the fido2 GET
// answered last before it, and returns the gaps between them.
func readWriteWindows(requests []emulator.RequestRecord, since time.Time) []time.Duration {
	var windows []time.Duration
	var lastGET *emulator.RequestRecord
	for i := range requests {
		r := &requests[i]
		if r.Start.Before(since) || !strings.HasSuffix(r.Path, "/fido2") {
			continue
		}
		switch {
		case r.Method == http.MethodGet && r.Status == http.StatusOK:
			lastGET = r
		case r.Method == http.MethodPatch && lastGET != nil:
			windows = append(windows, r.Start.Sub(lastGET.End))
		}
	}
	return windows
}

// benchGroupID is the id of the i-th made-up group. Targets named by id
// are not looked up in Entra, so these groups need not exist.
func benchGroupID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

func benchAssignmentName(i int) string { return fmt.Sprintf("a%03d", i) }

// createBenchResources creates n resources on f's tenant: up to two
// profiles (Entra allows three, its default included) and assignments to
// distinct groups for the rest. The first assignment names its group by
// display name, so the cost of group lookups shows in the figures too.
func createBenchResources(tb testing.TB, f *tenantFixture, n int) {
	tb.Helper()
	profiles := min(n, 2)
	for i := range profiles {
		f.profile(fmt.Sprintf("p%d", i), passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	}
	for i := range n - profiles {
		target := passkeysv1alpha1.AssignmentTarget{GroupID: benchGroupID(i)}
		if i == 0 {
			target = passkeysv1alpha1.AssignmentTarget{GroupName: "Staff"}
		}
		f.assignment(benchAssignmentName(i), passkeysv1alpha1.GroupAssignmentSpec{
			Target: target, Profiles: []string{fmt.Sprintf("p%d", i%profiles)},
		})
	}
}

// setRegistrationRequired changes the named assignments' spec with merge
// patches, which carry no resourceVersion, so the operator's own writes
// (finalizers, statuses) can never make one fail with a conflict.
func setRegistrationRequired(f *tenantFixture, names []string, required, parallel bool) error {
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"registrationRequired":%t}}`, required))
	errs := make([]error, len(names))
	apply := func(i int) {
		a := &passkeysv1alpha1.GroupAssignment{ObjectMeta: metav1.ObjectMeta{Name: names[i], Namespace: f.namespace}}
		errs[i] = env.Client.Patch(context.Background(), a, patch)
	}
	var wg sync.WaitGroup
	for i := range names {
		if parallel {
			wg.Go(func() { apply(i) })
		} else {
			apply(i)
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitAllReady waits until every resource in f's namespace is Ready at its
// current generation.
func waitAllReady(tb testing.TB, f *tenantFixture) {
	tb.Helper()
	ctx := context.Background()
	waitFor(tb, "every resource to be Ready", 20*time.Millisecond, func() (bool, string) {
		var profiles passkeysv1alpha1.PasskeyProfileList
		var assignments passkeysv1alpha1.GroupAssignmentList
		if err := env.Client.List(ctx, &profiles, client.InNamespace(f.namespace)); err != nil {
			return false, err.Error()
		}
		if err := env.Client.List(ctx, &assignments, client.InNamespace(f.namespace)); err != nil {
			return false, err.Error()
		}
		var objs []client.Object
		for i := range profiles.Items {
			objs = append(objs, &profiles.Items[i])
		}
		for i := range assignments.Items {
			objs = append(objs, &assignments.Items[i])
		}
		var waiting []string
		for _, o := range objs {
			if !readyAtGeneration(o) {
				waiting = append(waiting, o.GetName())
			}
		}
		return len(waiting) == 0, fmt.Sprintf("%d of %d not Ready at their generation: %s", len(waiting), len(objs), strings.Join(waiting, ", "))
	})
}

func readyAtGeneration(o client.Object) bool {
	c := meta.FindStatusCondition(conditionsOf(o), ready)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == o.GetGeneration()
}

// waitReadyEvent reads w until the named assignment is Ready with the
// given registrationRequired, at the generation that carries it.
func waitReadyEvent(tb testing.TB, w watch.Interface, name string, required bool) {
	tb.Helper()
	timeout := time.NewTimer(benchTimeout)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				tb.Fatal("the watch on GroupAssignments closed")
			}
			a, isAssignment := ev.Object.(*passkeysv1alpha1.GroupAssignment)
			if isAssignment && a.Name == name && a.Spec.RegistrationRequired == required && readyAtGeneration(a) {
				return
			}
		case <-timeout.C:
			tb.Fatalf("timed out waiting for %s to be Ready with registrationRequired=%t", name, required)
		}
	}
}

// waitFor polls cond every interval until it holds; benchmarks need a
// finer interval than eventually's, since the wait is part of what they time.
func waitFor(tb testing.TB, what string, interval time.Duration, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(benchTimeout)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(interval)
	}
	tb.Fatalf("timed out waiting for %s; last seen: %s", what, last)
}

// graphCalls counts one tenant's requests to the emulated Entra, by kind.
type graphCalls struct {
	gets         int // GET of the fido2 policy
	patches      int // PATCH of the fido2 policy
	groupLookups int // GET /v1.0/groups, for targets named by display name
	other        int // tokens, discovery and anything else
}

func callsOf(tenantID string) graphCalls {
	var c graphCalls
	for _, r := range emu.Stats().Requests {
		if r.Tenant != tenantID {
			continue
		}
		switch {
		case r.Path == fido2Path && r.Method == http.MethodGet:
			c.gets += r.Count
		case r.Path == fido2Path && r.Method == http.MethodPatch:
			c.patches += r.Count
		case strings.HasPrefix(r.Path, "/v1.0/groups"):
			c.groupLookups += r.Count
		default:
			c.other += r.Count
		}
	}
	return c
}

func (c graphCalls) plus(d graphCalls) graphCalls {
	return graphCalls{gets: c.gets + d.gets, patches: c.patches + d.patches, groupLookups: c.groupLookups + d.groupLookups, other: c.other + d.other}
}

func (c graphCalls) minus(d graphCalls) graphCalls {
	return graphCalls{gets: c.gets - d.gets, patches: c.patches - d.patches, groupLookups: c.groupLookups - d.groupLookups, other: c.other - d.other}
}

// settle waits until the tenant has made no request to Entra for
// quietPeriod and returns its counters.
func settle(tb testing.TB, tenantID string) graphCalls {
	tb.Helper()
	deadline := time.Now().Add(benchTimeout)
	last, since := callsOf(tenantID), time.Now()
	for time.Since(since) < quietPeriod {
		if time.Now().After(deadline) {
			tb.Fatalf("tenant %s never stopped calling Entra; last counts %+v", tenantID, last)
		}
		time.Sleep(10 * time.Millisecond)
		if now := callsOf(tenantID); now != last {
			last, since = now, time.Now()
		}
	}
	return last
}

// histogram is a snapshot of controller-runtime's reconcile-time histogram
// for the tenant controller: how many passes, and their total seconds.
type histogram struct {
	count uint64
	sum   float64
}

func (h histogram) minus(o histogram) histogram {
	return histogram{count: h.count - o.count, sum: h.sum - o.sum}
}

// reconcileTime reads controller_runtime_reconcile_time_seconds for the
// "entratenant" controller. The histogram covers every tenant: run the
// latency benchmark on its own (-bench ApplyToReady) so that no other
// benchmark's tenant, or its cleanup, adds passes to it.
func reconcileTime() histogram {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return histogram{}
	}
	var h histogram
	for _, family := range families {
		if family.GetName() != "controller_runtime_reconcile_time_seconds" {
			continue
		}
		for _, m := range family.GetMetric() {
			for _, label := range m.GetLabel() {
				if label.GetName() == "controller" && label.GetValue() == "entratenant" {
					h.count += m.GetHistogram().GetSampleCount()
					h.sum += m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return h
}

// percentileMS is the nearest-rank percentile of samples, in milliseconds.
// With fewer than 100 samples, p99 is the largest.
func percentileMS(samples []time.Duration, p float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	rank := max(int(math.Ceil(p*float64(len(sorted)))), 1)
	return float64(sorted[rank-1]) / float64(time.Millisecond)
}
