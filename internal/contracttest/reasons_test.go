package contracttest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// TestReadmeExplainsEveryReason keeps README.md's troubleshooting table and
// the reasons a status or event can carry in step: a new reason without a
// line telling users what to do fails here, and so does a stale line.
func TestReadmeExplainsEveryReason(t *testing.T) {
	root := testenv.RepoRoot()
	want := map[string]bool{}
	for _, r := range reasonConstants(t, filepath.Join(root, "internal", "controller", "reasons.go"), "") {
		want[r] = true
	}
	// The policy package's Entra-rule reasons describe a whole document
	// (passkeyctl validate); the others end up in resource statuses.
	for _, r := range reasonConstants(t, filepath.Join(root, "internal", "policy", "problem.go"), "Entra rules") {
		want[r] = true
	}
	if len(want) < 20 {
		t.Fatalf("found only %d reason constants; has their declaration moved?", len(want))
	}

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "<!-- reasons:")
	if !ok {
		t.Fatal("README.md has no <!-- reasons: --> troubleshooting table")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z]+)` \\|").FindAllStringSubmatch(table, -1) {
		documented[m[1]] = true
	}
	for _, r := range sortedKeys(want) {
		if !documented[r] {
			t.Errorf("reason %s is not explained in README.md's troubleshooting table", r)
		}
	}
	for _, r := range sortedKeys(documented) {
		if !want[r] {
			t.Errorf("README.md's troubleshooting table explains %s, which no longer exists", r)
		}
	}
}

// reasonConstants returns the values of the Reason* constants declared in
// file, skipping const blocks whose doc comment mentions skipGroup.
func reasonConstants(t *testing.T, file, skipGroup string) []string {
	t.Helper()
	parsed, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, decl := range parsed.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		if skipGroup != "" && gen.Doc != nil && strings.Contains(gen.Doc.Text(), skipGroup) {
			continue
		}
		for _, spec := range gen.Specs {
			value := spec.(*ast.ValueSpec)
			for i, name := range value.Names {
				if !strings.HasPrefix(name.Name, "Reason") || i >= len(value.Values) {
					continue
				}
				if lit, ok := value.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
