// Command localenv runs passkey-operator end to end on this machine: a real
// kube-apiserver and etcd (built by hack/controlplane.sh), the entra-emulator
// with a demo tenant, and the operator, all as local processes, with
// config/samples applied. It backs `make run-local`, `make local-up` and
// `make local-down`.
//
//	localenv run          foreground; Ctrl-C stops everything it started
//	localenv up           the same in the background; returns once the samples are Ready
//	localenv down         stops what `up` started
//	localenv portal-edit  edits the demo tenant's policy as an admin in the portal would
//	localenv soak         the fault soak: many tenants, Graph faults, kills, restarts (docs/reliability.md)
//
// The state (kubeconfig, emulator CA, logs, the env file) lives in --dir,
// .local by default.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: localenv <command> [flags]

Commands:
  run          start the control plane, the emulator and the operator, apply
               config/samples and show their status until Ctrl-C
  up           the same in the background; returns once the samples are Ready
               and DIR/env is written
  down         stop what up started
  portal-edit  edit a passkey profile in the emulator as an admin in the
               Entra portal would, to see drift reported or corrected
  soak         run the fault soak: many tenants under Graph faults, manager
               kills, API server restarts and portal edits, with invariants
               checked throughout (docs/reliability.md)

Run "localenv <command> -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localenv:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	command, args := args[0], args[1:]
	switch command {
	case "run":
		return runCommand(ctx, args, stdout, stderr)
	case "up":
		return upCommand(ctx, args, stdout, stderr)
	case "down":
		return downCommand(args, stdout, stderr)
	case "portal-edit":
		return portalEditCommand(ctx, args, stdout, stderr)
	case "soak":
		return soakCommand(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", command)
}

// dirFlag registers the --dir flag every command shares. Its default comes
// from LOCAL_DIR, as the Makefile's does, so commands typed after
// `make local-up LOCAL_DIR=...` find the same stack.
func dirFlag(fs *flag.FlagSet) *string {
	dir := os.Getenv("LOCAL_DIR")
	if dir == "" {
		dir = ".local"
	}
	return fs.String("dir", dir, "folder for the kubeconfig, the emulator CA, logs and the env file (default from LOCAL_DIR)")
}
