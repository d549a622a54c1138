package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// stack is what run starts: the control plane (in envtest's hands), the
// emulator and the operator (child processes of ours).
type stack struct {
	dir, binDir string
	// out is shared by the status display and the demo's narration.
	out *lockedWriter
	// demo plays drift (corrected, then reported) once everything is Ready.
	demo bool
	// managerArgs are more flags for the stack's own manager, such as the
	// selector of the tenants it owns when tests run shards beside it.
	managerArgs []string

	env          *testenv.Env
	emulator     *child
	manager      *child
	emulatorURL  string
	emulatorCA   string
	clientSecret string
	// metricsAddr is where the operator serves /metrics.
	metricsAddr string

	adminMu sync.Mutex
	admin   *adminClient
}

func (s *stack) kubeconfigPath() string { return filepath.Join(s.dir, "kubeconfig") }

func (s *stack) start(ctx context.Context) error {
	var err error
	if s.clientSecret, err = newClientSecret(); err != nil {
		return err
	}
	fmt.Fprintln(s.out, "Starting etcd and kube-apiserver ...")
	if s.env, err = testenv.Start(); err != nil {
		return err
	}
	kubeconfig, err := os.ReadFile(s.env.KubeconfigPath)
	if err != nil {
		return fmt.Errorf("reading kubeconfig: %w", err)
	}
	if err := os.WriteFile(s.kubeconfigPath(), kubeconfig, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	fmt.Fprintf(s.out, "API server at %s, CRDs installed.\n", s.env.Config.Host)
	if err := s.startEmulator(ctx); err != nil {
		return err
	}
	return s.startManager(ctx)
}

func (s *stack) startEmulator(ctx context.Context) error {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	stateDir := filepath.Join(s.dir, "emulator")
	s.emulatorURL = "https://" + addr
	s.emulatorCA = filepath.Join(stateDir, emulator.CAFile)
	s.emulator, err = startChild(filepath.Join(s.binDir, "entra-emulator"), filepath.Join(s.dir, "emulator.log"), nil,
		"--addr", addr, "--state-dir", stateDir)
	if err != nil {
		return err
	}
	var seedErr error
	seeded := func() bool {
		seedErr = s.seedDemoTenant()
		return seedErr == nil
	}
	if err := s.emulator.waitUntil(ctx, seeded); err != nil {
		return fmt.Errorf("entra-emulator did not come up: %w", errors.Join(err, seedErr))
	}
	fmt.Fprintf(s.out, "entra-emulator at %s with tenant %s (app %s, groups Staff, Administrators, Contractors; %d users).\n",
		s.emulatorURL, demoTenantID, demoClientID, len(demoUsers))
	return nil
}

// seedDemoTenant registers the demo tenant: the groups the samples name,
// their users, and an app that may also read users, memberships and the
// registration report.
func (s *stack) seedDemoTenant() error {
	return s.seed(map[string]any{
		"tenantId": demoTenantID,
		"apps": []map[string]any{{
			"clientId": demoClientID, "clientSecret": s.clientSecret, "roles": demoRoles,
		}},
		"groups": demoGroups,
		"users":  demoUsers,
	})
}

// seedTenant registers a tenant with the demo app and these groups through
// the emulator's admin API, so the client secret never shows in a process
// list.
func (s *stack) seedTenant(tenantID string, groups []emulator.Group) error {
	return s.seed(map[string]any{
		"tenantId": tenantID,
		"apps": []map[string]any{{
			"clientId": demoClientID, "clientSecret": s.clientSecret, "roles": emulator.ReadWriteRoles,
		}},
		"groups": groups,
	})
}

// seed posts a tenant seed to the emulator's admin API.
func (s *stack) seed(seed map[string]any) error {
	body, err := json.Marshal(seed)
	if err != nil {
		return err
	}
	_, err = s.emulatorAdmin(http.MethodPost, "/_emulator/tenants", body)
	return err
}

// emulatorAdmin calls the emulator's admin API over the stack's kept-alive
// connection: benchmarks poll it many times a second.
func (s *stack) emulatorAdmin(method, path string, body []byte) ([]byte, error) {
	s.adminMu.Lock()
	if s.admin == nil {
		// Not before the emulator has written its CA, which the first calls,
		// waiting for it to come up, may precede.
		admin, err := newAdminClient(s.emulatorURL, s.emulatorCA)
		if err != nil {
			s.adminMu.Unlock()
			return nil, err
		}
		s.admin = admin
	}
	admin := s.admin
	s.adminMu.Unlock()
	return admin.raw(method, path, body)
}

// emulatorTLS is a TLS configuration that trusts only the emulator's CA.
func emulatorTLS(caFile string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading the emulator CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// emulatorAdminRequest calls the emulator's admin API once, trusting only
// its CA.
func emulatorAdminRequest(url, caFile, method, path string, body []byte) ([]byte, error) {
	a, err := newAdminClient(url, caFile)
	if err != nil {
		return nil, err
	}
	// The client lives for one call; its kept-alive connection would not.
	defer a.close()
	return a.raw(method, path, body)
}

func (s *stack) startManager(ctx context.Context) error {
	catalog, err := s.catalogArgs()
	if err != nil {
		return err
	}
	args := append(append([]string{"--leader-elect=false"}, catalog...), s.managerArgs...)
	m, err := s.startManagerProcess(ctx, "manager.log", args...)
	if err != nil {
		return err
	}
	s.manager, s.metricsAddr = m.child, m.metricsAddr
	fmt.Fprintf(s.out, "Operator running (metrics at http://%s/metrics).\n", s.metricsAddr)
	return nil
}

// catalogArgs point the operator at the emulator's authenticator catalog
// (MDS3 BLOB), whose root it writes into the stack's folder: the emulator
// makes a new one at every start.
func (s *stack) catalogArgs() ([]string, error) {
	root, err := s.emulatorAdmin(http.MethodGet, "/_emulator/mds3/root.pem", nil)
	if err != nil {
		return nil, fmt.Errorf("reading the emulator's MDS3 root: %w", err)
	}
	if err := os.WriteFile(s.catalogRootPath(), root, 0o600); err != nil {
		return nil, fmt.Errorf("writing the emulator's MDS3 root: %w", err)
	}
	return []string{"--authenticator-catalog-url", s.catalogURL(), "--authenticator-catalog-root", s.catalogRootPath(),
		"--authenticator-catalog-cache", filepath.Join(s.dir, "mds3.jwt")}, nil
}

func (s *stack) catalogURL() string      { return s.emulatorURL + emulator.MDSPath }
func (s *stack) catalogRootPath() string { return filepath.Join(s.dir, "mds3-root.pem") }

// managerProcess is one running manager binary and where it serves.
type managerProcess struct {
	*child
	metricsAddr, probeAddr string
}

// startManagerProcess starts a manager binary with its own metrics and probe
// ports, logging to logName in the stack's folder, and waits until it is
// ready. Tests that run several managers (shards) or restart one (the soak)
// call it directly; args are added to the manager's command line.
func (s *stack) startManagerProcess(ctx context.Context, logName string, args ...string) (*managerProcess, error) {
	m := &managerProcess{}
	var err error
	if m.metricsAddr, err = freeLoopbackAddr(); err != nil {
		return nil, err
	}
	if m.probeAddr, err = freeLoopbackAddr(); err != nil {
		return nil, err
	}
	// The operator reaches the emulator through its ordinary configuration:
	// custom cloud endpoints in the EntraTenant and a CA bundle.
	env := []string{"KUBECONFIG=" + s.kubeconfigPath(), "SSL_CERT_FILE=" + s.emulatorCA}
	args = append([]string{"--metrics-bind-address", m.metricsAddr, "--health-probe-bind-address", m.probeAddr}, args...)
	if m.child, err = startChild(filepath.Join(s.binDir, "manager"), filepath.Join(s.dir, logName), env, args...); err != nil {
		return nil, err
	}
	ready := func() bool {
		resp, err := http.Get("http://" + m.probeAddr + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if err := m.waitUntil(ctx, ready); err != nil {
		return nil, fmt.Errorf("the operator did not become ready: %w", err)
	}
	return m, nil
}

// stop stops the operator first (so it does not log errors about a vanished
// API server), then the emulator, then the control plane.
func (s *stack) stop() error {
	var errs []error
	if s.admin != nil {
		s.admin.close()
	}
	for _, c := range []*child{s.manager, s.emulator} {
		if c != nil {
			errs = append(errs, c.stop())
		}
	}
	if s.env != nil {
		errs = append(errs, s.env.Stop())
	}
	_ = os.Remove(s.kubeconfigPath())
	return errors.Join(errs...)
}

// lockedWriter lets two goroutines print whole lines without interleaving.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// child is a process we started, with its log file.
type child struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error
}

func startChild(path, logPath string, env []string, args ...string) (*child, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", logPath, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s (build it with make run-local): %w", path, err)
	}
	c := &child{name: filepath.Base(path), cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		_ = logFile.Close()
		close(c.exited)
	}()
	return c, nil
}

// waitUntil polls ready until it says yes, the process dies or a minute passes.
func (c *child) waitUntil(ctx context.Context, ready func() bool) error {
	deadline := time.After(time.Minute)
	for !ready() {
		select {
		case <-c.exited:
			return fmt.Errorf("%s exited (%w); its log is %s", c.name, c.err, c.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("%s not ready after a minute; its log is %s", c.name, c.log)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// stop asks the process to stop and kills it if it has not within 10 seconds.
func (c *child) stop() error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return nil
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("%s did not stop within 10s and was killed", c.name)
	}
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
