package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func pidFilePath(dir string) string { return filepath.Join(dir, "pid") }
func logFilePath(dir string) string { return filepath.Join(dir, "localenv.log") }

// runningPID reads the pid file and says whether that process still lives.
func runningPID(dir string) (int, bool) {
	raw, err := os.ReadFile(pidFilePath(dir))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, syscall.Kill(pid, 0) == nil
}

// upCommand starts `localenv run` in its own session (so it outlives the
// make that started it and owns a process group that down can clean up) and
// returns once the run has written the env file, that is once the samples
// are Ready.
func upCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := dirFlag(fs)
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the samples to become Ready")
	if err := fs.Parse(args); err != nil {
		return err
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if pid, alive := runningPID(absDir); alive {
		return fmt.Errorf("a local stack is already running from %s (pid %d): stop it with make local-down", absDir, pid)
	}
	if err := os.MkdirAll(absDir, 0o700); err != nil {
		return err
	}
	// A run that died without cleaning up (killed, or a reboot) leaves its
	// env file behind; the wait below must not take it for the new run's.
	releaseDir(absDir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logFile, err := os.Create(logFilePath(absDir))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(self, "run", "--dir", absDir, "--ready-timeout", timeout.String(), "--demo=false")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting localenv run: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.After(*timeout)
	for {
		if _, err := os.Stat(envFilePath(absDir)); err == nil {
			fmt.Fprintf(stdout, "Local stack up (pid %d): the samples are Ready.\n", cmd.Process.Pid)
			fmt.Fprintf(stdout, "Use it with:  . %s\nStop it with: make local-down%s\nIts log:      %s\n",
				relative(envFilePath(absDir)), localDirArg(absDir), relative(logFilePath(absDir)))
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("localenv run stopped before the samples were Ready (%w); its log:\n%s", err, tail(logFilePath(absDir), 30))
		case <-ctx.Done():
			return errors.Join(ctx.Err(), stopGroup(absDir, cmd.Process.Pid, stdout))
		case <-deadline:
			return fmt.Errorf("the samples were not Ready after %s, stack stopped (%w); its log:\n%s",
				*timeout, stopGroup(absDir, cmd.Process.Pid, stdout), tail(logFilePath(absDir), 30))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// localDirArg is what to add to a make command for it to find the stack in dir.
func localDirArg(dir string) string {
	if def, err := filepath.Abs(".local"); err == nil && def == dir {
		return ""
	}
	return " LOCAL_DIR=" + relative(dir)
}

func downCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := dirFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	return stop(absDir, stdout)
}

// stop stops the run whose pid dir records.
func stop(dir string, stdout io.Writer) error {
	pid, alive := runningPID(dir)
	if !alive {
		fmt.Fprintln(stdout, "No local stack is running.")
		releaseDir(dir)
		return nil
	}
	return stopGroup(dir, pid, stdout)
}

// stopGroup asks the run pid to stop (it stops what it started), waits,
// and then kills whatever is left in its process group: nothing survives
// local-down. up passes its child's pid, which the child may not have
// written to dir yet.
func stopGroup(dir string, pid int, stdout io.Writer) error {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 600 {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// up made the run a session leader, so its pid is its process group's id.
	if err := syscall.Kill(-pid, syscall.SIGKILL); err == nil {
		fmt.Fprintln(stdout, "Some processes did not stop in time and were killed.")
	}
	releaseDir(dir)
	fmt.Fprintf(stdout, "Local stack stopped (pid %d).\n", pid)
	return nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
