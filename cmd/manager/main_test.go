package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url) //nolint:gosec // a loopback URL the test built
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestManagerServesProbesAndMetrics runs the manager as it runs in a
// cluster, against a real API server found through KUBECONFIG: it must
// become ready, serve metrics, and stop cleanly.
func TestManagerServesProbesAndMetrics(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	t.Setenv("KUBECONFIG", env.KubeconfigPath)

	metricsAddr, probeAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"--metrics-bind-address", metricsAddr,
			"--health-probe-bind-address", probeAddr,
			"--leader-elect=false",
		})
	}()

	deadline := time.Now().Add(30 * time.Second)
	var last string
	for {
		code, body, err := get("http://" + probeAddr + "/readyz")
		if err == nil && code == http.StatusOK {
			break
		}
		last = fmt.Sprintf("%d %s %v", code, body, err)
		select {
		case err := <-done:
			t.Fatalf("manager stopped before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("manager never became ready: %s", last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, err := get("http://" + probeAddr + "/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("/healthz = %d, %v", code, err)
	}
	// The metrics server is a runnable of its own and may start a moment
	// after the probes answer.
	for {
		code, body, err := get("http://" + metricsAddr + "/metrics")
		if err == nil && code == http.StatusOK && strings.Contains(body, "controller_runtime_reconcile_total") {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("/metrics = %d, %v; want controller-runtime's metrics, got %d bytes", code, err, len(body))
		}
		time.Sleep(100 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("manager stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("manager did not stop within 30s of its context ending")
	}
	_ = os.Unsetenv("KUBECONFIG")
}

// TestManagerRefusesABadSelector: a shard whose selector does not parse
// must stop at startup and say which flag is wrong, not run with no
// selector and reconcile every other shard's tenants.
func TestManagerRefusesABadSelector(t *testing.T) {
	err := run(context.Background(), []string{"--watch-label-selector", "passkeys.entraops.dev/shard in (a"})
	if err == nil || !strings.Contains(err.Error(), "--watch-label-selector") {
		t.Fatalf("run = %v, want an error naming --watch-label-selector", err)
	}
}
