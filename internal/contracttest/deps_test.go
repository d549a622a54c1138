package contracttest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// apiServerCode are the import paths of the API server's admission code
// (schemas, defaulting, pruning, CEL) that passkeyctl validate embeds:
// the manager never runs it, so it must not link it either.
var apiServerCode = []string{
	"k8s.io/apiextensions-apiserver/pkg/apiserver/",
	"k8s.io/apiserver/",
	"github.com/google/cel-go/",
	"github.com/passkey-operator/passkey-operator/internal/manifests",
}

// TestManagerLinksNoAdmissionCode keeps the operator's binary to what it
// runs: the API-object adapter it shares with passkeyctl lives in
// internal/specs, away from the validation code in internal/manifests.
func TestManagerLinksNoAdmissionCode(t *testing.T) {
	if found := linked(t, "./cmd/manager"); len(found) > 0 {
		t.Errorf("cmd/manager links the API server's validation code:\n%s", strings.Join(found, "\n"))
	}
	// The check must see such code where it is: passkeyctl links it.
	if found := linked(t, "./cmd/passkeyctl"); len(found) == 0 {
		t.Error("cmd/passkeyctl links none of the packages looked for; is the list out of date?")
	}
}

// linked returns the packages of apiServerCode that pkg depends on.
func linked(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var found []string
	for _, dep := range strings.Fields(string(out)) {
		for _, prefix := range apiServerCode {
			if strings.HasPrefix(dep, prefix) {
				found = append(found, dep)
			}
		}
	}
	return found
}
