package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// TestRunLocalShowsDriftAndStopsOnCtrlC runs `make run-local` as a person
// would in a terminal: it must show every sample Ready, drift corrected
// under Enforce and reported under Report, and then, on Ctrl-C (SIGINT to
// the whole foreground process group, as a terminal sends it), stop
// everything it started.
func TestRunLocalShowsDriftAndStopsOnCtrlC(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run the tests with make test")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "run-local", "LOCAL_DIR="+dir)
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), "MAKEFLAGS=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	group := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-group, syscall.SIGKILL) })

	var output strings.Builder
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		output.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "Logs: ") { // the last line of the next steps
			break
		}
	}
	shown := output.String()
	for _, want := range []string{
		"All samples are Ready",
		"PasskeyProfile identity/synced-staff",
		"DriftDetected: Entra differed from the spec and was corrected: passkeyTypes",
		"Drifted: passkeyTypes (Git deviceBound, synced, Entra deviceBound)",
		"Demo done: every sample is Ready again.",
		"kubectl get passkeys -A",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("run-local did not show %q; it showed:\n%s", want, shown)
		}
	}
	if strings.Contains(shown, "demo failed") {
		t.Errorf("the drift demo failed:\n%s", shown)
	}

	if err := syscall.Kill(-group, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	_ = cmd.Wait()
	if !strings.Contains(string(rest), "Stopping") {
		t.Errorf("run-local did not say it was stopping after Ctrl-C:\n%s", rest)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := syscall.Kill(-group, 0)
		if errors.Is(err, syscall.ESRCH) {
			break
		}
		if time.Now().After(deadline) {
			out, _ := exec.Command("ps", "-o", "pid,pgid,args", "-g", "").CombinedOutput()
			t.Fatalf("processes of run-local's group are alive 30s after Ctrl-C:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, alive := runningPID(dir); alive {
		t.Error("the pid file still names a live process")
	}
}
