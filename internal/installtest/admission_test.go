package installtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// TestAdmissionWarnsOfAttestationWithSynced: with config/admission
// installed, the API server admits a profile that enforces attestation
// with synced passkeys allowed — Entra's migration leaves default profiles
// so — and warns, in the words passkeyctl validate and the status use.
func TestAdmissionWarnsOfAttestationWithSynced(t *testing.T) {
	applyServerSide(t, kubectl(t, "kustomize", "config/admission"))
	profile := func(types string) string {
		return `apiVersion: passkeys.entraops.dev/v1alpha1
kind: PasskeyProfile
metadata: {name: base, namespace: default}
spec: {tenantRef: contoso, default: true, attestation: RegistrationOnly, passkeyTypes: ` + types + `}
`
	}
	warned := "Warning: Validation failed for ValidatingAdmissionPolicy 'passkey-operator-attestation-with-synced' " +
		"with binding 'passkey-operator-attestation-with-synced': " + policy.WarningAttestationWithSynced

	// The API server loads new policies asynchronously.
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := createDryRun(t, profile("[DeviceBound, Synced]"))
		if err != nil {
			t.Fatalf("refused: %v\n%s", err, out)
		}
		if strings.Contains(out, warned) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no warning after a minute; kubectl said:\n%s\nwant:\n%s", out, warned)
		}
		time.Sleep(time.Second)
	}
	if out, err := createDryRun(t, profile("[DeviceBound]")); err != nil || strings.Contains(out, "Warning") {
		t.Errorf("device-bound only: %v, %s; want admitted without a warning", err, out)
	}
}

// createDryRun asks the API server to admit manifest without storing it and
// returns everything kubectl printed, warnings included.
func createDryRun(t *testing.T, manifest string) (string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "profile.yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), env.KubectlPath, "--kubeconfig", env.KubeconfigPath,
		"create", "--dry-run=server", "-f", file).CombinedOutput()
	return string(out), err
}
