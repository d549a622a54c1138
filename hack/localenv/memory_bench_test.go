package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// BenchmarkManagerScale measures what the operator costs to run at a
// managed service provider's scale: the real manager binary, as a process
// of its own, against the local stack, with tenants × (3 profiles + 20
// assignments) all Ready (up to 23,000 resources). The emulator then
// answers every Graph request after 100 ms. One iteration restarts the
// manager with the --concurrency given and times its sweep: the pass of
// every tenant a manager makes when it starts or takes over as leader, from
// the moment its caches have synced (it is ready) until Graph has answered
// one GET per tenant. Reported: the sweep's duration, the Graph calls it
// made (a quiet tenant: one GET, no PATCH), the CPU time each process of
// the stack spent per pass during the sweep, and the manager's resident
// set and Go heap from its own /metrics after the sweeps. docs/performance.md
// has the curve.
//
//	KUBEBUILDER_ASSETS=$(make -s envtest-path) go test -run '^$' -bench 'ManagerScale/tenants=100/' -benchtime 3x ./hack/localenv/
func BenchmarkManagerScale(b *testing.B) {
	const assignments, latency = 20, 100 * time.Millisecond
	for _, tenants := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			resources := tenants * (3 + assignments)
			s := startBenchStack(b)
			created := time.Now()
			createBenchTenants(b, s, tenants, assignments)
			waitAllReady(b, s, resources)
			b.Logf("%d tenants, %d resources created and Ready in %s", tenants, resources, time.Since(created).Round(time.Second))
			for i := range tenants {
				if err := s.setFault(benchTenantID(i), emulator.Fault{LatencyMS: int(latency / time.Millisecond)}); err != nil {
					b.Fatal(err)
				}
			}
			for _, concurrency := range []int{4, 16} {
				b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
					var sweeping time.Duration
					var spent fido2Counts
					cpu := map[string]time.Duration{}
					sweeps := 0
					for b.Loop() {
						sweeps++
						before := fido2Calls(b, s)
						restartManager(b, s, "--concurrency", strconv.Itoa(concurrency))
						cpuBefore := stackCPU(b)
						start := time.Now()
						waitFido2GETs(b, s, before.gets+tenants)
						sweeping += time.Since(start)
						for name, used := range stackCPU(b) {
							cpu[name] += used - cpuBefore[name]
						}
						waitGraphQuiet(b, s)
						spent = spent.plus(fido2Calls(b, s).minus(before))
					}
					passes := float64(sweeps * tenants)
					for name, unit := range map[string]string{"manager": "manager", "kube-apiserver": "apiserver", "etcd": "etcd", "entra-emulator": "emulator", "harness": "harness"} {
						b.ReportMetric(float64(cpu[name].Microseconds())/1000/passes, unit+"-cpu-ms/pass")
					}
					rss, heap := managerMemory(b, s.metricsAddr)
					b.ReportMetric(sweeping.Seconds()/float64(sweeps), "s/sweep")
					b.ReportMetric(float64(spent.gets)/float64(sweeps), "GETs/sweep")
					b.ReportMetric(float64(spent.patches)/float64(sweeps), "PATCHes/sweep")
					b.ReportMetric(rss/(1<<20), "rss-MiB")
					b.ReportMetric(heap/(1<<20), "heap-MiB")
				})
			}
		})
	}
}

// benchTenantID is tenant i's id in the emulator: made from i, so that
// setup and benchmark agree on it without passing it around.
func benchTenantID(i int) string { return fmt.Sprintf("7e7a0000-0000-4000-8000-%012d", i) }

// createBenchTenants creates tenants 0..n-1 (see newBenchTenant), several at
// a time, as a GitOps tool syncing many applications would.
func createBenchTenants(tb testing.TB, s *stack, n, assignments int) {
	tb.Helper()
	const workers = 8
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if _, err := newBenchTenant(s, i, assignments); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case err := <-errs:
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	select {
	case err := <-errs:
		tb.Fatal(err)
	default:
	}
}

// restartManager stops the stack's manager and starts it again with args.
func restartManager(tb testing.TB, s *stack, args ...string) {
	tb.Helper()
	if err := s.manager.stop(); err != nil {
		tb.Fatal(err)
	}
	m, err := s.startManagerProcess(context.Background(), "manager-"+strings.Join(args, "")+".log",
		append([]string{"--leader-elect=false"}, args...)...)
	if err != nil {
		tb.Fatal(err)
	}
	s.manager, s.metricsAddr = m.child, m.metricsAddr
}

// fido2Counts are the emulator's fido2 requests over all tenants.
type fido2Counts struct{ gets, patches int }

func (c fido2Counts) minus(d fido2Counts) fido2Counts {
	return fido2Counts{c.gets - d.gets, c.patches - d.patches}
}

func (c fido2Counts) plus(d fido2Counts) fido2Counts {
	return fido2Counts{c.gets + d.gets, c.patches + d.patches}
}

// emulatorStats reads the emulator's request counts.
func emulatorStats(tb testing.TB, s *stack) emulator.Stats {
	tb.Helper()
	return emulatorStatsOf(tb, s, "")
}

// emulatorStatsOf is emulatorStats for one path ("" for all): polled every
// 50 ms during a sweep of 1,000 tenants, all the counts would cost the
// emulator and this process more CPU than some of what the sweep measures.
func emulatorStatsOf(tb testing.TB, s *stack, path string) emulator.Stats {
	tb.Helper()
	body, err := s.emulatorAdmin(http.MethodGet, "/_emulator/stats?path="+url.QueryEscape(path), nil)
	if err != nil {
		tb.Fatal(err)
	}
	var stats emulator.Stats
	if err := json.Unmarshal(body, &stats); err != nil {
		tb.Fatal(err)
	}
	return stats
}

func fido2Calls(tb testing.TB, s *stack) fido2Counts {
	tb.Helper()
	var c fido2Counts
	for _, r := range emulatorStatsOf(tb, s, graphFido2Path).Requests {
		switch r.Method {
		case http.MethodGet:
			c.gets += r.Count
		case http.MethodPatch:
			c.patches += r.Count
		}
	}
	return c
}

// waitFido2GETs polls the emulator until it has answered at least want
// fido2 GETs in all.
func waitFido2GETs(tb testing.TB, s *stack, want int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for fido2Calls(tb, s).gets < want {
		if time.Now().After(deadline) {
			tb.Fatalf("fewer than %d fido2 GETs after 10 minutes", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitGraphQuiet waits until no fido2 request has reached the emulator for
// two seconds: a manager just started has passed every tenant once.
func waitGraphQuiet(tb testing.TB, s *stack) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	last := fido2Calls(tb, s)
	for quietSince := time.Now(); time.Since(quietSince) < 2*time.Second; {
		if time.Now().After(deadline) {
			tb.Fatal("Graph requests did not stop within 10 minutes of the manager's start")
		}
		time.Sleep(250 * time.Millisecond)
		if now := fido2Calls(tb, s); now != last {
			last, quietSince = now, time.Now()
		}
	}
}

var buildOnce struct {
	sync.Once
	dir string
	err error
}

// benchBinaries builds the manager and the emulator once per run.
func benchBinaries(tb testing.TB) string {
	buildOnce.Do(func() {
		buildOnce.dir, buildOnce.err = os.MkdirTemp("", "localenv-bench-")
		for _, pkg := range []string{"manager", "entra-emulator"} {
			if buildOnce.err != nil {
				return
			}
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildOnce.dir, pkg), "./cmd/"+pkg)
			cmd.Dir = testenv.RepoRoot()
			out, err := cmd.CombinedOutput()
			if err != nil {
				buildOnce.err = fmt.Errorf("building %s: %w\n%s", pkg, err, out)
			}
		}
	})
	if buildOnce.err != nil {
		tb.Fatal(buildOnce.err)
	}
	return buildOnce.dir
}

// startBenchStack starts the local stack, its manager run with managerArgs
// added, and stops it when the test ends.
func startBenchStack(tb testing.TB, managerArgs ...string) *stack {
	tb.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		tb.Fatal("KUBEBUILDER_ASSETS is not set: export KUBEBUILDER_ASSETS=$(make -s envtest-path)")
	}
	s := &stack{dir: tb.TempDir(), binDir: benchBinaries(tb), out: &lockedWriter{w: io.Discard}, managerArgs: managerArgs}
	tb.Cleanup(func() {
		if err := s.stop(); err != nil {
			tb.Error(err)
		}
	})
	if err := s.start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// createBenchTenant creates tenant i (see newBenchTenant) and returns its
// EntraTenant.
func createBenchTenant(tb testing.TB, s *stack, i, assignments int, mutate ...func(*passkeysv1alpha1.EntraTenant)) *passkeysv1alpha1.EntraTenant {
	tb.Helper()
	tenant, err := newBenchTenant(s, i, assignments, mutate...)
	if err != nil {
		tb.Fatal(err)
	}
	return tenant
}

// newBenchTenant seeds tenant i in the emulator (id benchTenantID(i)) with
// one group per assignment and creates its Secret, EntraTenant (changed by
// mutate, if given, before it is created), the default profile and two
// more, and the assignments, in a namespace of its own.
func newBenchTenant(s *stack, i, assignments int, mutate ...func(*passkeysv1alpha1.EntraTenant)) (*passkeysv1alpha1.EntraTenant, error) {
	ctx := context.Background()
	tenantID, namespace := benchTenantID(i), fmt.Sprintf("tenant-%d", i)
	groups := make([]emulator.Group, assignments)
	for g := range groups {
		groups[g] = emulator.Group{ID: uuid.NewString(), DisplayName: fmt.Sprintf("group-%d", g)}
	}
	if err := s.seedTenant(tenantID, groups); err != nil {
		return nil, err
	}
	tenant := &passkeysv1alpha1.EntraTenant{
		ObjectMeta: metav1.ObjectMeta{Name: namespace},
		Spec:       passkeysv1alpha1.EntraTenantSpec{TenantID: tenantID},
	}
	s.pointAtEmulator(tenant)
	tenant.Spec.Credentials.SecretRef.Namespace = namespace
	for _, m := range mutate {
		m(tenant)
	}
	objects := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: credentialsSecret, Namespace: namespace},
			Data:       map[string][]byte{credentialsKey: []byte(s.clientSecret)},
		},
		tenant,
	}
	for p, spec := range []passkeysv1alpha1.PasskeyProfileSpec{
		{Default: true, PasskeyTypes: []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeyDeviceBound}},
		{PasskeyTypes: []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeySynced}},
		{PasskeyTypes: []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeyDeviceBound, passkeysv1alpha1.PasskeySynced}},
	} {
		spec.TenantRef = namespace
		objects = append(objects, &passkeysv1alpha1.PasskeyProfile{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("profile-%d", p), Namespace: namespace},
			Spec:       spec,
		})
	}
	for g, group := range groups {
		objects = append(objects, &passkeysv1alpha1.GroupAssignment{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("group-%d", g), Namespace: namespace},
			Spec: passkeysv1alpha1.GroupAssignmentSpec{
				TenantRef: namespace,
				Target:    passkeysv1alpha1.AssignmentTarget{GroupID: group.ID},
				Profiles:  []string{fmt.Sprintf("profile-%d", 1+g%2)},
			},
		})
	}
	for _, obj := range objects {
		if err := s.env.Client.Create(ctx, obj); err != nil {
			return nil, fmt.Errorf("creating %s: %w", obj.GetName(), err)
		}
	}
	return tenant, nil
}

func waitAllReady(tb testing.TB, s *stack, want int) {
	tb.Helper()
	// Thousands of resources take minutes on two cores: each costs a
	// create, a finalizer and a status write.
	limit := 5*time.Minute + time.Duration(want)*20*time.Millisecond
	deadline := time.Now().Add(limit)
	for {
		statuses, err := s.listStatuses(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		ready, notReady := 0, ""
		for _, r := range statuses {
			if strings.HasPrefix(r.ref, "EntraTenant") {
				continue
			}
			if ok, text := r.summary(); ok {
				ready++
			} else {
				notReady = r.ref + ": " + text
			}
		}
		if ready == want {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d resources Ready after %s; e.g. %s", ready, want, limit, notReady)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// setFault sets a tenant's fault injection in the emulator.
func (s *stack) setFault(tenantID string, f emulator.Fault) error {
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = s.emulatorAdmin(http.MethodPut, "/_emulator/tenants/"+tenantID+"/fault", body)
	return err
}

// managerMemory reads the manager's resident set and in-use heap from its
// own /metrics.
func managerMemory(b *testing.B, addr string) (rss, heap float64) {
	b.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			rss = v
		case "go_memstats_heap_inuse_bytes":
			heap = v
		}
	}
	if rss == 0 || heap == 0 {
		b.Fatal("the manager's /metrics has no process_resident_memory_bytes or go_memstats_heap_inuse_bytes")
	}
	return rss, heap
}
