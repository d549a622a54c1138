package contracttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

const module = "github.com/passkey-operator/passkey-operator/"

// TestPackagesImportWhatArchitectureAllows holds the package map in
// docs/architecture.md to the code: each package there imports, of this
// module, only what its row allows.
func TestPackagesImportWhatArchitectureAllows(t *testing.T) {
	root := testenv.RepoRoot()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9/-]+)` \\|[^|]*\\| ([^|]*) \\|$")
	allowed := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		allowed[m[1]] = nil
		for _, p := range regexp.MustCompile("`([a-z0-9/-]+)`").FindAllStringSubmatch(m[2], -1) {
			allowed[m[1]] = append(allowed[m[1]], p[1])
		}
	}
	if len(allowed) < 8 {
		t.Fatalf("found %d rows in docs/architecture.md's package table; has it moved?", len(allowed))
	}
	for pkg, may := range allowed {
		cmd := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "./"+pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("go list ./%s: %v", pkg, err)
			continue
		}
		for _, imp := range strings.Fields(string(out)) {
			ours, found := strings.CutPrefix(imp, module)
			if found && !slices.Contains(may, ours) {
				t.Errorf("%s imports %s; docs/architecture.md allows it only %v", pkg, ours, may)
			}
		}
	}
}
