package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/manifests"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

const diffHelp = `Usage: passkeyctl diff -f FILE|DIR|- [-f ...] [flags]

Shows, field by field, what applying the manifests would change in the
tenant their EntraTenant names, deciding exactly as the operator does:
under management Merge only what the manifests declare, under Authoritative
also removing what they do not. It reads the tenant (one GET, plus a group
lookup per groupName) and changes nothing. The tenant is the EntraTenant's
spec.tenantID; --tenant-id, when given, must be the same. Its spec.cloud is
the cloud unless --cloud, --authority-host or --graph-endpoint name one.

Exit code: 0 when applying would change nothing, 2 when it would (as
terraform plan -detailed-exitcode), 1 on an error or when the operator would
refuse a resource.

Examples:
  # In CI, on the manifests of a pull request:
  AZURE_CLIENT_SECRET=... passkeyctl diff -f clusters/prod/passkeys/ --tenant-id ... --client-id ...
  kustomize build overlays/prod | passkeyctl diff -f - -o json
`

func diffCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) (int, error) {
	fs := newFlagSet("diff", diffHelp, stderr)
	var conn connection
	conn.register(fs, getenv)
	var catalogs catalogFlags
	catalogs.register(fs, getenv, &conn.caFile)
	var paths pathsFlag
	fs.Var(&paths, "f", "a manifest file, a folder of them (read recursively) or - for stdin; repeatable")
	tenant := fs.String("tenant", "", "which EntraTenant of the manifests to plan for (default: the only one)")
	output := fs.String("o", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if *output != "text" && *output != "json" {
		return exitError, fmt.Errorf("-o %q: use text or json", *output)
	}
	set, entraTenant, client, err := manifestsTenant(fs, &conn, paths, *tenant, stdin, stdout, stderr)
	if err != nil {
		return exitError, err
	}
	catalog, err := catalogs.load(ctx, stderr)
	if err != nil {
		return exitError, err
	}
	plan, err := set.PlanTenant(ctx, client, entraTenant, catalog)
	if err != nil {
		return exitError, err
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(plan); err != nil {
			return exitError, err
		}
	} else {
		printPlan(stdout, plan, catalog)
	}
	switch {
	case plan.Problems():
		return exitError, nil
	case plan.Patch:
		return exitChanges, nil
	}
	return exitOK, nil
}

// manifestsTenant loads and validates the -f manifests, as validate does,
// and signs in to the tenant of their EntraTenant named name (the only one
// when name is ""), for diff and explain to plan. Manifests with problems
// are refused. The EntraTenant's cloud is used unless conn names one.
func manifestsTenant(fs *flag.FlagSet, conn *connection, paths []string, name string, stdin io.Reader, stdout, stderr io.Writer) (
	*manifests.Set, *passkeysv1alpha1.EntraTenant, *entra.Client, error) {
	set, _, problems, err := loadAndValidate(fs, paths, stdin, stdout, stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	if problems > 0 {
		return nil, nil, nil, fmt.Errorf("%d problems in the manifests; nothing planned", problems)
	}
	entraTenant, err := set.Tenant(name)
	if err != nil {
		return nil, nil, nil, err
	}
	// Planning one tenant's manifests against another tenant would show a
	// plan for neither, so a --tenant-id (or AZURE_TENANT_ID) must agree.
	declared := entraTenant.Spec.TenantID
	switch {
	case conn.tenantID == "":
		conn.tenantID = declared
	case !strings.EqualFold(conn.tenantID, declared):
		return nil, nil, nil, fmt.Errorf("the manifests' EntraTenant is for tenant %s, but --tenant-id (or AZURE_TENANT_ID) is %s", declared, conn.tenantID)
	}
	conn.cloudFrom(entraTenant.Spec.Cloud)
	client, _, err := conn.client()
	if err != nil {
		return nil, nil, nil, err
	}
	return set, entraTenant, client, nil
}

var actionSigns = map[string]string{"create": "+", "update": "~", "remove": "-", "report": "=", "problem": "!"}

// printPlan prints the plan, AAGUIDs with the names catalog knows.
func printPlan(w io.Writer, plan manifests.Plan, catalog specs.Catalog) {
	for _, c := range plan.Changes {
		c.From, c.To = catalog.LabelAll(c.From), catalog.LabelAll(c.To)
		line := fmt.Sprintf("%s %s", actionSigns[c.Action], c.Resource)
		switch c.Action {
		case "create":
			line += fmt.Sprintf(": %s created", c.Field)
		case "update":
			line += fmt.Sprintf(": %s: %s -> %s", c.Field, c.From, c.To)
		case "report":
			line += fmt.Sprintf(": %s: %s, declared %s (driftPolicy Report: left as it is)", c.Field, c.From, c.To)
		case "remove":
			line += ": removed"
		case "problem":
			line += ": " + c.Message
		}
		fmt.Fprintln(w, line)
	}
	summary := "no changes."
	if plan.Patch {
		summary = "applying would send one PATCH with the changes above."
		if plan.Patches > 1 {
			// Entra gives new profiles their ids; targets can name them only after.
			summary = "applying would send two PATCHes with the changes above: new profiles first, then the targets that name them."
		}
	}
	if plan.Problems() {
		// Resources the operator refuses are left out of its PATCH, so a
		// plan can be both: changes for some, refusal for others.
		summary += " The operator would refuse the resources marked !: fix them first."
	}
	fmt.Fprintf(w, "Tenant %s (%s): %s\n", plan.Tenant, plan.TenantID, summary)
}
