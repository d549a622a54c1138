package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
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

var demoGroups = []emulator.Group{
	{ID: "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9", DisplayName: "Staff"},
	{ID: "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901", DisplayName: "Administrators"},
	{ID: "3c4d5e6f-7081-4293-a4b5-c6d7e8f90a12", DisplayName: "Contractors"},
}

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
