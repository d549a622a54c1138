package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

const (
	// leaseNamespace holds the shards' Leases: outside a cluster leader
	// election has no namespace of its own, so the managers are told one.
	leaseNamespace = "passkey-system"
	// operatorFinalizer is on every profile and assignment the operator has
	// seen.
	operatorFinalizer = "passkeys.entraops.dev/finalizer"
)

// TestShardsReconcileOnlyTheirTenantsAndHandOver runs the operator sharded
// as the chart does, against one API server: the stack's own manager owns
// the unlabelled tenants, and two more, each electing its leader on a Lease
// of its own, own shards a and b. Each must reconcile only its tenants.
// Relabelling a tenant from a to b must hand it over: no write to Entra (its
// spec did not change), the new owner reconciles it at once, and the old one
// leaves its resources alone: no TenantNotFound stall, no finalizer removed.
func TestShardsReconcileOnlyTheirTenantsAndHandOver(t *testing.T) {
	ctx := t.Context()
	s := startBenchStack(t, "--watch-label-selector=!"+passkeysv1alpha1.ShardLabel)
	if err := s.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leaseNamespace}}); err != nil {
		t.Fatal(err)
	}
	shardA, shardB := startShard(t, s, "a"), startShard(t, s, "b")
	inShard := func(shard string) func(*passkeysv1alpha1.EntraTenant) {
		return func(tenant *passkeysv1alpha1.EntraTenant) {
			tenant.Labels = map[string]string{passkeysv1alpha1.ShardLabel: shard}
		}
	}
	moving := createBenchTenant(t, s, 0, 1, inShard("a"))
	staying := createBenchTenant(t, s, 1, 1, inShard("b"))
	unsharded := createBenchTenant(t, s, 2, 1)
	waitAllReady(t, s, 3*(3+1))

	// The stack's own manager, known here by where it serves metrics.
	rest := &managerProcess{metricsAddr: s.metricsAddr}
	waitOwners(t, "after the first passes", map[*managerProcess][]string{
		shardA: {moving.Name}, shardB: {staying.Name}, rest: {unsharded.Name},
	})
	for _, shard := range []string{"a", "b"} {
		lease := &coordinationv1.Lease{}
		if err := s.env.Client.Get(ctx, client.ObjectKey{Namespace: leaseNamespace, Name: shardLease(shard)}, lease); err != nil {
			t.Errorf("shard %s's Lease: %v", shard, err)
		} else if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			t.Errorf("shard %s's Lease %s has no holder", shard, lease.Name)
		}
	}

	// The hand-over.
	patches := fido2Patches(t, s, moving.Spec.TenantID)
	stopWatching := watchForHarm(t, s, moving.Name)
	relabelled := time.Now()
	patchTenant(t, s, moving, func(tenant *passkeysv1alpha1.EntraTenant) {
		tenant.Labels[passkeysv1alpha1.ShardLabel] = "b"
	})
	waitOwners(t, "after the relabelling", map[*managerProcess][]string{
		shardA: nil, shardB: {moving.Name, staying.Name}, rest: {unsharded.Name},
	})
	t.Logf("shard b reconciled %s %v after it was relabelled; shard a forgot it", moving.Name, time.Since(relabelled).Round(time.Millisecond))
	if n := fido2Patches(t, s, moving.Spec.TenantID) - patches; n != 0 {
		t.Errorf("the hand-over sent %d PATCHes; nothing changed, so want none", n)
	}

	// A change right after the hand-over is the new owner's, promptly, and
	// written once.
	synced := syncedTenants(t, shardB)[moving.Name]
	changed := time.Now()
	assignment := &passkeysv1alpha1.GroupAssignment{}
	key := client.ObjectKey{Namespace: moving.Name, Name: "group-0"}
	if err := s.env.Client.Get(ctx, key, assignment); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(assignment.DeepCopy())
	assignment.Spec.RegistrationRequired = true
	if err := s.env.Client.Patch(ctx, assignment, patch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the changed assignment Ready at its new generation", func() (bool, string) {
		if err := s.env.Client.Get(ctx, key, assignment); err != nil {
			return false, err.Error()
		}
		ready := meta.FindStatusCondition(assignment.Status.Conditions, passkeysv1alpha1.ConditionReady)
		return ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == assignment.Generation,
			fmt.Sprintf("generation %d, Ready %+v", assignment.Generation, ready)
	})
	t.Logf("the change after the hand-over was Ready in %v", time.Since(changed).Round(time.Millisecond))
	if got := syncedTenants(t, shardB)[moving.Name]; got <= synced {
		t.Errorf("shard b's last sync of %s is %v, not after %v: another manager made the pass", moving.Name, got, synced)
	}
	if n := fido2Patches(t, s, moving.Spec.TenantID) - patches; n != 1 {
		t.Errorf("the change sent %d PATCHes, want 1: one owner, one write", n)
	}
	if harm := stopWatching(); len(harm) > 0 {
		t.Errorf("during the hand-over the old owner harmed the tenant's resources:\n%s", strings.Join(harm, "\n"))
	}
	waitOwners(t, "at the end", map[*managerProcess][]string{
		shardA: nil, shardB: {moving.Name, staying.Name}, rest: {unsharded.Name},
	})
}

// startShard starts a manager for one shard, as the chart's shard
// Deployments run it, and stops it when the test ends.
func startShard(t *testing.T, s *stack, shard string) *managerProcess {
	t.Helper()
	m, err := s.startManagerProcess(t.Context(), "manager-"+shard+".log",
		"--leader-elect=true",
		"--leader-election-namespace="+leaseNamespace,
		"--leader-election-id="+shardLease(shard),
		"--watch-label-selector="+passkeysv1alpha1.ShardLabel+" in ("+shard+")")
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the stack's cleanup, so it runs before it: the
	// manager stops while the API server is still there.
	t.Cleanup(func() {
		if err := m.stop(); err != nil {
			t.Error(err)
		}
	})
	return m
}

// shardLease is the Lease a shard elects its leader on, named as the chart
// names it.
func shardLease(shard string) string {
	return "passkey-operator-" + shard + ".passkeys.entraops.dev"
}

// waitOwners waits until each manager's metrics show a successful pass of
// exactly the tenants given for it: a manager that reconciled another
// shard's tenant shows it too, and one that handed a tenant over forgets it.
// It allows 15 s, far less than the 10 min resync: a hand-over must follow
// the relabelling's events, not wait for the next scheduled pass.
func waitOwners(t *testing.T, when string, owners map[*managerProcess][]string) {
	t.Helper()
	waitFor(t, 15*time.Second, "each manager to have synced only its own tenants "+when, func() (bool, string) {
		var wrong []string
		for m, want := range owners {
			got := slices.Sorted(maps.Keys(syncedTenants(t, m)))
			if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				wrong = append(wrong, fmt.Sprintf("the manager at %s synced %v, want %v", m.metricsAddr, got, want))
			}
		}
		return len(wrong) == 0, strings.Join(wrong, "; ")
	})
}

// syncedTenants reads, from a manager's /metrics, the time of its last
// successful pass of each tenant.
func syncedTenants(t *testing.T, m *managerProcess) map[string]float64 {
	t.Helper()
	const prefix = `passkey_operator_last_successful_sync_timestamp_seconds{tenant="`
	resp, err := http.Get("http://" + m.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	synced := map[string]float64{}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		series, value, ok := strings.Cut(lines.Text(), " ")
		tenant, isSync := strings.CutPrefix(series, prefix)
		if !ok || !isSync {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", lines.Text(), err)
		}
		synced[strings.TrimSuffix(tenant, `"}`)] = v
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	return synced
}

// fido2Patches counts the PATCHes of the tenant's fido2 policy the emulator
// has served.
func fido2Patches(t *testing.T, s *stack, tenantID string) int {
	t.Helper()
	body, err := s.emulatorAdmin(http.MethodGet, "/_emulator/stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	var stats emulator.Stats
	if err := json.Unmarshal(body, &stats); err != nil {
		t.Fatalf("emulator stats: %v", err)
	}
	return stats.Count(tenantID, http.MethodPatch, graphFido2Path, emulator.AnyStatus)
}

func patchTenant(t *testing.T, s *stack, tenant *passkeysv1alpha1.EntraTenant, change func(*passkeysv1alpha1.EntraTenant)) {
	t.Helper()
	patch := client.MergeFrom(tenant.DeepCopy())
	change(tenant)
	if err := s.env.Client.Patch(t.Context(), tenant, patch); err != nil {
		t.Fatal(err)
	}
}

// watchForHarm watches the profiles and assignments of namespace and
// returns a function that stops watching and lists every state in which one
// of them was Stalled, had lost the finalizer or was deleted: what a shard
// that took another shard's tenant for a deleted one would do to them.
func watchForHarm(t *testing.T, s *stack, namespace string) (stop func() []string) {
	t.Helper()
	watcher, err := client.NewWithWatch(s.env.Config, client.Options{Scheme: s.env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		harm    []string
		stopped bool
		done    sync.WaitGroup
		watches []watch.Interface
	)
	record := func(problem string) {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			harm = append(harm, problem)
		}
	}
	for _, list := range []client.ObjectList{&passkeysv1alpha1.PasskeyProfileList{}, &passkeysv1alpha1.GroupAssignmentList{}} {
		w, err := watcher.Watch(t.Context(), list, client.InNamespace(namespace))
		if err != nil {
			t.Fatal(err)
		}
		watches = append(watches, w)
		done.Go(func() {
			for e := range w.ResultChan() {
				o, ok := e.Object.(passkeysv1alpha1.Object)
				if !ok {
					// A watch error: what follows it would go unseen.
					record(fmt.Sprintf("the watch failed: %v", e.Object))
					continue
				}
				var problem string
				switch {
				case e.Type == watch.Deleted:
					problem = "deleted"
				case !controllerutil.ContainsFinalizer(o, operatorFinalizer):
					problem = "no finalizer"
				case meta.IsStatusConditionTrue(o.GetConditions(), passkeysv1alpha1.ConditionStalled):
					c := meta.FindStatusCondition(o.GetConditions(), passkeysv1alpha1.ConditionStalled)
					problem = "Stalled " + c.Reason + ": " + c.Message
				default:
					continue
				}
				record(fmt.Sprintf("%s %s/%s: %s", o.ResourceKind(), o.GetNamespace(), o.GetName(), problem))
			}
		})
	}
	return func() []string {
		// Stopping a watch ends it with an error of its own.
		mu.Lock()
		stopped = true
		found := harm
		mu.Unlock()
		for _, w := range watches {
			w.Stop()
		}
		done.Wait()
		return found
	}
}

// waitFor polls cond every 50 ms until it holds, or fails the test after
// timeout with what cond last said.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
