// Command apidocs writes the API reference, docs/api.md, from the CRD schemas
// in config/crd/bases. It backs `make docs`.
//
// It reads the CRDs rather than the Go types because the CRDs are what the API
// server enforces: the types, enums, defaults and CEL rules a user meets at
// admission are exactly what the page shows, and the descriptions are the doc
// comments of api/v1alpha1 that controller-gen copied into them.
//
//	apidocs -crds config/crd/bases -out docs/api.md
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	crdDir := flag.String("crds", "config/crd/bases", "folder holding the CRD YAML files")
	out := flag.String("out", "docs/api.md", "markdown file to write")
	flag.Parse()

	if err := run(*crdDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "apidocs:", err)
		os.Exit(1)
	}
}

func run(crdDir, out string) error {
	page, err := generate(crdDir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, page, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}

// generate renders the page for every CRD in crdDir.
func generate(crdDir string) ([]byte, error) {
	crds, err := loadCRDs(crdDir)
	if err != nil {
		return nil, err
	}
	return render(crds), nil
}

// loadCRDs reads every *.yaml file in dir, each holding one or more CRDs
// separated by "---" lines, sorted by kind so the page does not depend on
// file names.
func loadCRDs(dir string) ([]apiextensionsv1.CustomResourceDefinition, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var crds []apiextensionsv1.CustomResourceDefinition
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading CRDs: %w", err)
		}
		for _, doc := range splitDocuments(data) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := yaml.Unmarshal(doc, &crd); err != nil {
				return nil, fmt.Errorf("parsing %s: %w", file, err)
			}
			// Anything else in the folder is a mistake worth stopping for,
			// not something to document silently wrong.
			if crd.Kind != "CustomResourceDefinition" {
				return nil, fmt.Errorf("%s: holds a %q, want only CustomResourceDefinitions", file, crd.Kind)
			}
			crds = append(crds, crd)
		}
	}
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs in %s", dir)
	}
	sort.Slice(crds, func(i, j int) bool {
		return crds[i].Spec.Names.Kind < crds[j].Spec.Names.Kind
	})
	return crds, nil
}

// splitDocuments splits a YAML stream on "---" lines and drops empty documents.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
	}
	for line := range bytes.Lines(data) {
		if strings.TrimRight(string(line), " \r\n") == "---" {
			flush()
			continue
		}
		cur.Write(line)
	}
	flush()
	return docs
}
