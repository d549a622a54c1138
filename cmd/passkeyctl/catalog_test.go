package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// withCatalog adds the flags that load the emulator's MDS3 BLOB, verified
// against its root, and keeps the cache in a test directory.
func (tn *tenant) withCatalog(t *testing.T) []string {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root := filepath.Join(t.TempDir(), "mds-root.pem")
	if err := os.WriteFile(root, tn.emu.MDSRootPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	graph := tn.flags[slices.Index(tn.flags, "--graph-endpoint")+1]
	return []string{"--authenticator-catalog", graph + emulator.MDSPath, "--authenticator-catalog-root", root}
}

// TestCommandsNameAuthenticators: with the catalog, export comments each
// AAGUID with its model, diff shows the names in changed lists, and
// explain next to each AAGUID; a profile selecting by name is planned
// with the AAGUIDs the name resolves to.
func TestCommandsNameAuthenticators(t *testing.T) {
	tn := newDirectory(t, append(explainRoles, emulator.RoleGroupRead), strictKeys)
	catalog := tn.withCatalog(t)

	exported := tn.export(t, catalog...)
	if want := "- " + yubiKey + " # YubiKey 5 Series\n"; !strings.Contains(exported, want) {
		t.Errorf("export does not name the AAGUID (want %q):\n%s", want, exported)
	}

	code, out, errOut := tn.explain(t, "", append([]string{"--user", "alice@contoso.com"}, catalog...)...)
	if code != exitOK || !strings.Contains(out, "YubiKey 5 Series ["+yubiKey+"]") {
		t.Errorf("explain exited %d, does not name the AAGUID:\n%s%s", code, out, errOut)
	}

	// The profile now selects every YubiKey 5 Series with NFC by name.
	byName := strings.Replace(exported, "    aaguids:\n    - "+yubiKey+" # YubiKey 5 Series\n",
		"    authenticators:\n    - YubiKey 5 Series with NFC\n", 1)
	if byName == exported {
		t.Fatalf("the export does not list the AAGUID as expected:\n%s", exported)
	}
	code, out, errOut = tn.run(t, byName, append(append([]string{"diff", "-f", "-"}, tn.flags...), catalog...)...)
	if code != exitChanges || !strings.Contains(out, "YubiKey 5 Series with NFC [fa2b99dc-9e39-4257-8f92-4a30d23c4118]") ||
		!strings.Contains(out, "YubiKey 5 Series ["+yubiKey+"]") {
		t.Errorf("diff exited %d; want the old and new models named:\n%s%s", code, out, errOut)
	}

	// Without the catalog the name cannot be resolved: the plan says so.
	code, out, _ = tn.run(t, byName, append([]string{"diff", "-f", "-"}, tn.flags...)...)
	if code != exitError || !strings.Contains(out, "AuthenticatorCatalogUnavailable") {
		t.Errorf("diff without a catalog exited %d; want the profile refused:\n%s", code, out)
	}
}

// A catalog that cannot be had is a warning: the command goes on with
// AAGUIDs alone.
func TestUnreachableCatalogIsAWarning(t *testing.T) {
	tn := newTenant(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	code, out, errOut := tn.run(t, "", append([]string{"export", "--authenticator-catalog", "https://127.0.0.1:1/"}, tn.flags...)...)
	if code != exitOK || !strings.Contains(out, "kind: PasskeyProfile") {
		t.Fatalf("export exited %d:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "warning: no authenticator catalog") {
		t.Errorf("no warning about the catalog:\n%s", errOut)
	}
}
