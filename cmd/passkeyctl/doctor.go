package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/passkey-operator/passkey-operator/internal/doctor"
)

const doctorHelp = `Usage: passkeyctl doctor [--probe-writes [--probe-group ID]] [-o text|json] [flags]

Checks a tenant against what passkey-operator assumes, and says which
entra-emulator answers match it, for a bug report (docs/doctor.md):
  - the credentials (a token is obtained) and the application permissions
    (Policy.Read.AuthenticationMethod, Group.Read.All);
  - that the operator's model reads the fido2 policy and writes it back
    exactly as Graph sent it (OData annotations aside);
  - the properties and enum values the model does not know, and the states
    the operator's API warns about.
By default it only reads (two GETs).

--probe-writes also writes, for a few seconds: it creates a temporary
profile without id, then one with an id of its own (is it kept, replaced or
refused?), and removes them, resending every other setting as read; it
checks the policy is back as it was and says so loudly if not. It needs a
free profile slot. --probe-group names an EMPTY group that no target names:
a temporary include target for it, created in the same PATCH as the profile
it names, tells whether Entra allows that.

Exit code: 0 when every check passed, 2 when something needs attention (a
missing permission, a round-trip difference, a policy not restored), 1 on an
error.

Examples:
  AZURE_CLIENT_SECRET=... passkeyctl doctor --tenant-id 3f2a9c1e-... --client-id 0b1c2d3e-...
  AZURE_CLIENT_SECRET=... passkeyctl doctor --tenant-id ... --client-id ... --probe-writes --probe-group 5e6f7081-... -o json
`

func doctorCommand(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (int, error) {
	fs := newFlagSet("doctor", doctorHelp, stderr)
	var conn connection
	conn.register(fs, getenv)
	probeWrites := fs.Bool("probe-writes", false, "write temporary passkey profiles to learn how Entra treats new profile ids, then remove them")
	probeGroup := fs.String("probe-group", "", "object id of an empty group no target names, to probe a target naming a profile created in the same PATCH (with --probe-writes)")
	output := fs.String("o", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if *output != "text" && *output != "json" {
		return exitError, fmt.Errorf("-o %q: use text or json", *output)
	}
	if *probeGroup != "" && !*probeWrites {
		return exitError, errors.New("--probe-group writes: it needs --probe-writes")
	}
	client, cfg, err := conn.client()
	if err != nil {
		return exitError, err
	}
	report, err := doctor.Run(ctx, client, cfg.TenantID, doctor.Options{ProbeWrites: *probeWrites, ProbeGroup: *probeGroup})
	if err != nil {
		return exitError, err
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return exitError, err
		}
	} else {
		printDoctor(stdout, report)
	}
	if len(report.Attention) > 0 {
		return exitChanges, nil
	}
	return exitOK, nil
}

func printDoctor(w io.Writer, r doctor.Report) {
	fmt.Fprintf(w, "passkeyctl doctor, tenant %s\n\n", r.Tenant)
	fmt.Fprintf(w, "Credentials: %s\n", r.Credentials)
	fmt.Fprintln(w, "Permissions:")
	for _, p := range r.Permissions {
		fmt.Fprintf(w, "  %-11s %s: %s\n", p.Status, p.Name, p.Detail)
	}
	switch rt := r.RoundTrip; {
	case !rt.Checked:
		fmt.Fprintln(w, "Round trip: not checked (the policy could not be read)")
	case rt.Equal:
		fmt.Fprintln(w, "Round trip: ok (the PATCH serialization gives back what Graph sent, OData annotations aside)")
	default:
		fmt.Fprintln(w, "Round trip: DIFFERS (what Graph sent, then what the model would send back):")
		list(w, rt.Differences)
	}
	fmt.Fprintln(w, "Not modelled (kept and sent back as read):")
	list(w, r.Unmodelled)
	fmt.Fprintln(w, "Warnings (states the operator's API warns about):")
	list(w, r.Warnings)
	if p := r.Probe; p == nil {
		fmt.Fprintln(w, "Write probes: not run (--probe-writes runs them)")
	} else {
		fmt.Fprintln(w, "Write probes, in order:")
		for i, s := range p.Steps {
			fmt.Fprintf(w, "  %d. %s: %s\n", i+1, s.Request, s.Result)
		}
		fmt.Fprintf(w, "  profile created without id: %s\n", orNone(p.AssignedID, "no id recorded"))
		idLine := p.NewProfileIDs
		switch p.NewProfileIDs {
		case "assign":
			idLine += " (Entra replaced the client-chosen id " + p.ClientID + ")"
		case "honour":
			idLine += " (Entra kept the client-chosen id " + p.ClientID + ")"
		case "reject":
			idLine += fmt.Sprintf(" (Entra answered %d: %s)", p.RejectStatus, p.RejectMessage)
		}
		fmt.Fprintf(w, "  client-chosen id: %s\n", idLine)
		ref := p.SamePatchReference
		switch ref {
		case "refuse":
			ref += fmt.Sprintf(" (Entra answered %d: %s)", p.RefuseStatus, p.RefuseMessage)
		case doctor.Any:
			ref += " (unobservable: Entra keeps no client-chosen id, so no PATCH can name a profile it creates; refuse and allow both match)"
		case doctor.NotProbed:
			ref += " (--probe-group probes it)"
		}
		fmt.Fprintf(w, "  same-PATCH reference: %s\n", ref)
		switch {
		case p.Restore.Restored && p.Restore.Patched:
			fmt.Fprintln(w, "  restored: yes, the policy is back as first read")
		case p.Restore.Restored:
			fmt.Fprintln(w, "  restored: yes, the policy is as first read (no restore PATCH was needed)")
		default:
			fmt.Fprintln(w, "  restored: NO — THE POLICY IS NOT AS IT WAS:")
			list(w, p.Restore.Differences)
		}
	}
	e := r.Emulator
	same := e.SamePatchReference
	if same == doctor.Any {
		same = "refuse or allow"
	}
	fmt.Fprintf(w, "Emulator answers matching this tenant: --new-profile-ids %s, --same-patch-reference %s\n", e.NewProfileIDs, same)
	if e.Flags != "" {
		fmt.Fprintf(w, "  entra-emulator %s\n", e.Flags)
	}
	if len(r.Attention) == 0 {
		fmt.Fprintln(w, "\nEvery check passed.")
		return
	}
	fmt.Fprintln(w, "\nNeeds attention:")
	list(w, r.Attention)
}

func list(w io.Writer, items []string) {
	if len(items) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, s := range items {
		fmt.Fprintln(w, "  - "+strings.ReplaceAll(s, "\n", " "))
	}
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
