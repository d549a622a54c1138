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
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	namespaced bool
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
				namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
				structural: structural,
				schema:     schemaValidator,
				cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
			}
		}
	}
	return a, nil
}

// check defaults obj (an object decoded from JSON) in place and returns
// what the API server would refuse; false when the kind is not ours. In
// the API server's order: unknown fields (kubectl apply validates strictly
// by default, so a misspelt field is refused, not dropped), then metadata,
// then the schema and CEL rules on the defaulted object.
func (a *admission) check(kind string, obj map[string]any) (field.ErrorList, bool) {
	s, ok := a.byKind[kind]
	if !ok {
		return nil, false
	}
	var errs field.ErrorList
	unknown := pruning.PruneWithOptions(obj, s.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		errs = append(errs, field.Forbidden(field.NewPath(path),
			"unknown field: the CRD's schema has no such field, and kubectl apply refuses it (a typo, or the wrong level?)"))
	}
	errs = append(errs, checkMetadata(obj, s.namespaced)...)
	defaulting.Default(obj, s.structural)
	errs = append(errs, validation.ValidateCustomResource(nil, obj, s.schema)...)
	celErrs, _ := s.cel.Validate(context.Background(), nil, s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...), true
}

// checkMetadata is the API server's check of a custom resource's metadata
// on create: a DNS subdomain name, valid labels and annotations. A
// namespaced object without a namespace is fine here: kubectl gives it the
// namespace of its context (or kustomize one); a cluster-scoped object's
// namespace is dropped by the API server, as it is here.
func checkMetadata(obj map[string]any, namespaced bool) field.ErrorList {
	if _, ok := obj["metadata"].(map[string]any); !ok {
		return field.ErrorList{field.Required(field.NewPath("metadata"), "")}
	}
	u := &unstructured.Unstructured{Object: obj}
	if !namespaced {
		u.SetNamespace("")
	}
	return metavalidation.ValidateObjectMetaAccessor(u, namespaced && u.GetNamespace() != "",
		metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
}
