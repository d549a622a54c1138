// Command passkeyctl works with passkey-operator's resources outside a
// cluster: it exports a tenant's passkey policy to manifests, shows what
// applying manifests would change in a tenant, validates manifests
// offline, checks a tenant against the operator's assumptions (doctor) and
// explains the policy for one user, with the operator's own rules and Graph
// client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Exit codes, as terraform plan -detailed-exitcode has them.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
)

const usage = `passkeyctl manages Microsoft Entra passkey policy as passkey-operator resources.

Usage:
  passkeyctl export   [flags]              write a tenant's passkey policy as manifests
  passkeyctl diff     -f FILE|DIR|- [flags] show what applying manifests would change in a tenant
  passkeyctl validate -f FILE|DIR|-         check manifests offline
  passkeyctl doctor   [--probe-writes] [flags] check a tenant against the operator's assumptions
  passkeyctl explain  --user UPN|ID [-f ...] [flags] what the passkey policy means for one user
  passkeyctl version

Run "passkeyctl <command> -h" for a command's flags and examples.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the whole command; getenv is os.Getenv outside tests.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	var code int
	var err error
	switch args[0] {
	case "export":
		err = exportCommand(ctx, args[1:], stdout, stderr, getenv)
	case "diff":
		code, err = diffCommand(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "validate":
		code, err = validateCommand(args[1:], stdin, stdout, stderr)
	case "doctor":
		code, err = doctorCommand(ctx, args[1:], stdout, stderr, getenv)
	case "explain":
		err = explainCommand(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "passkeyctl", version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprint(stderr, usage)
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "passkeyctl:", err)
		return exitError
	}
	return code
}

// version is the module version the binary was built from (a tag with go
// install, "(devel)" from a checkout) and the VCS revision when known.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}

// newFlagSet makes a command's flag set whose -h prints the help text with
// examples before the flags.
func newFlagSet(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, help)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// pathsFlag is the repeatable -f.
type pathsFlag []string

func (p *pathsFlag) String() string     { return fmt.Sprint(*p) }
func (p *pathsFlag) Set(v string) error { *p = append(*p, v); return nil }
