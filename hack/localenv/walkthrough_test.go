package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// The README's walkthrough is a shell block after this marker; the test runs
// it as written, so the README cannot promise what the code does not do.
const (
	walkthroughMarker = "<!-- walkthrough: run by TestReadmeWalkthrough -->"
	rolloutMarker     = "<!-- rollout: run by TestReadmeWalkthrough -->"
	teardownMarker    = "<!-- teardown: run by TestReadmeWalkthrough -->"
)

// TestReadmeWalkthrough runs README.md's five-minute walkthrough from a
// script: make local-up, source the env file, see the samples, cause drift
// under Enforce and under Report; then its rollout walkthrough: explain
// users, read the registration report, select authenticators by name;
// then make local-down. The stack lives in a
// temporary LOCAL_DIR so a developer's own .local is left alone.
func TestReadmeWalkthrough(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run the tests with make test")
	}
	readme, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	walkthrough := shellBlockAfter(t, string(readme), walkthroughMarker)
	rollout := shellBlockAfter(t, string(readme), rolloutMarker)
	teardown := shellBlockAfter(t, string(readme), teardownMarker)
	dir := t.TempDir()
	t.Cleanup(func() {
		// Whatever happened, leave nothing running.
		if pid, alive := runningPID(dir); alive {
			_ = stop(dir, &bytes.Buffer{})
			t.Errorf("the stack (pid %d) was still running at the end", pid)
		}
	})

	// The README says `. .local/env`; here the stack lives in dir.
	script := strings.ReplaceAll(walkthrough, ". .local/env", `. "$LOCAL_DIR/env"`)
	out := runScript(t, script, dir)
	t.Logf("walkthrough output:\n%s", out)

	env, err := readEnvFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{envKubeconfig, envEmulatorURL, envEmulatorCA, envTenantID, envClientID, envClientSecret} {
		if env[name] == "" {
			t.Errorf("the env file defines no %s", name)
		}
	}
	if !strings.Contains(out, "synced-staff") || !strings.Contains(out, "True") {
		t.Errorf("kubectl get passkeys -A did not list the samples as Ready:\n%s", out)
	}
	if strings.Contains(out, env[envClientSecret]) {
		t.Error("the walkthrough printed the client secret")
	}
	if !strings.Contains(out, "resources valid") || !strings.Contains(out, "): no changes.") {
		t.Errorf("passkeyctl did not validate the export and plan no changes:\n%s", out)
	}
	expectCorrectedEvent(t, env[envKubeconfig])
	expectPortalChangeKept(t, env)
	if !strings.Contains(out, `"field":"passkeyTypes"`) {
		t.Errorf("status.drift printed by the walkthrough does not name passkeyTypes:\n%s", out)
	}

	out = runScript(t, strings.ReplaceAll(rollout, ". .local/env", `. "$LOCAL_DIR/env"`), dir)
	t.Logf("rollout output:\n%s", out)
	expectRollout(t, out)
	if strings.Contains(out, env[envClientSecret]) {
		t.Error("the rollout walkthrough printed the client secret")
	}

	pid, alive := runningPID(dir)
	if !alive {
		t.Fatal("no stack running after the walkthrough")
	}
	apiServer := serverOf(t, env[envKubeconfig])
	out = runScript(t, teardown, dir)
	t.Logf("teardown output:\n%s", out)
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("processes of the stack's group %d are still alive after local-down (kill: %v)", pid, err)
	}
	for _, url := range []string{apiServer, env[envEmulatorURL]} {
		if _, err := (&http.Client{Timeout: 2 * time.Second}).Get(url); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s still answers after local-down (%v)", url, err)
		}
	}
	if _, err := os.Stat(envFilePath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the env file outlived the stack (%v)", err)
	}
}

// expectRollout: what the rollout walkthrough's commands print says what
// the README says they show.
func expectRollout(t *testing.T, out string) {
	t.Helper()
	for _, want := range []string{
		// explain erin: in scope through both groups; the staff profile
		// undoes the admins' attestation and allow-list.
		"User erin@contoso.example",
		"through group Administrators",
		"Synced passkeys for staff",
		"May register: device-bound and synced passkeys",
		"Attestation: not required",
		// explain -f for dana: registration becomes required.
		"What changes for dana@contoso.example",
		"registration now required by group Staff",
		// The report: 8 users, 4 with a passkey; Staff holds 6 of them
		// (Administrators nested), Contractors 2 without.
		`"users":8`,
		`"anyPasskey":4`,
		// The catalog resolved the names.
		"YubiKey 5 Series with NFC\t2fc0579f-8113-47ea-b116-bb5a8db9202a",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the rollout walkthrough did not print %q", want)
		}
	}
	// NAME USERS DEVICE-BOUND SYNCED ANY NONE, as the README's columns.
	for _, want := range []string{"staff 6 3 2 4 2", "admins 2 2 1 2 0", "contractors 2 0 0 0 2"} {
		if !slices.ContainsFunc(strings.Split(out, "\n"), func(line string) bool { return strings.Join(strings.Fields(line), " ") == want }) {
			t.Errorf("kubectl get pkga printed no line %q", want)
		}
	}
}

func shellBlockAfter(t *testing.T, doc, marker string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, marker)
	if !ok {
		t.Fatalf("README.md has no %q", marker)
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatalf("no ```sh block after %q", marker)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("unterminated block after %q", marker)
	}
	return block
}

func runScript(t *testing.T, script, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), "LOCAL_DIR="+dir, "MAKEFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script failed: %v\n--- script\n%s\n--- output\n%s\n--- log\n%s", err, script, out, tail(logFilePath(dir), 40))
	}
	return string(out)
}

func kubeClient(t *testing.T, kubeconfig string) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func serverOf(t *testing.T, kubeconfig string) string {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Host
}

// expectCorrectedEvent: under Enforce the operator said it put Entra back.
func expectCorrectedEvent(t *testing.T, kubeconfig string) {
	t.Helper()
	c := kubeClient(t, kubeconfig)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var events eventsv1.EventList
		if err := c.List(context.Background(), &events, client.InNamespace("identity")); err != nil {
			t.Fatal(err)
		}
		for _, e := range events.Items {
			if e.Regarding.Name == "synced-staff" && e.Reason == "DriftDetected" && strings.Contains(e.Note, "corrected") &&
				strings.Contains(e.Note, "passkeyTypes") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no DriftDetected event saying synced-staff's passkeyTypes were corrected; events: %+v", events.Items)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// expectPortalChangeKept: under Report the portal's edit is still in Entra.
func expectPortalChangeKept(t *testing.T, env envFile) {
	t.Helper()
	raw, err := emulatorAdminRequest(env[envEmulatorURL], env[envEmulatorCA], http.MethodGet,
		"/_emulator/tenants/"+env[envTenantID]+"/fido2", nil)
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := profilesOf(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range profiles {
		if p["name"] == "Synced passkeys for staff" {
			if p["passkeyTypes"] != "deviceBound" {
				t.Errorf("under Report Entra should keep the portal's deviceBound, holds %v", p["passkeyTypes"])
			}
			return
		}
	}
	t.Errorf("no staff profile in Entra: %s", raw)
}
