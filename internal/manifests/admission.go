package manifests

import (
	"context"
	"embed"
	"fmt"
	"path"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// crds are config/crd/bases, copied here by make manifests: Go can embed
// only files below the package.
//
//go:embed crds/*.yaml
var crds embed.FS

// admission checks an object as the API server would on create: the CRD's
// OpenAPI schema (types, enums, patterns, required fields) and its CEL
// rules, after its defaults, with the very rules of the CRDs the operator
// installs, so passkeyctl validate has no second copy of them.
type admission struct {
	byKind map[string]kindSchema
}

type kindSchema struct {
	structural *structuralschema.Structural
	schema     validation.SchemaCreateValidator
	cel        *cel.Validator
}

func newAdmission() (*admission, error) {
	files, err := crds.ReadDir("crds")
	if err != nil {
		return nil, err
	}
	a := &admission{byKind: map[string]kindSchema{}}
	for _, f := range files {
		raw, err := crds.ReadFile(path.Join("crds", f.Name()))
		if err != nil {
			return nil, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema == nil {
				continue
			}
			var internal apiextensionsinternal.CustomResourceValidation
			if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(v.Schema, &internal, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name(), err)
			}
			structural, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name(), err)
			}
			schemaValidator, _, err := validation.NewSchemaValidator(internal.OpenAPIV3Schema)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name(), err)
			}
			a.byKind[crd.Spec.Names.Kind] = kindSchema{
				structural: structural,
				schema:     schemaValidator,
				cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
			}
		}
	}
	return a, nil
}

// check defaults obj (an object decoded from JSON) in place and returns
// what the API server would refuse; false when the kind is not ours.
func (a *admission) check(kind string, obj map[string]any) (field.ErrorList, bool) {
	s, ok := a.byKind[kind]
	if !ok {
		return nil, false
	}
	defaulting.Default(obj, s.structural)
	errs := validation.ValidateCustomResource(nil, obj, s.schema)
	celErrs, _ := s.cel.Validate(context.Background(), nil, s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...), true
}
