package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// BenchmarkManagerMemory measures what the operator costs to run: the
// real manager binary, as a process of its own, against the local stack,
// with tenants × (3 profiles + N assignments) all Ready. One iteration is a
// forced pass of every tenant; the figures are read from the manager's own
// /metrics afterwards (process_resident_memory_bytes,
// go_memstats_heap_inuse_bytes). docs/performance.md has the numbers.
//
//	KUBEBUILDER_ASSETS=$(make -s envtest-path) go test -run '^$' -bench ManagerMemory -benchtime 3x ./hack/localenv/
func BenchmarkManagerMemory(b *testing.B) {
	for _, size := range []struct{ tenants, assignments int }{{1, 10}, {10, 30}, {50, 30}} {
		name := fmt.Sprintf("tenants=%d/resources=%d", size.tenants, size.tenants*(3+size.assignments))
		b.Run(name, func(b *testing.B) {
			s := startBenchStack(b)
			for i := range size.tenants {
				createBenchTenant(b, s, i, size.assignments)
			}
			waitAllReady(b, s, size.tenants*(3+size.assignments))
			round := 0
			for b.Loop() {
				round++
				forceAllTenants(b, s, strconv.Itoa(round))
			}
			rss, heap := managerMemory(b, s.metricsAddr)
			b.ReportMetric(rss/(1<<20), "rss-MiB")
			b.ReportMetric(heap/(1<<20), "heap-MiB")
		})
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

// createBenchTenant seeds tenant i in the emulator with one group per
// assignment and creates its Secret, EntraTenant (changed by mutate, if
// given, before it is created), the default profile and two more, and the
// assignments, in a namespace of its own. It returns the EntraTenant.
func createBenchTenant(tb testing.TB, s *stack, i, assignments int, mutate ...func(*passkeysv1alpha1.EntraTenant)) *passkeysv1alpha1.EntraTenant {
	tb.Helper()
	ctx := context.Background()
	tenantID, namespace := uuid.NewString(), fmt.Sprintf("tenant-%d", i)
	groups := make([]emulator.Group, assignments)
	for g := range groups {
		groups[g] = emulator.Group{ID: uuid.NewString(), DisplayName: fmt.Sprintf("group-%d", g)}
	}
	if err := s.seedTenant(tenantID, groups); err != nil {
		tb.Fatal(err)
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
			tb.Fatalf("creating %s: %v", obj.GetName(), err)
		}
	}
	return tenant
}

func waitAllReady(tb testing.TB, s *stack, want int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Minute)
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
			tb.Fatalf("%d of %d resources Ready after 5 minutes; e.g. %s", ready, want, notReady)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// forceAllTenants asks every tenant for a pass and waits until each has
// handled it.
func forceAllTenants(b *testing.B, s *stack, value string) {
	b.Helper()
	ctx := context.Background()
	var tenants passkeysv1alpha1.EntraTenantList
	if err := s.env.Client.List(ctx, &tenants); err != nil {
		b.Fatal(err)
	}
	for i := range tenants.Items {
		t := &tenants.Items[i]
		patch := client.MergeFrom(t.DeepCopy())
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		t.Annotations[passkeysv1alpha1.ReconcileRequestAnnotation] = value
		if err := s.env.Client.Patch(ctx, t, patch); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := s.env.Client.List(ctx, &tenants); err != nil {
			b.Fatal(err)
		}
		done := 0
		for _, t := range tenants.Items {
			if t.Status.LastHandledReconcileAt == value && meta.IsStatusConditionTrue(t.Status.Conditions, passkeysv1alpha1.ConditionReady) {
				done++
			}
		}
		if done == len(tenants.Items) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d tenants handled the forced pass after 2 minutes", done, len(tenants.Items))
		}
		time.Sleep(100 * time.Millisecond)
	}
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
