package main

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// soakReport is what a soak did and found; String renders it for people.
type soakReport struct {
	seed                   uint64
	tenants, authoritative int
	calm                   int
	resources              int
	chaos, resync, quiet   time.Duration
	total                  time.Duration
	chaosStart, chaosEnd   time.Time
	// forcedAt is when the final forced pass was asked for, forcedDone
	// when every tenant had handled it, quietEnd the end of the soak.
	forcedAt, forcedDone, quietEnd time.Time
	faultWindows                   map[string]int // by kind
	faultedRequests                map[string]int // by what the emulator answered
	managerKills, apiRestarts      int
	// managerDown and apiDown are how long each kill and restart left the
	// manager or the API server unavailable.
	managerDown, apiDown []time.Duration
	portalEdits          map[string]int // by kind
	// portalRetries are portal edits that raced a write and were redone;
	// portalRefused, edits Entra's rules refused.
	portalRetries, portalRefused int
	resourceEdits                map[string]int // by kind
	// editsFailed are resource and portal edits skipped because the API
	// server was down.
	editsFailed int
	// excused are unmanaged items lost in the GET→PATCH window.
	excused          []string
	convergence      []time.Duration
	convergenceBound time.Duration
	graphCalls       map[string]int
	// maxGETs is the most fido2 GETs one tenant made in one disturbed
	// minute (faults or an API server outage), where, and its budget then;
	// maxCalmGETs the same for calm minutes.
	maxGETs, maxGETsBudget     int
	maxGETsWhere               string
	maxCalmGETs, maxCalmBudget int
	maxCalmWhere               string
	// quietGETs is the most fido2 GETs a converged tenant made in the quiet
	// window after the final forced pass, and quietBudget the bound.
	quietGETs, quietBudget int
	finalPatches           int
	scannedFiles           int
	scannedLines           int
	scannedEvents          int
	violations             []string
}

func newSoakReport(opts soakOptions) *soakReport {
	return &soakReport{
		seed: opts.seed, tenants: opts.tenants, chaos: opts.chaos, resync: opts.resync, quiet: opts.quiet,
		faultWindows: map[string]int{}, faultedRequests: map[string]int{}, portalEdits: map[string]int{},
		resourceEdits: map[string]int{}, graphCalls: map[string]int{},
	}
}

func (r *soakReport) String() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("Fault soak report (%s)", time.Now().Format("2006-01-02 15:04 MST"))
	line("  seed                 %d   (replay: make soak SOAK_SEED=%d SOAK_TENANTS=%d SOAK_DURATION=%s)", r.seed, r.seed, r.tenants, r.chaos)
	line("  duration             %s of chaos, %s in all", r.chaos, r.total.Round(time.Second))
	line("  tenants              %d (%d Authoritative, the rest Merge; %d without Graph faults), %d resources at the start, resyncInterval %s",
		r.tenants, r.authoritative, r.calm, r.resources, r.resync)
	line("  fault windows        %s", counts(r.faultWindows))
	line("  faulted requests     %s", counts(r.faultedRequests))
	line("  manager kills        %d (SIGKILL; down %s)", r.managerKills, spread(r.managerDown))
	line("  API server restarts  %d (down %s)", r.apiRestarts, spread(r.apiDown))
	line("  portal edits         %d: %s; %d redone after racing a write, %d refused by Entra's rules",
		sum(r.portalEdits), counts(r.portalEdits), r.portalRetries, r.portalRefused)
	line("  resource edits       %d: %s; %d edits skipped while the API server was down", sum(r.resourceEdits), counts(r.resourceEdits), r.editsFailed)
	line("  lost in GET→PATCH    %d unmanaged item(s) overwritten by a PATCH built on a read from before the portal edit (documented)", len(r.excused))
	for _, e := range r.excused {
		line("                         %s", e)
	}
	line("  convergence          p50 %s, p99 %s, max %s after the chaos stopped (bound %s)",
		round(percentile(r.convergence, 50)), round(percentile(r.convergence, 99)), round(percentile(r.convergence, 100)), r.convergenceBound)
	line("  final forced pass    %d PATCH(es)", r.finalPatches)
	line("  quiet window         %s after the forced pass: at most %d fido2 GET(s) per tenant (budget %d)", r.quiet, r.quietGETs, r.quietBudget)
	line("  Graph calls          %d: %s", sum(r.graphCalls), counts(r.graphCalls))
	line("  fido2 GETs/min       %s", minuteMax("calm", r.maxCalmGETs, r.maxCalmWhere, r.maxCalmBudget))
	line("                       %s", minuteMax("disturbed", r.maxGETs, r.maxGETsWhere, r.maxGETsBudget))
	line("  secrets in logs      scanned %d lines in %d files and %d events", r.scannedLines, r.scannedFiles, r.scannedEvents)
	if len(r.violations) == 0 {
		line("  invariants           all held")
		return b.String()
	}
	line("  invariants           %d BROKEN (replay with the seed above):", len(r.violations))
	for _, v := range r.violations {
		line("    - %s", v)
	}
	return b.String()
}

// counts renders a counter as "a 3, b 1", largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func minuteMax(kind string, gets int, where string, budget int) string {
	if where == "" {
		return "no " + kind + " minute"
	}
	return fmt.Sprintf("at most %d for one tenant in a %s minute (%s; budget then %d)", gets, kind, where, budget)
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }

// spread renders durations as "p50 … max …".
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	return fmt.Sprintf("p50 %s, max %s", round(percentile(ds, 50)), round(percentile(ds, 100)))
}
