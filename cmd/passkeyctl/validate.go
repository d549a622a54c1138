package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/passkey-operator/passkey-operator/internal/manifests"
)

const validateHelp = `Usage: passkeyctl validate -f FILE|DIR|- [-f ...]

Checks passkey-operator manifests offline, without a cluster or a tenant:
each resource as the API server would on kubectl apply (its metadata, no
field the CRD lacks, the CRD's schema and CEL rules), each declared once,
then all of them together as the operator would build them:
every tenantRef names an EntraTenant in the files, every profile an
assignment names exists in its namespace, a tenant holds at most three
passkey profiles (its default included), one default profile, no two
resources claiming one profile name or target. Every problem is printed
with its file, object and field; the exit code is 1 if there is any.

Examples:
  passkeyctl validate -f config/samples/
  kustomize build overlays/prod | passkeyctl validate -f -
`

func validateCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("validate", validateHelp, stderr)
	var paths pathsFlag
	fs.Var(&paths, "f", "a manifest file, a folder of them (read recursively) or - for stdin; repeatable")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	_, docs, problems, err := loadAndValidate(fs, paths, stdin, stdout, stderr)
	if err != nil {
		return exitError, err
	}
	if problems > 0 {
		fmt.Fprintf(stderr, "%d problems in %d resources\n", problems, docs)
		return exitError, nil
	}
	fmt.Fprintf(stderr, "%d resources valid\n", docs)
	return exitOK, nil
}

// loadAndValidate reads the -f paths, validates what it read and prints
// every problem, and, as kubectl shows the API server's, every warning on
// stderr; it returns the resources admitted, how many documents it read and
// how many problems it printed.
func loadAndValidate(fs *flag.FlagSet, paths []string, stdin io.Reader, stdout, stderr io.Writer) (set *manifests.Set, docs, problems int, err error) {
	if len(paths) == 0 {
		fs.Usage()
		return nil, 0, 0, errors.New("-f is required")
	}
	loaded, err := manifests.Load(paths, stdin)
	if err != nil {
		return nil, 0, 0, err
	}
	set, found, err := manifests.Validate(loaded)
	if err != nil {
		return nil, 0, 0, err
	}
	for _, p := range found {
		fmt.Fprintln(stdout, p)
	}
	for _, w := range set.Warnings() {
		fmt.Fprintln(stderr, "Warning:", w)
	}
	return set, len(loaded), len(found), nil
}
