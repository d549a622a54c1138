package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// chaos runs the tenants' faults and edits, the manager kills and the API
// server restarts for opts.chaos, then clears the faults.
func (k *soak) chaos(ctx context.Context, say func(string, ...any)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	end := time.Now().Add(k.opts.chaos)
	for _, t := range k.tenants {
		t.nextEdit = t.next(time.Second, 20*time.Second)
		t.nextPortal = t.next(time.Second, 30*time.Second)
		t.nextFault = t.next(0, 10*time.Second)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := k.disrupt(ctx, say); err != nil {
			errs <- err
			cancel()
		}
	}()

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var loopErr error
	for loopErr == nil && time.Now().Before(end) {
		select {
		case <-ctx.Done():
			loopErr = ctx.Err()
			continue
		case <-tick.C:
		}
		for _, t := range k.tenants {
			if loopErr = k.act(ctx, t); loopErr != nil {
				break
			}
		}
	}
	if loopErr != nil {
		cancel() // no more kills or restarts either
	}
	wg.Wait()
	close(errs)
	if err := errors.Join(append([]error{loopErr}, collect(errs)...)...); err != nil {
		return err
	}
	// The chaos is over once the faults are.
	for _, t := range k.tenants {
		if _, _, err := k.admin.call(http.MethodDelete, "/_emulator/tenants/"+t.tenantID+"/fault", nil, nil, http.StatusNoContent); err != nil {
			return err
		}
		if t.faultOn {
			t.faultOn = false
			t.faults[len(t.faults)-1].to = time.Now()
		}
	}
	k.logf(nil, "chaos over, faults cleared")
	return nil
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// act does what is due for one tenant.
func (k *soak) act(ctx context.Context, t *soakTenant) error {
	now := time.Now()
	if !t.calm && now.After(t.nextFault) {
		if err := k.toggleFault(t); err != nil {
			return err
		}
	}
	if now.After(t.nextEdit) {
		t.nextEdit = t.next(4*time.Second, 30*time.Second)
		if err := k.editResources(ctx, t); err != nil {
			return err
		}
	}
	if now.After(t.nextPortal) {
		t.nextPortal = t.next(10*time.Second, 45*time.Second)
		if err := k.portalEdit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// disrupt kills the manager and restarts the API server at moments drawn
// from the seed, spread over the chaos, one at a time. One that comes late
// (a restart before it took long) still happens: the chaos ends when they
// are all over.
func (k *soak) disrupt(ctx context.Context, say func(string, ...any)) error {
	rng := rand.New(rand.NewPCG(k.opts.seed, 0))
	start := time.Now()
	type disruption struct {
		at   time.Duration
		kill bool
	}
	var plan []disruption
	within := func() time.Duration {
		// Between 10% and 85% of the chaos, clear of the setup and
		// leaving time for the last to finish.
		return k.opts.chaos/10 + time.Duration(rng.Int64N(int64(k.opts.chaos*3/4)))
	}
	for range k.opts.managerKills {
		plan = append(plan, disruption{at: within(), kill: true})
	}
	for range k.opts.apiRestarts {
		plan = append(plan, disruption{at: within()})
	}
	sort.Slice(plan, func(i, j int) bool { return plan[i].at < plan[j].at })
	for _, d := range plan {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(start.Add(d.at))):
		}
		var err error
		if d.kill {
			err = k.killManager(ctx)
		} else {
			err = k.restartAPIServer()
		}
		if err != nil {
			return err
		}
		k.mu.Lock()
		k.globalTriggers = append(k.globalTriggers, time.Now())
		kills, restarts := k.rep.managerKills, k.rep.apiRestarts
		k.mu.Unlock()
		if d.kill {
			say("manager killed with SIGKILL and started again (%d)", kills)
		} else {
			say("API server restarted (%d)", restarts)
		}
	}
	return nil
}

// killManager kills the manager with SIGKILL, mid-pass as likely as not,
// and starts a new one, logging to a file of its own.
func (k *soak) killManager(ctx context.Context) error {
	killed := time.Now()
	k.logf(nil, "killing the manager (SIGKILL)")
	if err := k.s.manager.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("killing the manager: %w", err)
	}
	<-k.s.manager.exited
	k.mu.Lock()
	k.rep.managerKills++
	n := k.rep.managerKills
	k.mu.Unlock()
	m, err := k.s.startManagerProcess(ctx, fmt.Sprintf("manager-%d.log", n+1), "--leader-elect=false")
	if err != nil {
		return fmt.Errorf("starting the manager after kill %d: %w", n, err)
	}
	k.s.manager, k.s.metricsAddr = m.child, m.metricsAddr
	k.logf(nil, "manager started again and ready (manager-%d.log)", n+1)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rep.managerDown = append(k.rep.managerDown, time.Since(killed))
	return nil
}

func (k *soak) restartAPIServer() error {
	stopped := time.Now()
	k.logf(nil, "restarting the API server")
	if err := k.s.env.RestartAPIServer(); err != nil {
		return err
	}
	k.logf(nil, "API server back")
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rep.apiRestarts++
	k.rep.apiDown = append(k.rep.apiDown, time.Since(stopped))
	k.apiOutages = append(k.apiOutages, span{stopped, time.Now()})
	return nil
}

// poll checks every tenant's stored policy every opts.poll until ctx ends,
// then says it is done on the channel it returns.
func (k *soak) poll(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.pollUntil(ctx)
	}()
	return done
}

func (k *soak) pollUntil(ctx context.Context) {
	for {
		for _, t := range k.tenants {
			if err := k.checkPolicy(t); err != nil && ctx.Err() == nil {
				fmt.Fprintf(k.opts.out, "%s  checking %s: %v\n", time.Now().Format("15:04:05"), t.name, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(k.opts.poll):
		}
	}
}

// checkPolicy checks the invariants one stored policy shows: no duplicate
// profile, and under Merge no unmanaged item lost outside the race window.
func (k *soak) checkPolicy(t *soakTenant) error {
	policy, err := k.admin.snapshot(t.tenantID)
	if err != nil {
		return err
	}
	k.mu.Lock()
	var newDups []string
	for _, name := range duplicateProfileNames(policy.doc) {
		if !t.dupsSeen[name] {
			t.dupsSeen[name] = true
			newDups = append(newDups, name)
		}
	}
	var missing []portalItem
	for _, it := range t.portalItems {
		if it.version <= policy.version && !t.lost[it.id] && !it.presentIn(policy.doc) {
			t.lost[it.id] = true
			missing = append(missing, it)
		}
	}
	k.mu.Unlock()
	for _, name := range newDups {
		k.violate("tenant %s holds two profiles named %q (policy version %d)", t.name, name, policy.version)
	}
	if len(missing) == 0 {
		return nil
	}
	requests, err := k.admin.requests(t.tenantID)
	if err != nil {
		return err
	}
	for _, it := range missing {
		window, ok := overwriteExcuse(requests, it.version, policy.version)
		if !ok {
			k.violate("tenant %s (Merge) lost the unmanaged %s by version %d, and no operator PATCH in between built on a read from before it: the operator removed an item it had read",
				t.name, it, policy.version)
			continue
		}
		k.mu.Lock()
		k.rep.excused = append(k.rep.excused, fmt.Sprintf("%s: %s; %s", t.name, it, window))
		k.mu.Unlock()
	}
	return nil
}

// converge waits until every tenant has converged — its resources all
// Ready at their generation, none left being deleted, and its stored
// policy what they declare — and records how long each took. The bound is
// two resync intervals (with their 10% jitter): the last portal edits
// changed managed fields behind the operator's back, which only a resync
// finds.
func (k *soak) converge(ctx context.Context) error {
	stopped := k.rep.chaosEnd
	k.rep.convergenceBound = 2 * (k.opts.resync + k.opts.resync/10)
	deadline := stopped.Add(k.rep.convergenceBound + k.opts.settle)
	why := map[string][]string{}
	for {
		pending := 0
		for _, t := range k.tenants {
			if !t.convergedAt.IsZero() {
				continue
			}
			reasons, err := k.unconverged(ctx, t)
			if err != nil {
				reasons = []string{err.Error()}
			}
			if len(reasons) > 0 {
				why[t.name] = reasons
				pending++
				continue
			}
			now := time.Now()
			k.mu.Lock()
			t.convergedAt = now
			k.rep.convergence = append(k.rep.convergence, now.Sub(stopped))
			k.mu.Unlock()
			if took := now.Sub(stopped); took > k.rep.convergenceBound {
				k.violate("tenant %s converged %s after the chaos stopped, beyond two resync intervals (%s); before, it showed: %s",
					t.name, took.Round(time.Second), k.rep.convergenceBound, strings.Join(firstN(why[t.name], 3), "; "))
			}
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, t := range k.tenants {
				if t.convergedAt.IsZero() {
					k.violate("tenant %s did not converge within %s after the chaos stopped; %s; it shows: %s (its state is at the end of soak-actions.txt)",
						t.name, time.Since(stopped).Round(time.Second), k.lastGraphRequest(t, stopped), strings.Join(firstN(why[t.name], 3), "; "))
					k.dumpTenant(ctx, t)
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// lastGraphRequest says when the tenant last called Graph, relative to the
// end of the chaos: a tenant that has not called since is waiting for a
// retry, not failing one.
func (k *soak) lastGraphRequest(t *soakTenant, stopped time.Time) string {
	requests, err := k.admin.requests(t.tenantID)
	if err != nil || len(requests) == 0 {
		return "no Graph request recorded"
	}
	last := requests[len(requests)-1]
	if last.Start.Before(stopped) {
		return fmt.Sprintf("its last Graph request (%s %s, status %d) was %s before the chaos stopped, and none came since: its retry waits longer than two resync intervals",
			last.Method, last.Path, last.Status, stopped.Sub(last.Start).Round(100*time.Millisecond))
	}
	return fmt.Sprintf("its last Graph request (%s %s, status %d) came %s after the chaos stopped",
		last.Method, last.Path, last.Status, last.Start.Sub(stopped).Round(100*time.Millisecond))
}

// dumpTenant writes a tenant's resources and stored policy to the action
// log, to see what kept it from converging.
func (k *soak) dumpTenant(ctx context.Context, t *soakTenant) {
	if v, err := k.view(ctx, t); err == nil {
		for i := range v.profiles {
			k.logf(t, "at the end: %s", describe(t, &v.profiles[i]))
		}
		for i := range v.assignments {
			k.logf(t, "at the end: %s", describe(t, &v.assignments[i]))
		}
	}
	if _, body, err := k.admin.call(http.MethodGet, "/_emulator/tenants/"+t.tenantID+"/fido2", nil, nil, http.StatusOK); err == nil {
		k.logf(t, "at the end, the stored policy: %s", body)
	}
	if requests, err := k.admin.requests(t.tenantID); err == nil {
		var lines []string
		for _, r := range requests {
			if r.Path == graphFido2Path {
				lines = append(lines, fmt.Sprintf("%s %d %s–%s v%d", r.Method, r.Status, r.Start.Format("15:04:05.000"), r.End.Format("15:04:05.000"), r.Version))
			}
		}
		k.logf(t, "its fido2 requests: %s", strings.Join(lines, "; "))
	}
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(slices.Clone(s[:n]), fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// unconverged says what keeps a tenant from having converged; nil when
// nothing does.
func (k *soak) unconverged(ctx context.Context, t *soakTenant) ([]string, error) {
	tenant := &passkeysv1alpha1.EntraTenant{}
	if err := k.s.env.Client.Get(ctx, client.ObjectKey{Name: t.name}, tenant); err != nil {
		return nil, err
	}
	v, err := k.view(ctx, t)
	if err != nil {
		return nil, err
	}
	statuses := []resourceStatus{{"EntraTenant " + t.name, tenant.Generation, tenant.Status.SyncStatus}}
	var deleting []string
	for _, p := range v.profiles {
		statuses = append(statuses, resourceStatus{"PasskeyProfile " + p.Namespace + "/" + p.Name, p.Generation, p.Status.SyncStatus})
		if p.DeletionTimestamp != nil {
			deleting = append(deleting, "PasskeyProfile "+p.Namespace+"/"+p.Name)
		}
	}
	for _, a := range v.assignments {
		statuses = append(statuses, resourceStatus{"GroupAssignment " + a.Namespace + "/" + a.Name, a.Generation, a.Status.SyncStatus})
		if a.DeletionTimestamp != nil {
			deleting = append(deleting, "GroupAssignment "+a.Namespace+"/"+a.Name)
		}
	}
	reasons := notConverged(statuses, deleting)
	policy, err := k.admin.snapshot(t.tenantID)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	want := expectationOf(t.authoritative, v.profiles, v.assignments, t.groupIDs, t.everNames, t.everTargets)
	k.mu.Unlock()
	return append(reasons, documentMismatches(policy.doc, want)...), nil
}

// finalPass forces a pass of every tenant (passkeys.entraops.dev/requestedAt)
// and waits until each has handled it. Every tenant has converged, so it
// must not write: checkRequests counts the PATCHes.
func (k *soak) finalPass(ctx context.Context) error {
	value := fmt.Sprintf("soak-final-%d", k.opts.seed)
	k.rep.forcedAt = time.Now()
	for _, t := range k.tenants {
		tenant := &passkeysv1alpha1.EntraTenant{}
		if err := k.s.env.Client.Get(ctx, client.ObjectKey{Name: t.name}, tenant); err != nil {
			return err
		}
		if err := patchObject(ctx, k.s.env.Client, tenant, func() {
			metav1.SetMetaDataAnnotation(&tenant.ObjectMeta, passkeysv1alpha1.ReconcileRequestAnnotation, value)
		}); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var tenants passkeysv1alpha1.EntraTenantList
		if err := k.s.env.Client.List(ctx, &tenants); err != nil {
			return err
		}
		var waiting []string
		for _, t := range tenants.Items {
			if t.Status.LastHandledReconcileAt != value || !meta.IsStatusConditionTrue(t.Status.Conditions, passkeysv1alpha1.ConditionReady) {
				waiting = append(waiting, t.Name)
			}
		}
		if len(waiting) == 0 {
			k.rep.forcedDone = time.Now()
			return nil
		}
		if time.Now().After(deadline) {
			k.violate("the final forced pass was not handled, Ready, within 2 minutes by %s", strings.Join(firstN(waiting, 5), ", "))
			k.rep.forcedDone = time.Now()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// checkRequests reads every tenant's Graph requests once the soak is over
// and checks the Graph budget: no hot loop during the chaos, no PATCH from
// the final forced pass on, one read per resync in the quiet window.
func (k *soak) checkRequests() error {
	for _, t := range k.tenants {
		requests, err := k.admin.requests(t.tenantID)
		if err != nil {
			return err
		}
		k.tallyRequests(requests)
		k.checkMinutes(t, requests)
		// A tenant that did not converge has its violation already.
		if t.convergedAt.IsZero() {
			continue
		}
		if n := countRequests(requests, http.MethodPatch, graphFido2Path, k.rep.forcedAt, k.rep.quietEnd); n > 0 {
			k.rep.finalPatches += n
			k.violate("tenant %s: %d fido2 PATCH(es) from the final forced pass on, though it had converged", t.name, n)
		}
		window := k.rep.quietEnd.Sub(k.rep.forcedDone)
		least, most := quietBudget(window, k.opts.resync)
		k.rep.quietBudget = most
		gets := countRequests(requests, http.MethodGet, graphFido2Path, k.rep.forcedDone, k.rep.quietEnd)
		k.rep.quietGETs = max(k.rep.quietGETs, gets)
		if gets > most {
			k.violate("tenant %s: %d fido2 GETs in the %s of quiet after the final forced pass, over the budget of %d (one per resync interval)",
				t.name, gets, window.Round(time.Second), most)
		}
		if gets < least {
			k.violate("tenant %s: no fido2 GET in the %s of quiet after the final forced pass: its resync stopped", t.name, window.Round(time.Second))
		}
	}
	return nil
}

// tallyRequests adds a tenant's requests to the report's counts.
func (k *soak) tallyRequests(requests []emulator.RequestRecord) {
	for _, r := range requests {
		switch {
		case r.Path == graphFido2Path:
			k.rep.graphCalls["fido2 "+r.Method]++
		case strings.HasPrefix(r.Path, "/v1.0/groups"):
			k.rep.graphCalls["group look-ups"]++
		default:
			k.rep.graphCalls["other"]++
		}
		switch r.Status {
		case 0:
			k.rep.faultedRequests["dropped"]++
		case http.StatusTooManyRequests:
			k.rep.faultedRequests["429"]++
		case http.StatusServiceUnavailable:
			k.rep.faultedRequests["503"]++
		}
		if r.End.Sub(r.Start) >= 2*time.Second {
			k.rep.faultedRequests["delayed 2s"]++
		}
	}
}

// checkMinutes holds each minute of a tenant's fido2 GETs, from the chaos
// to the end, to the budget its triggers and disturbances give it
// (minuteBudget).
func (k *soak) checkMinutes(t *soakTenant, requests []emulator.RequestRecord) {
	triggers := append(slices.Clone(t.triggers), k.globalTriggers...)
	triggers = append(triggers, k.rep.forcedAt)
	for from := k.rep.chaosStart; from.Before(k.rep.quietEnd); from = from.Add(time.Minute) {
		to := from.Add(time.Minute)
		gets := countRequests(requests, http.MethodGet, graphFido2Path, from, to)
		n := 0
		for _, at := range triggers {
			// A trigger's pass starts after the burst window.
			if !at.Before(from.Add(-2*time.Second)) && at.Before(to) {
				n++
			}
		}
		since := from.Add(-calmLookback)
		calm := !overlaps(t.faults, since, to) && !overlaps(k.apiOutages, since, to)
		budget := minuteBudget(n, calm)
		where := fmt.Sprintf("%s, minute %d, %d trigger(s)", t.name, int(from.Sub(k.rep.chaosStart)/time.Minute)+1, n)
		if calm && gets > k.rep.maxCalmGETs {
			k.rep.maxCalmGETs, k.rep.maxCalmBudget, k.rep.maxCalmWhere = gets, budget, where
		}
		if !calm && gets > k.rep.maxGETs {
			k.rep.maxGETs, k.rep.maxGETsBudget, k.rep.maxGETsWhere = gets, budget, where
		}
		if gets > budget {
			k.violate("%d fido2 GETs in one minute (%s, %s), over the budget of %d: a hot loop?",
				gets, where, map[bool]string{true: "calm", false: "disturbed"}[calm], budget)
		}
	}
}

// checkSecrets scans the manager's and the emulator's logs and the
// Kubernetes Events for the client secret and access tokens. A finding
// names the file and line, never the secret.
func (k *soak) checkSecrets(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(k.opts.dir, "*.log"))
	if err != nil {
		return err
	}
	for _, file := range files {
		if err := k.scanFile(file); err != nil {
			return err
		}
	}
	var notes []string
	var events eventsv1.EventList
	if err := k.s.env.Client.List(ctx, &events); err != nil {
		return err
	}
	for _, e := range events.Items {
		notes = append(notes, e.Note)
	}
	var coreEvents corev1.EventList
	if err := k.s.env.Client.List(ctx, &coreEvents); err != nil {
		return err
	}
	for _, e := range coreEvents.Items {
		notes = append(notes, e.Message)
	}
	k.rep.scannedEvents = len(notes)
	for i, note := range notes {
		for _, what := range secretsIn(note, k.s.clientSecret) {
			k.violate("event %d of %d shows %s", i+1, len(notes), what)
		}
	}
	return nil
}

func (k *soak) scanFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	k.rep.scannedFiles++
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; lines.Scan(); n++ {
		k.rep.scannedLines++
		for _, what := range secretsIn(lines.Text(), k.s.clientSecret) {
			k.violate("%s line %d shows %s", filepath.Base(path), n, what)
		}
	}
	return lines.Err()
}
