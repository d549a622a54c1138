package manifests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Render writes the objects as one YAML stream, each under its comment.
func Render(objects []Object) ([]byte, error) {
	var out bytes.Buffer
	for i, o := range objects {
		if i > 0 {
			out.WriteString("---\n")
		}
		doc, err := renderOne(o)
		if err != nil {
			return nil, err
		}
		out.Write(doc)
	}
	return out.Bytes(), nil
}

// WriteDir writes one file per object into dir, named after its kind and
// name (passkeyprofile-staff.yaml), and returns the paths written.
func WriteDir(objects []Object, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var paths []string
	for _, o := range objects {
		doc, err := renderOne(o)
		if err != nil {
			return nil, err
		}
		kind := strings.ToLower(o.Object.GetObjectKind().GroupVersionKind().Kind)
		path := filepath.Join(dir, kind+"-"+o.Object.GetName()+".yaml")
		if err := os.WriteFile(path, doc, 0o644); err != nil { //nolint:gosec // manifests are meant to be read
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// renderOne is the object as a user would write it: no status, no empty
// creationTimestamp, the comment on top.
func renderOne(o Object) ([]byte, error) {
	fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o.Object)
	if err != nil {
		return nil, fmt.Errorf("converting %s: %w", o.Object.GetName(), err)
	}
	delete(fields, "status")
	if meta, ok := fields["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	body, err := yaml.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", o.Object.GetName(), err)
	}
	var out bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(o.Comment), "\n") {
		if line != "" {
			out.WriteString("# " + line + "\n")
		}
	}
	out.Write(commentItems(body, o.ItemComments))
	return out.Bytes(), nil
}

// commentItems appends each list item's comment, if it has one, to its
// line: "- 2fc0579f-… # YubiKey 5 Series with NFC".
func commentItems(body []byte, comments map[string]string) []byte {
	if len(comments) == 0 {
		return body
	}
	lines := strings.Split(string(body), "\n")
	for i, line := range lines {
		item, ok := strings.CutPrefix(strings.TrimSpace(line), "- ")
		if c := comments[item]; ok && c != "" {
			lines[i] = line + " # " + strings.ReplaceAll(c, "\n", " ")
		}
	}
	return []byte(strings.Join(lines, "\n"))
}
