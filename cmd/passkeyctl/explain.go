package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/manifests"
	"github.com/passkey-operator/passkey-operator/internal/policy"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

const explainHelp = `Usage: passkeyctl explain --user UPN|OBJECT-ID [-f FILE|DIR|- [--tenant NAME]] [-o text|json] [flags]

Explains the tenant's passkey (FIDO2) policy for one user: the groups they
are in (directly or through nested groups), the targets that include or
exclude them, each passkey profile that applies and through which target,
and the result: the passkey types they may register, whether attestation is
enforced, which authenticators they may use, whether they must register a
passkey. Profiles add up: the user may register any passkey that one of
their profiles allows. Out of scope, it says why. It only reads.

With -f it explains the policy that applying the manifests would leave in
the tenant, decided as passkeyctl diff decides it (manifests with problems
are refused, the tenant is the EntraTenant's), and says what changes for the
user.

It needs Policy.Read.AuthenticationMethod and User.Read.All to find the
user and list their groups; with GroupMember.Read.All too it names the
groups (else it shows their ids); with -f also Group.Read.All when the
manifests name groups by groupName.

-o json writes one object: "tenant" {id, name}, "user" {id,
userPrincipalName, displayName}, "groups" [{id, displayName}], "current"
(the policy Entra holds) and, with -f, "planned" (the manifests' policy) and
"changes" (sentences). Each explanation holds enabled, inScope, reason,
includedBy and excludedBy [{id, targetType, label}], profiles [{id, name,
new, through, passkeyTypes, attestationEnforced, authenticators}],
missingProfiles [{id, through}], passkeyTypes, attestationRequired,
attestationEnforcedBy, authenticators {mode: any|allow|block, aaguids
[{aaguid, name}]}, registrationRequired, registrationRequiredBy and notes.

Examples:
  AZURE_CLIENT_SECRET=... passkeyctl explain --user alice@contoso.com --tenant-id 3f2a9c1e-... --client-id 0b1c2d3e-...

  # What the manifests of a pull request would change for her:
  AZURE_CLIENT_SECRET=... passkeyctl explain --user alice@contoso.com -f clusters/prod/passkeys/ --client-id ...
  kustomize build overlays/prod | passkeyctl explain --user 5e6f7081-... -f - -o json
`

func explainCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("explain", explainHelp, stderr)
	var conn connection
	conn.register(fs, getenv)
	var catalogs catalogFlags
	catalogs.register(fs, getenv, &conn.caFile)
	user := fs.String("user", "", "the user's userPrincipalName or object id")
	var paths pathsFlag
	fs.Var(&paths, "f", "explain the policy these manifests would produce: a file, a folder of them (read recursively) or - for stdin; repeatable")
	tenant := fs.String("tenant", "", "with -f, which EntraTenant of the manifests to plan for (default: the only one)")
	output := fs.String("o", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *output != "text" && *output != "json":
		return fmt.Errorf("-o %q: use text or json", *output)
	case *user == "":
		fs.Usage()
		return errors.New("--user is required")
	case *tenant != "" && len(paths) == 0:
		return errors.New("--tenant names an EntraTenant of the manifests: it needs -f")
	}
	// Sign in (and, with -f, check the manifests) before the catalog is
	// fetched: a refusal then costs no download.
	var (
		set         *manifests.Set
		entraTenant *passkeysv1alpha1.EntraTenant
		client      *entra.Client
		cfg         entra.TenantConfig
		err         error
	)
	if len(paths) == 0 {
		client, cfg, err = conn.client()
	} else {
		set, entraTenant, client, err = manifestsTenant(fs, &conn, paths, *tenant, stdin, stdout, stderr)
	}
	if err != nil {
		return err
	}
	catalog, err := catalogs.load(ctx, stderr)
	if err != nil {
		return err
	}
	var found explained
	if set == nil {
		found, err = explainTenant(ctx, client, cfg.TenantID, *user)
	} else {
		found, err = explainManifests(ctx, client, set, entraTenant, catalog, *user, stderr)
	}
	if err != nil {
		return err
	}
	out := newExplainOutput(found, catalog)
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printExplain(stdout, out)
	return nil
}

// explained is what explain found out: who, in which tenant, and what the
// policy means for them now and, with -f, once the manifests are applied.
type explained struct {
	tenant  tenantJSON
	user    entra.User
	groups  []policy.Group
	current policy.Explanation
	planned *policy.Explanation
	// existing are the profiles Entra holds now: a planned profile that is
	// not among them would be created.
	existing []policy.Profile
}

// explainTenant explains the policy the tenant holds.
func explainTenant(ctx context.Context, client *entra.Client, tenantID, idOrUPN string) (explained, error) {
	x := explained{tenant: tenantJSON{ID: tenantID}}
	var err error
	if x.user, x.groups, err = lookUpUser(ctx, client, idOrUPN, x.tenant.String()); err != nil {
		return explained{}, err
	}
	fido2, err := client.GetFido2(ctx)
	if err != nil {
		return explained{}, err
	}
	x.current = policy.Explain(entra.ToPolicy(fido2), x.user.ID, x.groups)
	return x, nil
}

// explainManifests explains the policy the tenant holds and the one the
// set would leave in it, from diff's own preview; it warns on stderr of
// the resources the operator would refuse.
func explainManifests(ctx context.Context, client *entra.Client, set *manifests.Set, entraTenant *passkeysv1alpha1.EntraTenant,
	catalog specs.Catalog, idOrUPN string, stderr io.Writer) (explained, error) {
	x := explained{tenant: tenantJSON{ID: entraTenant.Spec.TenantID, Name: entraTenant.Name}}
	var err error
	if x.user, x.groups, err = lookUpUser(ctx, client, idOrUPN, x.tenant.String()); err != nil {
		return explained{}, err
	}
	preview, err := set.PreviewTenant(ctx, client, entraTenant, catalog)
	if err != nil {
		return explained{}, err
	}
	for _, c := range preview.Plan.Changes {
		if c.Action == "problem" {
			// The operator leaves such a resource out of its PATCH, and the
			// preview does likewise.
			fmt.Fprintf(stderr, "warning: the operator would refuse %s, so its changes are not in the policy explained here: %s\n", c.Resource, c.Message)
		}
	}
	planned := policy.Explain(preview.Planned, x.user.ID, x.groups)
	x.current = policy.Explain(preview.Observed, x.user.ID, x.groups)
	x.planned, x.existing = &planned, preview.Observed.Profiles
	return x, nil
}

// lookUpUser reads the user and every group they are in, transitively, as
// Explain needs them.
func lookUpUser(ctx context.Context, client *entra.Client, idOrUPN, tenant string) (entra.User, []policy.Group, error) {
	user, err := client.User(ctx, idOrUPN)
	if entra.Classify(err) == entra.ClassNotFound {
		// Graph's 404 says no more than this, and less plainly.
		return entra.User{}, nil, fmt.Errorf("no user %s in tenant %s", idOrUPN, tenant)
	}
	if err != nil {
		return entra.User{}, nil, err
	}
	groups, err := client.UserGroups(ctx, user.ID)
	if err != nil {
		return entra.User{}, nil, err
	}
	out := make([]policy.Group, 0, len(groups))
	for _, g := range groups {
		out = append(out, policy.Group{ID: g.ID, Name: g.DisplayName})
	}
	return user, out, nil
}

// explainOutput is explain -o json, documented in explainHelp: people's
// scripts read it, so fields are added, never renamed or taken out. Lists
// are [] rather than null when empty.
type explainOutput struct {
	Tenant tenantJSON  `json:"tenant"`
	User   userJSON    `json:"user"`
	Groups []groupJSON `json:"groups"`
	// Current explains the policy Entra holds.
	Current explanationJSON `json:"current"`
	// Planned explains the policy the manifests would produce, and Changes
	// says what changes for the user from Current to Planned; only with -f.
	Planned *explanationJSON `json:"planned,omitempty"`
	Changes *[]string        `json:"changes,omitempty"`
}

type tenantJSON struct {
	ID string `json:"id"`
	// Name is the manifests' EntraTenant, with -f.
	Name string `json:"name,omitempty"`
}

func (t tenantJSON) String() string {
	if t.Name == "" {
		return t.ID
	}
	return t.Name + " (" + t.ID + ")"
}

type userJSON struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
}

// groupJSON is a group the user is in, directly or through nested groups.
type groupJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// explanationJSON is policy.Explanation for scripts.
type explanationJSON struct {
	Enabled bool   `json:"enabled"`
	InScope bool   `json:"inScope"`
	Reason  string `json:"reason"`
	// IncludedBy and ExcludedBy are the targets that match the user,
	// whatever the outcome.
	IncludedBy      []targetJSON         `json:"includedBy"`
	ExcludedBy      []targetJSON         `json:"excludedBy"`
	Profiles        []profileJSON        `json:"profiles"`
	MissingProfiles []missingProfileJSON `json:"missingProfiles"`
	// PasskeyTypes are spelled as Graph spells them: deviceBound, synced.
	PasskeyTypes           []string           `json:"passkeyTypes"`
	AttestationRequired    bool               `json:"attestationRequired"`
	AttestationEnforcedBy  []string           `json:"attestationEnforcedBy"`
	Authenticators         authenticatorsJSON `json:"authenticators"`
	RegistrationRequired   bool               `json:"registrationRequired"`
	RegistrationRequiredBy []string           `json:"registrationRequiredBy"`
	Notes                  []string           `json:"notes"`
}

type targetJSON struct {
	// ID is a group's object id, a user's, or all_users.
	ID         string `json:"id"`
	TargetType string `json:"targetType"`
	// Label names the target for people: "group Staff", "all users".
	Label string `json:"label"`
}

type profileJSON struct {
	// ID is omitted for a profile Entra would create (New), which has no
	// id before it is created.
	ID                  string             `json:"id,omitempty"`
	Name                string             `json:"name"`
	New                 bool               `json:"new,omitempty"`
	Through             []string           `json:"through"`
	PasskeyTypes        []string           `json:"passkeyTypes"`
	AttestationEnforced bool               `json:"attestationEnforced"`
	Authenticators      authenticatorsJSON `json:"authenticators"`
}

// missingProfileJSON is a profile a target names that the tenant does not
// hold.
type missingProfileJSON struct {
	ID      string   `json:"id"`
	Through []string `json:"through"`
}

type authenticatorsJSON struct {
	// Mode is any (every authenticator), allow (only those listed; none
	// when the list is empty) or block (all but those listed).
	Mode    string       `json:"mode"`
	AAGUIDs []aaguidJSON `json:"aaguids"`
}

type aaguidJSON struct {
	AAGUID string `json:"aaguid"`
	// Name is the authenticator model's, when known.
	Name string `json:"name,omitempty"`
}

// String is how people read an AAGUID: with its model's name when known.
func (a aaguidJSON) String() string { return specs.AuthenticatorLabel(a.AAGUID, a.Name) }

// newExplainOutput shapes what explain found for people and scripts alike,
// authenticators named from catalog.
func newExplainOutput(x explained, catalog specs.Catalog) explainOutput {
	out := explainOutput{
		Tenant:  x.tenant,
		User:    userJSON{ID: x.user.ID, UserPrincipalName: x.user.UserPrincipalName, DisplayName: x.user.DisplayName},
		Groups:  []groupJSON{},
		Current: newExplanationJSON(x.current, func(string) bool { return false }, catalog.Name),
	}
	for _, g := range x.groups {
		out.Groups = append(out.Groups, groupJSON{ID: g.ID, DisplayName: g.Name})
	}
	// By name, as people look for a group; Graph lists them in no order.
	slices.SortFunc(out.Groups, func(a, b groupJSON) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)), strings.Compare(a.ID, b.ID))
	})
	if x.planned != nil {
		created := func(id string) bool {
			return !slices.ContainsFunc(x.existing, func(p policy.Profile) bool { return strings.EqualFold(p.ID, id) })
		}
		planned := newExplanationJSON(*x.planned, created, catalog.Name)
		changes := []string{}
		for _, c := range x.current.Changes(*x.planned) {
			changes = append(changes, catalog.LabelAll(c))
		}
		out.Planned, out.Changes = &planned, &changes
	}
	return out
}

// newExplanationJSON converts e; created says whether Entra would create a
// profile of e.
func newExplanationJSON(e policy.Explanation, created func(profileID string) bool, name func(string) string) explanationJSON {
	out := explanationJSON{
		Enabled: e.Enabled, InScope: e.InScope, Reason: e.Reason,
		IncludedBy: targetsJSON(e.Included), ExcludedBy: targetsJSON(e.Excluded),
		Profiles: []profileJSON{}, MissingProfiles: []missingProfileJSON{},
		PasskeyTypes:          orEmpty(e.PasskeyTypes),
		AttestationRequired:   e.AttestationRequired,
		AttestationEnforcedBy: orEmpty(e.AttestationEnforcedBy),
		Authenticators:        newAuthenticatorsJSON(e.Authenticators, name),
		RegistrationRequired:  len(e.RegistrationRequiredBy) > 0, RegistrationRequiredBy: orEmpty(e.RegistrationRequiredBy),
		Notes: orEmpty(e.Notes),
	}
	for _, p := range e.Profiles {
		pj := profileJSON{
			Name: cmp.Or(p.Profile.Name, p.Profile.ID), New: created(p.Profile.ID), Through: orEmpty(p.Through),
			PasskeyTypes:        orEmpty(p.Profile.PasskeyTypes),
			AttestationEnforced: p.Profile.AttestationEnforcement == policy.AttestationRegistrationOnly,
			Authenticators:      newAuthenticatorsJSON(p.Authenticators, name),
		}
		if !pj.New {
			pj.ID = p.Profile.ID
		}
		out.Profiles = append(out.Profiles, pj)
	}
	for _, p := range e.MissingProfiles {
		out.MissingProfiles = append(out.MissingProfiles, missingProfileJSON{ID: p.Profile.ID, Through: orEmpty(p.Through)})
	}
	return out
}

func targetsJSON(targets []policy.MatchedTarget) []targetJSON {
	out := []targetJSON{}
	for _, t := range targets {
		out = append(out, targetJSON{ID: t.Target.ID, TargetType: t.Target.TargetType, Label: t.Label})
	}
	return out
}

// newAuthenticatorsJSON lists a's AAGUIDs, each with its name when known.
func newAuthenticatorsJSON(a policy.Authenticators, name func(string) string) authenticatorsJSON {
	out := authenticatorsJSON{Mode: "block", AAGUIDs: []aaguidJSON{}}
	switch {
	case a.Any():
		out.Mode = "any"
	case a.OnlyListed:
		out.Mode = "allow"
	}
	for _, id := range a.AAGUIDs {
		out.AAGUIDs = append(out.AAGUIDs, aaguidJSON{AAGUID: id, Name: name(id)})
	}
	return out
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// maxGroupsShown is how many groups the text names; -o json lists all.
const maxGroupsShown = 20

// printExplain writes the explanation as a short report: the user, their
// groups, the explanation of the policy (with -f, the planned one) and,
// with -f, what changes.
func printExplain(w io.Writer, out explainOutput) {
	fmt.Fprintf(w, "User %s (%s) in tenant %s\n", out.User.UserPrincipalName, out.User.ID, out.Tenant)
	fmt.Fprintln(w, "Groups, direct or nested:", groupsLine(out.Groups))
	e := out.Current
	if out.Planned != nil {
		e = *out.Planned
		fmt.Fprintln(w, "Policy: as applying the manifests would leave it")
	} else {
		fmt.Fprintln(w, "Policy: as the tenant holds it")
	}
	printExplanation(w, e)
	if out.Changes == nil {
		return
	}
	fmt.Fprintln(w)
	if len(*out.Changes) == 0 {
		fmt.Fprintf(w, "What changes for %s: nothing changes for this user\n", out.User.UserPrincipalName)
		return
	}
	fmt.Fprintf(w, "What changes for %s:\n", out.User.UserPrincipalName)
	list(w, *out.Changes)
}

func groupsLine(groups []groupJSON) string {
	if len(groups) == 0 {
		return "none"
	}
	var names []string
	for _, g := range groups[:min(len(groups), maxGroupsShown)] {
		names = append(names, cmp.Or(g.DisplayName, g.ID))
	}
	line := strings.Join(names, ", ")
	if more := len(groups) - maxGroupsShown; more > 0 {
		line += fmt.Sprintf(" and %d more (-o json lists them all)", more)
	}
	return line
}

func printExplanation(w io.Writer, e explanationJSON) {
	fmt.Fprintln(w, "In scope:", scopeLine(e))
	if e.InScope {
		printInScope(w, e)
	}
	if len(e.Notes) > 0 {
		fmt.Fprintln(w, "Notes:")
		list(w, e.Notes)
	}
}

// scopeLine says whether the user is in scope and why; an exclusion is
// shown beside the inclusions it beats.
func scopeLine(e explanationJSON) string {
	if e.InScope {
		return "yes — " + e.Reason
	}
	line := "no — " + e.Reason
	if e.Enabled && len(e.ExcludedBy) > 0 && len(e.IncludedBy) > 0 {
		var included []string
		for _, t := range e.IncludedBy {
			included = append(included, t.Label)
		}
		line += ", which beats the inclusion by " + policy.JoinWords(included)
	}
	return line
}

// printInScope says what applies to a user in scope.
func printInScope(w io.Writer, e explanationJSON) {
	if len(e.Profiles) == 0 {
		fmt.Fprintln(w, "May register: nothing, as no passkey profile applies")
		return
	}
	fmt.Fprintln(w, "Profiles in scope:")
	for _, p := range e.Profiles {
		name := p.Name
		if p.New {
			name += " (new)"
		}
		attestation := "no attestation"
		if p.AttestationEnforced {
			attestation = "attestation enforced"
		}
		fmt.Fprintf(w, "  %s, through %s: %s; %s; %s\n", name, policy.JoinWords(p.Through), passkeyWords(p.PasskeyTypes), attestation, authenticatorWords(p.Authenticators))
	}
	fmt.Fprintf(w, "May register: %s passkeys\n", passkeyWords(e.PasskeyTypes))
	fmt.Fprintln(w, "Attestation:", attestationLine(e))
	fmt.Fprintln(w, "Authenticators:", authenticatorWords(e.Authenticators))
	registration := "no"
	if e.RegistrationRequired {
		registration = "yes, by " + policy.JoinWords(e.RegistrationRequiredBy)
	}
	fmt.Fprintln(w, "Registration required:", registration)
}

// attestationLine names the profiles that let a passkey register without
// attestation when it is not required.
func attestationLine(e explanationJSON) string {
	if e.AttestationRequired {
		return "required: every profile in scope enforces it"
	}
	var lax []string
	for _, p := range e.Profiles {
		if !p.AttestationEnforced {
			lax = append(lax, p.Name)
		}
	}
	verb := "does"
	if len(lax) > 1 {
		verb = "do"
	}
	return fmt.Sprintf("not required (%s %s not enforce it)", policy.JoinWords(lax), verb)
}

// passkeyWords reads Graph's passkey types: "device-bound and synced".
func passkeyWords(types []string) string {
	words := map[string]string{policy.PasskeyDeviceBound: "device-bound", policy.PasskeySynced: "synced"}
	var out []string
	for _, t := range types {
		out = append(out, cmp.Or(words[t], t))
	}
	return policy.JoinWords(out)
}

func authenticatorWords(a authenticatorsJSON) string {
	var listed []string
	for _, id := range a.AAGUIDs {
		listed = append(listed, id.String())
	}
	switch {
	case a.Mode == "any":
		return "any authenticator"
	case a.Mode == "allow" && len(listed) == 0:
		return "no authenticator"
	case a.Mode == "allow":
		return "only " + strings.Join(listed, ", ")
	default:
		return "any authenticator except " + strings.Join(listed, ", ")
	}
}
