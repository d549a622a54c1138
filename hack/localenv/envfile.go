package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// The demo tenant is the one config/samples/entratenant.yaml names, so the
// samples apply unchanged; its groups are the ones the sample assignments use.
const (
	demoTenantID = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
	demoClientID = "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
)

// Administrators is a member of Staff, as in many tenants, so an admin is
// also in scope of the staff profile: the rollout walkthrough's explain
// shows what that does to them.
var demoGroups = []emulator.Group{
	{ID: "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9", DisplayName: "Staff", Members: []string{
		demoUsers[0].ID, demoUsers[1].ID, demoUsers[2].ID, demoUsers[3].ID, "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901"}},
	{ID: "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901", DisplayName: "Administrators", Members: []string{demoUsers[4].ID, demoUsers[5].ID}},
	{ID: "3c4d5e6f-7081-4293-a4b5-c6d7e8f90a12", DisplayName: "Contractors", Members: []string{demoUsers[6].ID, demoUsers[7].ID}},
}

// demoUsers fill the demo groups, each with the methods the registration
// report lists for them.
var demoUsers = []emulator.User{
	{ID: "7a000000-0000-4000-8000-000000000001", UserPrincipalName: "alice@contoso.example", DisplayName: "Alice",
		MethodsRegistered: []string{"passKeySynced", "microsoftAuthenticatorPush"}},
	{ID: "7a000000-0000-4000-8000-000000000002", UserPrincipalName: "bruno@contoso.example", DisplayName: "Bruno",
		MethodsRegistered: []string{"microsoftAuthenticatorPush"}},
	{ID: "7a000000-0000-4000-8000-000000000003", UserPrincipalName: "chen@contoso.example", DisplayName: "Chen",
		MethodsRegistered: []string{"passKeyDeviceBoundAuthenticator"}},
	{ID: "7a000000-0000-4000-8000-000000000004", UserPrincipalName: "dana@contoso.example", DisplayName: "Dana"},
	{ID: "7a000000-0000-4000-8000-000000000005", UserPrincipalName: "erin@contoso.example", DisplayName: "Erin",
		MethodsRegistered: []string{"passKeyDeviceBound"}},
	{ID: "7a000000-0000-4000-8000-000000000006", UserPrincipalName: "farid@contoso.example", DisplayName: "Farid",
		MethodsRegistered: []string{"passKeyDeviceBound", "passKeySynced"}},
	{ID: "7a000000-0000-4000-8000-000000000007", UserPrincipalName: "gita@contoso.example", DisplayName: "Gita",
		MethodsRegistered: []string{"mobilePhone"}},
	{ID: "7a000000-0000-4000-8000-000000000008", UserPrincipalName: "hugo@contoso.example", DisplayName: "Hugo"},
}

// demoRoles are the demo app's permissions: the operator's, and those that
// passkeyctl explain and the registration report read with.
var demoRoles = append(slices.Clone(emulator.ReadWriteRoles),
	emulator.RoleUserRead, emulator.RoleGroupMemberRead, emulator.RoleAuditLogRead)

// The env file's variables are interface: scripts source the file and use them.
const (
	envKubeconfig   = "KUBECONFIG"
	envEmulatorURL  = "EMULATOR_URL"
	envEmulatorCA   = "EMULATOR_CA"
	envTenantID     = "TENANT_ID"
	envClientID     = "CLIENT_ID"
	envClientSecret = "CLIENT_SECRET"
	// envLocalDir lets localenv commands run after sourcing find this stack.
	envLocalDir = "LOCAL_DIR"
	// passkeyctl names authenticators from the emulator's MDS3 BLOB.
	envCatalog     = "PASSKEYCTL_AUTHENTICATOR_CATALOG"
	envCatalogRoot = "PASSKEYCTL_AUTHENTICATOR_CATALOG_ROOT"
)

// envFile is the state a script needs to reach the local stack.
type envFile map[string]string

func envFilePath(dir string) string { return filepath.Join(dir, "env") }

// render writes the variables as a POSIX shell file, single-quoted so that
// no value is ever interpreted by the shell, with bin/ put first on PATH so
// the kubectl built from the module proxy is the one found.
func (e envFile) render(binDir string) string {
	var b strings.Builder
	b.WriteString("# Written by localenv (make run-local / make local-up). Source it:  . .local/env\n")
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(e[k]))
	}
	fmt.Fprintf(&b, "export PATH=%s:\"$PATH\"\n", shellQuote(binDir))
	return b.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// write replaces the file atomically: a script polling for it never reads
// half of it.
func (e envFile) write(dir, binDir string) error {
	tmp := envFilePath(dir) + ".tmp"
	if err := os.WriteFile(tmp, []byte(e.render(binDir)), 0o600); err != nil {
		return fmt.Errorf("writing env file: %w", err)
	}
	if err := os.Rename(tmp, envFilePath(dir)); err != nil {
		return fmt.Errorf("writing env file: %w", err)
	}
	return nil
}

// readEnvFile reads back what write wrote (only the export lines it writes).
func readEnvFile(dir string) (envFile, error) {
	f, err := os.Open(envFilePath(dir))
	if err != nil {
		return nil, fmt.Errorf("reading the env file (is the local stack up? run make local-up): %w", err)
	}
	defer f.Close()
	env := envFile{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		name, value, ok := strings.Cut(strings.TrimPrefix(scanner.Text(), "export "), "=")
		if !ok || !strings.HasPrefix(value, "'") {
			continue
		}
		value = strings.TrimSuffix(strings.TrimPrefix(value, "'"), "'")
		env[name] = strings.ReplaceAll(value, `'\''`, "'")
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("reading the env file: %w", err)
	}
	return env, nil
}
