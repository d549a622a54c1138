package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// Document is one of our resources as read from a file.
type Document struct {
	// Source is "file" or "file#N" for the Nth document of a stream ("-"
	// is standard input).
	Source string
	Kind   string
	// Fields is the object as decoded; Validate prunes unknown fields from
	// it and applies the CRD defaults in place.
	Fields map[string]any
}

// Name is "Kind namespace/name", or "Kind name".
func (d Document) Name() string {
	meta, _ := d.Fields["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if ns, _ := meta["namespace"].(string); ns != "" {
		return d.Kind + " " + ns + "/" + name
	}
	return d.Kind + " " + name
}

// Load reads the passkeys.entraops.dev resources in the files and folders
// given ("-" is stdin; folders are read recursively, *.yaml, *.yml and
// *.json, in name order). Other kinds (a Namespace, a Secret, a
// kustomization.yaml) are skipped.
func Load(paths []string, stdin io.Reader) ([]Document, error) {
	var docs []Document
	for _, p := range paths {
		if p == "-" {
			raw, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("reading standard input: %w", err)
			}
			more, err := decode("-", raw)
			if err != nil {
				return nil, err
			}
			docs = append(docs, more...)
			continue
		}
		files, err := manifestFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			more, err := decode(f, raw)
			if err != nil {
				return nil, err
			}
			docs = append(docs, more...)
		}
	}
	return docs, nil
}

func manifestFiles(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func decode(source string, raw []byte) ([]Document, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var docs []Document
	for n := 1; ; n++ {
		var fields map[string]any
		err := decoder.Decode(&fields)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s (document %d): %w", source, n, err)
		}
		apiVersion, _ := fields["apiVersion"].(string)
		kind, _ := fields["kind"].(string)
		if apiVersion != passkeysv1alpha1.GroupVersion.String() {
			continue
		}
		docs = append(docs, Document{Source: fmt.Sprintf("%s#%d", source, n), Kind: kind, Fields: fields})
	}
	if len(docs) == 1 {
		docs[0].Source = strings.TrimSuffix(docs[0].Source, "#1")
	}
	return docs, nil
}
