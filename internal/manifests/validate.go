package manifests

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// Problem is one thing the API server or the operator would refuse.
type Problem struct {
	Source  string // file, or file#N
	Object  string // Kind namespace/name
	Field   string
	Message string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", p.Source, p.Object, p.Field, p.Message)
}

// Validate checks the documents offline: each as the API server would on
// create (metadata, unknown fields, its CRD's schema and CEL rules: what
// kubectl apply would be refused for), each object declared once, then all
// of them together as the operator would build them (references resolve,
// at most three profiles per tenant, one default profile, no two resources
// claiming one profile name or target). Group names cannot be resolved
// offline, so each distinct name stands for a distinct group. The set holds
// the documents admitted, typed and with their CRD defaults; when there are
// no problems, all of them.
func Validate(docs []Document) (*Set, []Problem, error) {
	adm, err := newAdmission()
	if err != nil {
		return nil, nil, fmt.Errorf("loading the CRDs: %w", err)
	}
	var problems []Problem
	set := &Set{tenants: map[string]*passkeysv1alpha1.EntraTenant{}, sources: map[policy.Ref]Document{}}
	for _, d := range docs {
		errs, known := adm.check(d.Kind, d.Fields)
		if !known {
			problems = append(problems, Problem{d.Source, d.Name(), "kind", fmt.Sprintf("%s is not a %s kind", d.Kind, passkeysv1alpha1.GroupVersion)})
			continue
		}
		for _, e := range errs {
			problems = append(problems, Problem{d.Source, d.Name(), e.Field, e.ErrorBody()})
		}
		if len(errs) == 0 {
			if err := set.add(d); err != nil {
				field := ""
				if dup := (*duplicateError)(nil); errors.As(err, &dup) {
					field = "metadata.name"
				}
				problems = append(problems, Problem{d.Source, d.Name(), field, err.Error()})
			}
		}
	}
	return set, append(problems, set.crossCheck()...), nil
}

// Set is the admitted resources, typed.
type Set struct {
	tenants     map[string]*passkeysv1alpha1.EntraTenant
	profiles    []*passkeysv1alpha1.PasskeyProfile
	assignments []*passkeysv1alpha1.GroupAssignment
	sources     map[policy.Ref]Document
}

// add types an admitted document. A second document for the same object
// is refused: kubectl apply would keep only the last one and kustomize
// refuses the set, so one of the two is a mistake.
func (s *Set) add(d Document) error {
	var obj client.Object
	var kind string
	switch d.Kind {
	case "EntraTenant":
		obj, kind = &passkeysv1alpha1.EntraTenant{}, policy.KindTenant
	case "PasskeyProfile":
		obj, kind = &passkeysv1alpha1.PasskeyProfile{}, policy.KindProfile
	case "GroupAssignment":
		obj, kind = &passkeysv1alpha1.GroupAssignment{}, policy.KindAssignment
	default:
		return fmt.Errorf("%s is not a %s kind", d.Kind, passkeysv1alpha1.GroupVersion)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Fields, obj); err != nil {
		return fmt.Errorf("decoding %s: %w", d.Name(), err)
	}
	ref := RefOf(obj, kind)
	if first, ok := s.sources[ref]; ok {
		return &duplicateError{first: first.Source}
	}
	s.sources[ref] = d
	switch o := obj.(type) {
	case *passkeysv1alpha1.EntraTenant:
		s.tenants[o.Name] = o
	case *passkeysv1alpha1.PasskeyProfile:
		s.profiles = append(s.profiles, o)
	case *passkeysv1alpha1.GroupAssignment:
		s.assignments = append(s.assignments, o)
	}
	return nil
}

// duplicateError says where the object was declared first.
type duplicateError struct{ first string }

func (e *duplicateError) Error() string {
	return fmt.Sprintf("declared again: already in %s; only one copy can be applied, so keep one", e.first)
}

// crossCheck builds each tenant's desired policy as the operator does and
// reports the problems that need a change to a resource.
func (s *Set) crossCheck() []Problem {
	tenants := map[string]bool{}
	for _, p := range s.profiles {
		tenants[p.Spec.TenantRef] = true
	}
	for _, a := range s.assignments {
		tenants[a.Spec.TenantRef] = true
	}
	names := make([]string, 0, len(tenants))
	for name := range tenants {
		names = append(names, name)
	}
	sort.Strings(names)
	var problems []Problem
	for _, name := range names {
		problems = append(problems, s.checkTenant(name)...)
	}
	return problems
}

// offlineDefaultProfile stands for the default profile every tenant has.
const offlineDefaultProfile = "00000000-0000-0000-0000-000000000001"

func (s *Set) checkTenant(name string) []Problem {
	var problems []Problem
	report := func(ref policy.Ref, field, message string) {
		problems = append(problems, Problem{s.sources[ref].Source, ref.String(), field, message})
	}
	tenant := s.tenants[name]
	var profiles []policy.ProfileSpec
	var assignments []policy.AssignmentSpec
	withDefault := false
	for _, p := range s.profiles {
		if p.Spec.TenantRef == name {
			if tenant == nil {
				report(RefOf(p, policy.KindProfile), "spec.tenantRef", fmt.Sprintf("no EntraTenant named %q in these files", name))
			}
			profiles = append(profiles, ProfileSpec(p, orStub(tenant, name)))
			withDefault = withDefault || p.Spec.Default
		}
	}
	for _, a := range s.assignments {
		if a.Spec.TenantRef == name {
			if tenant == nil {
				report(RefOf(a, policy.KindAssignment), "spec.tenantRef", fmt.Sprintf("no EntraTenant named %q in these files", name))
			}
			assignments = append(assignments, AssignmentSpec(a, offlineGroupID(a.Spec.Target), orStub(tenant, name)))
		}
	}
	n := len(profiles)
	if !withDefault {
		n++ // Entra's default profile is there whether declared or not
	}
	if n > policy.MaxProfiles {
		for _, p := range profiles {
			report(p.Ref, "spec", fmt.Sprintf("tenant %s would hold %d passkey profiles (its default profile included); Entra allows at most %d", name, n, policy.MaxProfiles))
		}
	}
	observed := policy.Policy{DefaultProfileID: offlineDefaultProfile, Profiles: []policy.Profile{{ID: offlineDefaultProfile}}}
	ids := policy.AssignProfileIDs(profiles, observed, uuid.NewString)
	desired := policy.Build(TenantSpec(orStub(tenant, name)), profiles, assignments, ids)
	found := desired.Problems()
	for _, ref := range sortedRefs(found) {
		p := found[ref]
		field := "spec"
		if p.Reason == policy.ReasonProfileNotFound || p.Reason == policy.ReasonProfileNotReady {
			field = "spec.profiles"
		}
		report(ref, field, p.Reason+": "+p.Message)
	}
	return problems
}

func orStub(tenant *passkeysv1alpha1.EntraTenant, name string) *passkeysv1alpha1.EntraTenant {
	if tenant != nil {
		return tenant
	}
	stub := &passkeysv1alpha1.EntraTenant{}
	stub.Name = name
	return stub
}

// offlineGroupID stands in for the group id Graph would resolve: a group
// name becomes an id of its own, the same for the same name, so that two
// assignments naming one group still conflict.
func offlineGroupID(t passkeysv1alpha1.AssignmentTarget) string {
	if id, ok := TargetID(t); ok {
		return id
	}
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(strings.ToLower(t.GroupName))).String()
}
