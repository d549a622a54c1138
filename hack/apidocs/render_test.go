package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// widgetCRD is small but has every shape the generator handles: nested
// objects, lists of objects and of scalars, maps, enums, formats, patterns,
// defaults, printer columns, and CEL rules on the root, on a field, on list
// entries and a transition rule.
const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.dev
spec:
  group: example.dev
  names:
    kind: Widget
    listKind: WidgetList
    plural: widgets
    singular: widget
    shortNames: [wd]
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
      description: How big | really.
    - name: Owner
      type: string
      jsonPath: .spec.owner.name
      priority: 1
    schema:
      openAPIV3Schema:
        description: |-
          Widget is a test kind.

          It has <two> paragraphs.
        type: object
        required: [spec]
        x-kubernetes-validations:
        - rule: self.metadata.name.startsWith('w')
          message: widget names start with w
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [size, owner]
            x-kubernetes-validations:
            - rule: self.size > 1 || !has(self.tags)
              messageExpression: "'size ' + string(self.size) + ' is too small for tags'"
            properties:
              size:
                description: |-
                  Size is how big,
                  in units | parts.
                type: integer
                format: int32
                minimum: 1
                maximum: 10
                default: 3
              owner:
                description: Owner is who owns it.
                type: object
                required: [name]
                properties:
                  name:
                    type: string
                    pattern: '^[a-z]+(-[a-z]+)*$'
                    x-kubernetes-validations:
                    - rule: self == oldSelf
                      message: owner name is immutable
              parts:
                description: Parts are the pieces.
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [id]
                items:
                  type: object
                  required: [id]
                  properties:
                    id: {type: string, description: ID names the part.}
                    kind:
                      type: string
                      enum: [Bolt, Nut]
                      default: Bolt
                  x-kubernetes-validations:
                  - rule: self.id != self.kind
                    message: a part id cannot be its kind
              tags:
                type: array
                x-kubernetes-list-type: set
                minItems: 1
                maxItems: 4
                items:
                  description: Tag is one label.
                  type: string
                  maxLength: 8
              labels:
                type: object
                additionalProperties:
                  type: string
          status:
            type: object
            default: {phase: New, count: 0}
            properties:
              phase: {type: string}
              count: {type: integer}
`

func parseCRD(t *testing.T, src string) apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal([]byte(src), &crd); err != nil {
		t.Fatalf("parsing CRD: %v", err)
	}
	return crd
}

func widgetSpec(t *testing.T) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	crd := parseCRD(t, widgetCRD)
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
}

func TestTypeText(t *testing.T) {
	spec := widgetSpec(t)
	parts := spec.Properties["parts"]
	str := "string"
	tests := []struct {
		name   string
		schema apiextensionsv1.JSONSchemaProps
		want   string
	}{
		{"integer with format and range", spec.Properties["size"],
			"`integer`; format `int32`; minimum 1; maximum 10"},
		{"object", spec.Properties["owner"], "`object`"},
		{"pattern", spec.Properties["owner"].Properties["name"],
			"`string`; pattern `^[a-z]+(-[a-z]+)*$`"},
		{"list of objects keyed by a field", parts, "`[]object`; one entry per `id`"},
		{"enum", parts.Items.Schema.Properties["kind"], "`string`; one of `Bolt`, `Nut`"},
		{"set of strings with item limits", spec.Properties["tags"],
			"`[]string`; 1 to 4 items; no repeats; each length at most 8"},
		{"map", spec.Properties["labels"], "`map[string]string`"},
		{"int or string", apiextensionsv1.JSONSchemaProps{XIntOrString: true}, "`int or string`"},
		{"no type", apiextensionsv1.JSONSchemaProps{}, "`any`"},
		{"exclusive bounds", apiextensionsv1.JSONSchemaProps{
			Type: "number", Minimum: ptr(0.5), ExclusiveMinimum: true, Maximum: ptr(2.0), ExclusiveMaximum: true,
		}, "`number`; above 0.5; below 2"},
		{"exact length", apiextensionsv1.JSONSchemaProps{Type: str, MinLength: ptr(int64(36)), MaxLength: ptr(int64(36))},
			"`string`; length exactly 36"},
		{"map values with limits", apiextensionsv1.JSONSchemaProps{Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{
			Schema: &apiextensionsv1.JSONSchemaProps{Type: str, MinLength: ptr(int64(1))},
		}}, "`map[string]string`; each value length at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := typeText(tt.schema); got != tt.want {
				t.Errorf("typeText() = %q, want %q", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestFormatting(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"prose joins lines and keeps paragraphs", prose("One\nline.\n\n  Two.\n", "<br><br>"), "One line.<br><br>Two."},
		{"prose escapes HTML", prose("a <b> c", " "), "a &lt;b> c"},
		{"prose of nothing", prose("", " "), ""},
		{"code plain", code("a|b"), "`a|b`"},
		{"code with backticks", code("a `b` c"), "``a `b` c``"},
		{"code starting with a backtick", code("`x"), "`` `x ``"},
		{"cell escapes pipes and newlines", cell("`a|b`\nc"), "`a\\|b`<br>c"},
		{"oneLine", oneLine("a &&\n   b"), "a && b"},
		{"json string bare", jsonText([]byte(`"Disabled"`)), "Disabled"},
		{"json object sorted", jsonText([]byte(`{"b":1,"a":"x"}`)), `{"a":"x","b":1}`},
		{"json number", jsonText([]byte(`-1`)), "-1"},
		{"anchor", anchor("PasskeyProfile spec"), "passkeyprofile-spec"},
		{"anchor drops punctuation", anchor("Widget v1 (beta).x"), "widget-v1-betax"},
		{"codeList empty", codeList(nil), "none"},
		{"codeList", codeList([]string{"a", "b"}), "`a`, `b`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestWalkPaths(t *testing.T) {
	spec := widgetSpec(t)
	var got []string
	for _, e := range walk("spec", spec, true, true) {
		mark := ""
		if e.required {
			mark += " required"
		}
		if !e.row {
			mark += " (not a row)"
		}
		got = append(got, e.path+mark)
	}
	want := []string{
		"spec required",
		"spec.labels",
		"spec.labels.* (not a row)",
		"spec.owner required",
		"spec.owner.name required",
		"spec.parts",
		"spec.parts[] (not a row)",
		"spec.parts[].id required",
		"spec.parts[].kind",
		"spec.size required",
		"spec.tags",
		"spec.tags[] (not a row)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("walk paths:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRenderWidget(t *testing.T) {
	crd := parseCRD(t, widgetCRD)
	page := string(render([]apiextensionsv1.CustomResourceDefinition{crd}))

	for _, want := range []string{
		// Header and table of contents with GitHub anchors.
		"This page is generated by `make docs`",
		"- [Widget](#widget) (namespaced)\n  - [spec](#widget-spec)\n  - [status](#widget-status)\n",
		// Kind facts.
		"- API version: `example.dev/v1`\n- Scope: namespaced\n",
		"- Short names: `wd`\n- Categories: none\n- Subresources: `status`\n",
		// Both paragraphs of the kind's description, HTML escaped.
		"Widget is a test kind.\n\nIt has &lt;two> paragraphs.\n",
		// Printer columns: "|" escaped, priority 1 only with -o wide.
		"| Size | `integer` | `.spec.size` | always | How big \\| really. |\n",
		"| Owner | `string` | `.spec.owner.name` | `-o wide` |  |\n",
		// Rows: nested paths, required, defaults, escaped multi-line descriptions.
		"| `spec.size` | `integer`; format `int32`; minimum 1; maximum 10 | yes | `3` | Size is how big, in units \\| parts. |\n",
		"| `spec.owner.name` | `string`; pattern `^[a-z]+(-[a-z]+)*$` | yes |  |  |\n",
		"| `spec.parts[].kind` | `string`; one of `Bolt`, `Nut` |  | `Bolt` |  |\n",
		"| `spec.tags` | `[]string`; 1 to 4 items; no repeats; each length at most 8 |  |  | Tag is one label. |\n",
		"| `status` | `object` |  | `{\"count\":0,\"phase\":\"New\"}` |  |\n",
		// CEL rules under the field they are attached to.
		"Admission rules on the whole Widget:\n\n- widget names start with w (`self.metadata.name.startsWith('w')`)\n",
		"- `spec`\n  - message from `'size ' + string(self.size) + ' is too small for tags'` (`self.size > 1 || !has(self.tags)`)\n",
		"- `spec.owner.name`\n  - owner name is immutable (`self == oldSelf`, on update)\n",
		"- `spec.parts[]`\n  - a part id cannot be its kind (`self.id != self.kind`)\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q\npage:\n%s", want, page)
		}
	}

	// The entries of lists and maps are described by their parent's row.
	for _, unwanted := range []string{"| `spec.parts[]` |", "| `spec.labels.*` |", "`apiVersion`", "`metadata`"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("page has %q", unwanted)
		}
	}

	// Spec before status, rows in sorted order, whatever the map order.
	assertOrder(t, page, "### Widget spec", "`spec.labels`", "`spec.owner`", "`spec.parts`", "`spec.size`", "`spec.tags`", "### Widget status")

	// Every table row is one line with the header's number of cells.
	for line := range strings.Lines(page) {
		if strings.HasPrefix(line, "| `spec") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 6 {
			t.Errorf("row has the wrong number of cells: %q", line)
		}
	}

	// Map iteration order is random in Go; the page must not be.
	for range 5 {
		if again := string(render([]apiextensionsv1.CustomResourceDefinition{crd})); again != page {
			t.Fatal("render is not deterministic")
		}
	}
}

func TestRenderMultipleVersions(t *testing.T) {
	crd := parseCRD(t, widgetCRD)
	v2 := *crd.Spec.Versions[0].DeepCopy()
	v2.Name = "v2"
	hidden := *crd.Spec.Versions[0].DeepCopy()
	hidden.Name = "v0"
	hidden.Served = false
	crd.Spec.Versions = append(crd.Spec.Versions, v2, hidden)

	page := string(render([]apiextensionsv1.CustomResourceDefinition{crd}))
	for _, want := range []string{"- [Widget v1](#widget-v1)", "- [Widget v2](#widget-v2)", "## Widget v2\n", "### Widget v2 spec\n", "`example.dev/v2`"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "v0") {
		t.Error("page documents a version that is not served")
	}
}

func assertOrder(t *testing.T, page string, items ...string) {
	t.Helper()
	last := -1
	for _, item := range items {
		i := strings.Index(page, item)
		if i < 0 {
			t.Errorf("page lacks %q", item)
			return
		}
		if i < last {
			t.Errorf("%q comes before the item listed ahead of it", item)
		}
		last = i
	}
}

func TestLoadCRDs(t *testing.T) {
	dir := t.TempDir()
	gadget := strings.NewReplacer("Widget", "Gadget", "widget", "gadget").Replace(widgetCRD)
	// One file holding two CRDs, named so that file order is not kind order.
	write(t, filepath.Join(dir, "a.yaml"), "---\n"+widgetCRD+"\n---\n"+gadget)
	write(t, filepath.Join(dir, "notes.txt"), "not YAML, not read")

	crds, err := loadCRDs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 2 || crds[0].Spec.Names.Kind != "Gadget" || crds[1].Spec.Names.Kind != "Widget" {
		t.Fatalf("loaded %d CRDs, want Gadget then Widget", len(crds))
	}

	out := filepath.Join(dir, "api.md")
	if err := run(dir, out); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != string(render(crds)) {
		t.Error("run wrote something other than the rendered page")
	}
}

func TestLoadCRDsRefusesOtherObjects(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
	if _, err := loadCRDs(dir); err == nil || !strings.Contains(err.Error(), "ConfigMap") {
		t.Errorf("loadCRDs error = %v, want one naming the ConfigMap", err)
	}
	if _, err := loadCRDs(t.TempDir()); err == nil {
		t.Error("loadCRDs of an empty folder succeeded")
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCommittedDocsUpToDate makes `go test` catch a stale docs/api.md, as
// hack/verify-generated.sh does.
func TestCommittedDocsUpToDate(t *testing.T) {
	want, err := generate("../../config/crd/bases")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("docs/api.md is stale: run make docs and commit the result")
	}
}
