package testenv

import (
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// ReadObject reads one object from a YAML file, such as the captures under
// config/argocd that internal/controller writes and internal/contracttest
// reads: both must decode them alike.
func ReadObject(path string) (*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading capture: %w", err)
	}
	// Through JSON, as the API machinery decodes: integers stay int64.
	data, err = yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return u, nil
}
