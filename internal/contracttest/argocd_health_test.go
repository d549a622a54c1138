package contracttest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"

	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// healthScript is the one health check all three kinds share.
const healthScript = "../../config/argocd/health.lua"

// argocdDir holds the Argo CD health check cases, laid out like Argo CD's
// resource_customizations: <group>/<Kind>/{health_test.yaml,testdata/}.
// internal/controller's kstatus conformance test writes the captures there.
const argocdDir = "../../config/argocd/passkeys.entraops.dev"

// kinds are the resources that get an Argo CD health check.
var kinds = []string{"EntraTenant", "PasskeyProfile", "GroupAssignment"}

// argoHealthStatuses are the statuses a health check may return
// (Argo CD's health.HealthStatusCode, less Missing and Unknown, which Argo
// CD decides itself).
var argoHealthStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended"}

// healthTests is Argo CD's health_test.yaml format, as its
// resource_customizations use it.
type healthTests struct {
	Tests []struct {
		HealthStatus struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"healthStatus"`
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

func readHealthTests(t *testing.T, kind string) healthTests {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(argocdDir, kind, "health_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tests healthTests
	if err := yaml.UnmarshalStrict(data, &tests); err != nil {
		t.Fatalf("%s/health_test.yaml: %v", kind, err)
	}
	return tests
}

// TestArgoCDHealthChecks runs every case of each kind's health_test.yaml
// through its health.lua as Argo CD does: a global `obj` holding the object,
// a returned table {status, message}. The inputs are the objects
// internal/controller's kstatus conformance test captured from real runs.
func TestArgoCDHealthChecks(t *testing.T) {
	for _, kind := range kinds {
		script, err := os.ReadFile(healthScript)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range readHealthTests(t, kind).Tests {
			t.Run(kind+"/"+tc.InputPath, func(t *testing.T) {
				obj, err := testenv.ReadObject(filepath.Join(argocdDir, kind, tc.InputPath))
				if err != nil {
					t.Fatal(err)
				}
				if obj.GetKind() != kind {
					t.Fatalf("%s is a %s, not a %s", tc.InputPath, obj.GetKind(), kind)
				}
				status, message, err := runHealthCheck(string(script), obj.Object)
				if err != nil {
					t.Fatal(err)
				}
				if status != tc.HealthStatus.Status || message != tc.HealthStatus.Message {
					t.Errorf("health = %s %q\nwant     %s %q", status, message, tc.HealthStatus.Status, tc.HealthStatus.Message)
				}
			})
		}
	}
}

// TestArgoCDHealthCheckCoverage: every kind has a script and tests, every
// status a script can return has a case, and every captured object is a
// case, so no state is left untested.
func TestArgoCDHealthCheckCoverage(t *testing.T) {
	returns := regexp.MustCompile(`hs\.status = "(\w+)"`)
	for _, kind := range kinds {
		script, err := os.ReadFile(healthScript)
		if err != nil {
			t.Fatal(err)
		}
		tests := readHealthTests(t, kind)
		tested := map[string]bool{}
		inputs := map[string]bool{}
		for _, tc := range tests.Tests {
			if !slices.Contains(argoHealthStatuses, tc.HealthStatus.Status) {
				t.Errorf("%s: case %s expects %q, which Argo CD does not know", kind, tc.InputPath, tc.HealthStatus.Status)
			}
			tested[tc.HealthStatus.Status] = true
			inputs[filepath.Clean(tc.InputPath)] = true
		}
		matches := returns.FindAllStringSubmatch(string(script), -1)
		if len(matches) == 0 {
			t.Errorf("health.lua sets no status")
		}
		for _, m := range matches {
			if !slices.Contains(argoHealthStatuses, m[1]) {
				t.Errorf("health.lua returns %q, which Argo CD does not know", m[1])
			}
			if !tested[m[1]] {
				t.Errorf("health.lua can return %s, but no case in %s/health_test.yaml expects it", m[1], kind)
			}
		}
		captures, err := filepath.Glob(filepath.Join(argocdDir, kind, "testdata", "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range captures {
			if rel := filepath.Join("testdata", filepath.Base(c)); !inputs[rel] {
				t.Errorf("%s: captured %s is not a case in health_test.yaml", kind, rel)
			}
		}
	}
}

// TestArgoCDSnippetInDocsMatchesScripts: the argocd-cm snippet users copy
// from docs/gitops.md is exactly the tested scripts.
func TestArgoCDSnippetInDocsMatchesScripts(t *testing.T) {
	doc, err := os.ReadFile("../../docs/gitops.md")
	if err != nil {
		t.Fatal(err)
	}
	var configMap struct {
		Kind     string                `json:"kind"`
		Metadata struct{ Name string } `json:"metadata"`
		Data     map[string]string     `json:"data"`
	}
	for _, block := range yamlBlocks(string(doc)) {
		if strings.Contains(block, "name: argocd-cm") {
			if err := yaml.Unmarshal([]byte(block), &configMap); err != nil {
				t.Fatalf("the argocd-cm block in docs/gitops.md: %v", err)
			}
		}
	}
	if configMap.Kind != "ConfigMap" || configMap.Metadata.Name != "argocd-cm" {
		t.Fatal("docs/gitops.md has no argocd-cm ConfigMap block")
	}
	var keys []string
	for _, kind := range kinds {
		key := "resource.customizations.health.passkeys.entraops.dev_" + kind
		keys = append(keys, key)
		script, err := os.ReadFile(healthScript)
		if err != nil {
			t.Fatal(err)
		}
		if configMap.Data[key] != string(script) {
			t.Errorf("docs/gitops.md's %s differs from config/argocd/health.lua", key)
		}
	}
	var have []string
	for k := range configMap.Data {
		have = append(have, k)
	}
	sort.Strings(have)
	sort.Strings(keys)
	if !slices.Equal(have, keys) {
		t.Errorf("argocd-cm keys = %v, want %v", have, keys)
	}
}

// yamlBlocks returns the ```yaml fenced blocks of a Markdown text.
func yamlBlocks(markdown string) []string {
	var blocks []string
	var current *strings.Builder
	for line := range strings.Lines(markdown) {
		switch {
		case current == nil && strings.TrimSpace(line) == "```yaml":
			current = &strings.Builder{}
		case current != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, current.String())
			current = nil
		case current != nil:
			current.WriteString(line)
		}
	}
	return blocks
}

// runHealthCheck runs a health script the way Argo CD does: a Lua state
// with only the base, table, string and math libraries, the object as the
// global `obj`, and the returned table's status and message.
func runHealthCheck(script string, obj map[string]any) (string, string, error) {
	ls := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer ls.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		if err := ls.CallByParam(lua.P{Fn: ls.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return "", "", fmt.Errorf("opening Lua library %s: %w", lib.name, err)
		}
	}
	value, err := toLua(ls, obj)
	if err != nil {
		return "", "", err
	}
	ls.SetGlobal("obj", value)
	if err := ls.DoString(script); err != nil {
		return "", "", fmt.Errorf("running health.lua: %w", err)
	}
	result, ok := ls.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("health.lua returned %s, not a table", ls.Get(-1).Type())
	}
	st, ok := result.RawGetString("status").(lua.LString)
	if !ok {
		return "", "", fmt.Errorf("health.lua returned a status that is not a string: %v", result.RawGetString("status"))
	}
	msg, ok := result.RawGetString("message").(lua.LString)
	if !ok {
		return "", "", fmt.Errorf("health.lua returned a message that is not a string: %v", result.RawGetString("message"))
	}
	return string(st), string(msg), nil
}

// toLua converts an unstructured value (from JSON or YAML) to a Lua value,
// as Argo CD does: objects and arrays become tables, numbers LNumber.
func toLua(ls *lua.LState, v any) (lua.LValue, error) {
	switch v := v.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(v), nil
	case string:
		return lua.LString(v), nil
	case int64:
		return lua.LNumber(v), nil
	case int:
		return lua.LNumber(v), nil
	case float64:
		return lua.LNumber(v), nil
	case map[string]any:
		table := ls.NewTable()
		for k, e := range v {
			value, err := toLua(ls, e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			table.RawSetString(k, value)
		}
		return table, nil
	case []any:
		table := ls.NewTable()
		for i, e := range v {
			value, err := toLua(ls, e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			table.Append(value)
		}
		return table, nil
	}
	return nil, fmt.Errorf("no Lua value for %T", v)
}

// TestGitOpsDocTable checks each row of the states table in docs/gitops.md
// against the captures it links: the kstatus column against kstatus, the
// Argo CD column against the health check. Every capture must be in a row.
func TestGitOpsDocTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/gitops.md")
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\(\.\./config/argocd/passkeys\.entraops\.dev/(\w+)/(testdata/[\w-]+\.yaml)\)`)
	linked := map[string]bool{}
	for line := range strings.Lines(string(doc)) {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		links := link.FindAllStringSubmatch(line, -1)
		if len(links) == 0 {
			continue
		}
		if len(cells) != 5 {
			t.Fatalf("table row with %d cells, want 5: %s", len(cells), line)
		}
		wantKstatus := strings.Fields(cells[2])[0]
		wantArgo := strings.Trim(strings.Fields(cells[3])[0], ",")
		for _, l := range links {
			kind, input := l[1], l[2]
			linked[kind+"/"+input] = true
			obj, err := testenv.ReadObject(filepath.Join(argocdDir, kind, input))
			if err != nil {
				t.Fatal(err)
			}
			res, err := status.Compute(obj)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Status) != wantKstatus {
				t.Errorf("docs say %s %s is %s in kstatus; it is %s", kind, input, wantKstatus, res.Status)
			}
			script, err := os.ReadFile(healthScript)
			if err != nil {
				t.Fatal(err)
			}
			health, _, err := runHealthCheck(string(script), obj.Object)
			if err != nil {
				t.Fatal(err)
			}
			if health != wantArgo {
				t.Errorf("docs say %s %s is %s in Argo CD; it is %s", kind, input, wantArgo, health)
			}
		}
	}
	for _, kind := range kinds {
		captures, err := filepath.Glob(filepath.Join(argocdDir, kind, "testdata", "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range captures {
			if key := kind + "/testdata/" + filepath.Base(c); !linked[key] {
				t.Errorf("docs/gitops.md's states table does not link %s", key)
			}
		}
	}
}
