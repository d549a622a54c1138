package installtest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// TestSamplesApplyAsTheReadmeSays runs README.md's step "your tenant and
// policy" with the built kubectl: create and label the namespace, apply
// config/samples with kustomize. No operator runs here, so it proves the
// kustomization renders and every object is admitted by the CRDs' schemas
// and CEL rules (internal/controller's samples test proves they become Ready).
func TestSamplesApplyAsTheReadmeSays(t *testing.T) {
	kubectl(t, "create", "namespace", "identity")
	kubectl(t, "label", "namespace", "identity", "entra-tenant=contoso")
	out := kubectl(t, "apply", "-k", filepath.Join(testenv.RepoRoot(), "config", "samples"))
	for _, want := range []string{
		"entratenant.passkeys.entraops.dev/contoso created",
		"passkeyprofile.passkeys.entraops.dev/default created",
		"passkeyprofile.passkeys.entraops.dev/synced-staff created",
		"passkeyprofile.passkeys.entraops.dev/admins created",
		"groupassignment.passkeys.entraops.dev/staff created",
		"groupassignment.passkeys.entraops.dev/admins created",
		"groupassignment.passkeys.entraops.dev/contractors created",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply -k config/samples did not say %q:\n%s", want, out)
		}
	}
	// Other tests here create EntraTenants too: count the namespaced kinds.
	got := kubectl(t, "get", "passkeyprofiles,groupassignments", "-n", "identity", "-o", "name")
	if n := len(strings.Fields(got)); n != 6 {
		t.Errorf("kubectl get lists %d profiles and assignments in identity, want 3 and 3:\n%s", n, got)
	}
}
