package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The fault soak (docs/reliability.md): many tenants, each with its own
// resources, reconciled by the real manager against the emulator while the
// soak injects Graph faults, kills the manager, restarts the API server,
// edits policies in the "portal" and edits resources — all drawn from one
// seed. It checks its invariants all along and once the chaos stops.
//
// soak.go runs the phases and writes the report, soak_tenants.go plays
// the tenants, soak_chaos.go the manager and the API server,
// soak_invariants.go holds the checks.

// soakOptions shape one soak. `localenv soak` and TestSoak differ only here.
type soakOptions struct {
	dir, binDir string
	seed        uint64
	tenants     int
	// chaos is how long faults, kills, restarts and edits go on; setup,
	// convergence and the quiet window come on top.
	chaos time.Duration
	// resync is every tenant's resyncInterval.
	resync time.Duration
	// quiet is how long the converged tenants are watched after the final
	// forced pass, for the steady-state budget.
	quiet time.Duration
	// poll is how often the invariants are checked during the chaos.
	poll time.Duration
	// managerKills and apiRestarts are how many of each the chaos holds.
	managerKills, apiRestarts int
	// settle is how long to keep waiting for convergence past its bound,
	// to report how long it did take.
	settle time.Duration
	out    io.Writer
}

// soakDefaults scales the chaos to its length: a manager kill every 90s
// and an API server restart every 150s, at least one of each.
func soakDefaults(tenants int, chaos time.Duration) soakOptions {
	return soakOptions{
		tenants:      tenants,
		chaos:        chaos,
		resync:       30 * time.Second,
		quiet:        time.Minute,
		poll:         3 * time.Second,
		managerKills: max(1, int(chaos/(90*time.Second))),
		apiRestarts:  max(1, int(chaos/(150*time.Second))),
		settle:       2 * time.Minute,
	}
}

func soakCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	chaos := fs.Duration("duration", 7*time.Minute, "how long the chaos lasts; setup, convergence and the quiet window add about 3 minutes")
	tenants := fs.Int("tenants", 50, "how many tenants")
	seed := fs.Uint64("seed", 0, "seed of every random choice, to replay a run; 0 picks one")
	report := fs.String("report", "", "also write the report to this file")
	dir := fs.String("dir", "", "folder for logs and state (default: a new temporary folder, removed when the soak passes)")
	binDir := fs.String("bin", defaultBinDir(), "folder holding the manager and entra-emulator binaries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := soakDefaults(*tenants, *chaos)
	opts.seed, opts.binDir, opts.out = *seed, *binDir, stdout
	if opts.seed == 0 {
		opts.seed = rand.Uint64()
	}
	keep := *dir != ""
	if keep {
		if err := os.MkdirAll(*dir, 0o700); err != nil {
			return err
		}
		opts.dir = *dir
	} else {
		var err error
		if opts.dir, err = os.MkdirTemp("", "localenv-soak-"); err != nil {
			return err
		}
	}
	rep, err := runSoak(ctx, opts)
	text := rep.String()
	fmt.Fprint(stdout, "\n"+text)
	if *report != "" {
		if werr := os.WriteFile(*report, []byte(text), 0o644); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if err == nil && len(rep.violations) > 0 {
		err = fmt.Errorf("%d invariant(s) broken; replay with --seed %d; logs in %s", len(rep.violations), opts.seed, opts.dir)
	}
	if err != nil {
		fmt.Fprintf(stdout, "Logs and state kept in %s.\n", opts.dir)
		return err
	}
	if !keep {
		_ = os.RemoveAll(opts.dir)
	}
	return nil
}

// soak is one run's shared state. mu guards the tenants' records, the
// counters and the violations, which the chaos, the poller and the final
// checks all touch.
type soak struct {
	opts soakOptions
	s    *stack
	// admin is the emulator's admin API over one kept-alive connection.
	admin   *adminClient
	tenants []*soakTenant
	rep     *soakReport

	// actions is the action log: what the soak did, when, to which tenant.
	actions *lockedWriter

	mu sync.Mutex
	// globalTriggers are when the manager started and the API server came
	// back: moments every tenant gets a pass.
	globalTriggers []time.Time
	apiOutages     []span
}

// runSoak runs the phases: setup (every tenant Ready), chaos, convergence,
// a final forced pass, a quiet window, then the checks over everything
// recorded. A broken invariant is in the report's violations; the error is
// for a soak that could not run.
func runSoak(ctx context.Context, opts soakOptions) (*soakReport, error) {
	started := time.Now()
	rep := newSoakReport(opts)
	defer func() { rep.total = time.Since(started) }()
	say := func(format string, args ...any) {
		fmt.Fprintf(opts.out, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	say("soak: seed %d, %d tenants, %s of chaos, logs in %s", opts.seed, opts.tenants, opts.chaos, opts.dir)

	s := &stack{dir: opts.dir, binDir: opts.binDir, out: &lockedWriter{w: io.Discard}}
	defer func() {
		if err := s.stop(); err != nil {
			say("stopping the stack: %v", err)
		}
	}()
	if err := s.start(ctx); err != nil {
		return rep, err
	}
	admin, err := newAdminClient(s.emulatorURL, s.emulatorCA)
	if err != nil {
		return rep, err
	}
	defer admin.close()
	actions, err := os.Create(filepath.Join(opts.dir, "soak-actions.txt"))
	if err != nil {
		return rep, err
	}
	defer actions.Close()
	k := &soak{opts: opts, s: s, admin: admin, rep: rep, actions: &lockedWriter{w: actions}}
	k.globalTriggers = append(k.globalTriggers, time.Now())

	if err := k.setUp(ctx); err != nil {
		return rep, err
	}
	say("setup: %d tenants (%d Authoritative), %d resources, all Ready after %s",
		len(k.tenants), rep.authoritative, rep.resources, time.Since(started).Round(time.Second))

	// The invariants are polled from the chaos to the end, and checked
	// once more then.
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := k.poll(pollCtx)
	defer func() {
		stopPolling()
		<-polled
	}()

	rep.chaosStart = time.Now()
	if err := k.chaos(ctx, say); err != nil {
		return rep, err
	}
	rep.chaosEnd = time.Now()
	say("chaos over: %d fault windows, %d manager kills, %d API server restarts, %d portal edits, %d resource edits",
		sum(rep.faultWindows), rep.managerKills, rep.apiRestarts, sum(rep.portalEdits), sum(rep.resourceEdits))

	if err := k.converge(ctx); err != nil {
		return rep, err
	}
	say("converged: %d of %d tenants, p50 %s, p99 %s", len(rep.convergence), len(k.tenants),
		round(percentile(rep.convergence, 50)), round(percentile(rep.convergence, 99)))
	if err := k.finalPass(ctx); err != nil {
		return rep, err
	}
	say("final forced pass handled; watching %s of quiet", opts.quiet)
	select {
	case <-ctx.Done():
		return rep, ctx.Err()
	case <-time.After(opts.quiet):
	}
	rep.quietEnd = time.Now()
	stopPolling()
	<-polled
	for _, t := range k.tenants {
		if err := k.checkPolicy(t); err != nil {
			return rep, err
		}
	}
	if err := k.checkRequests(); err != nil {
		return rep, err
	}
	if err := k.checkSecrets(ctx); err != nil {
		return rep, err
	}
	say("done: %d invariant(s) broken", len(rep.violations))
	return rep, nil
}

// logf adds a line to the action log, about a tenant or (t nil) the stack.
func (k *soak) logf(t *soakTenant, format string, args ...any) {
	who := "stack"
	if t != nil {
		who = t.name
	}
	fmt.Fprintf(k.actions, "%s %s %s\n", time.Now().Format("15:04:05.000"), who, fmt.Sprintf(format, args...))
}

// violate records a broken invariant.
func (k *soak) violate(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rep.violations = append(k.rep.violations, fmt.Sprintf(format, args...))
}

// count adds one to a counter of the report.
func (k *soak) count(m map[string]int, key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m[key]++
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
