package manifests

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/runtime"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
	"github.com/passkey-operator/passkey-operator/internal/specs"
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
	found, err := set.crossCheck()
	if err != nil {
		return nil, nil, err
	}
	return set, append(problems, found...), nil
}

// Set is the admitted resources, typed.
type Set struct {
	tenants     map[string]*passkeysv1alpha1.EntraTenant
	profiles    []*passkeysv1alpha1.PasskeyProfile
	assignments []*passkeysv1alpha1.GroupAssignment
	sources     map[policy.Ref]Document
	// warnings are what the API server's ValidatingAdmissionPolicy would
	// warn about: admitted, but not doing what it seems to.
	warnings []Problem
}

// Warnings are what applying the set would be warned about, as kubectl
// apply shows the API server's warnings.
func (s *Set) Warnings() []Problem { return s.warnings }

// add types an admitted document. A second document for the same object
// is refused: kubectl apply would keep only the last one and kustomize
// refuses the set, so one of the two is a mistake.
func (s *Set) add(d Document) error {
	switch d.Kind {
	case passkeysv1alpha1.EntraTenantKind:
		t, err := addObject(s, d, &passkeysv1alpha1.EntraTenant{})
		if t != nil {
			s.tenants[t.Name] = t
		}
		return err
	case passkeysv1alpha1.PasskeyProfileKind:
		p, err := addObject(s, d, &passkeysv1alpha1.PasskeyProfile{})
		if p != nil {
			s.profiles = append(s.profiles, p)
		}
		return err
	case passkeysv1alpha1.GroupAssignmentKind:
		a, err := addObject(s, d, &passkeysv1alpha1.GroupAssignment{})
		if a != nil {
			s.assignments = append(s.assignments, a)
		}
		return err
	}
	return fmt.Errorf("%s is not a %s kind", d.Kind, passkeysv1alpha1.GroupVersion)
}

// addObject decodes d into obj and records where it was declared; nil
// when it cannot be decoded or was declared before.
func addObject[T passkeysv1alpha1.Object](s *Set, d Document, obj T) (T, error) {
	var none T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Fields, obj); err != nil {
		return none, fmt.Errorf("decoding %s: %w", d.Name(), err)
	}
	ref := specs.RefOf(obj)
	if first, ok := s.sources[ref]; ok {
		return none, &duplicateError{first: first.Source}
	}
	s.sources[ref] = d
	return obj, nil
}

// duplicateError says where the object was declared first.
type duplicateError struct{ first string }

func (e *duplicateError) Error() string {
	return fmt.Sprintf("declared again: already in %s; only one copy can be applied, so keep one", e.first)
}

// crossCheck decides each tenant's policy as the operator does and reports
// the problems that need a change to a resource.
func (s *Set) crossCheck() ([]Problem, error) {
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
		found, err := s.checkTenant(name)
		if err != nil {
			return nil, err
		}
		problems = append(problems, found...)
	}
	return problems, nil
}

// ofTenant returns the profiles and assignments that name the tenant.
func (s *Set) ofTenant(name string) ([]*passkeysv1alpha1.PasskeyProfile, []*passkeysv1alpha1.GroupAssignment) {
	var profiles []*passkeysv1alpha1.PasskeyProfile
	var assignments []*passkeysv1alpha1.GroupAssignment
	for _, p := range s.profiles {
		if p.Spec.TenantRef == name {
			profiles = append(profiles, p)
		}
	}
	for _, a := range s.assignments {
		if a.Spec.TenantRef == name {
			assignments = append(assignments, a)
		}
	}
	return profiles, assignments
}

// offlineDefaultProfile stands for the default profile every tenant has.
const offlineDefaultProfile = "00000000-0000-0000-0000-000000000001"

// checkTenant decides the tenant's policy as the operator would against an
// imagined tenant (offlineTenant) and reports the problems it finds.
func (s *Set) checkTenant(name string) ([]Problem, error) {
	var problems []Problem
	report := func(ref policy.Ref, field, message string) {
		problems = append(problems, Problem{s.sources[ref].Source, ref.String(), field, message})
	}
	tenant := s.tenants[name]
	profiles, assignments := s.ofTenant(name)
	if tenant == nil {
		for _, o := range slices.Concat(objects(profiles), objects(assignments)) {
			report(specs.RefOf(o), "spec.tenantRef", fmt.Sprintf("no EntraTenant named %q in these files", name))
		}
		tenant = &passkeysv1alpha1.EntraTenant{}
		tenant.Name = name
	}
	// Names are resolved where a catalog is (the operator, passkeyctl diff):
	// offline, a profile that selects by name is judged by its AAGUIDs.
	declared, err := specs.Declared(context.Background(), tenant, profiles, assignments, offlineGroups{}, specs.Catalog{Offline: true})
	if err != nil {
		return nil, err
	}
	writes := policy.Decide(offlineTenant(declared), declared).Expect(uuid.NewString)
	last := writes[len(writes)-1]
	for _, ref := range sortedRefs(last.Outcomes) {
		for _, w := range last.Outcomes[ref].Warnings {
			s.warnings = append(s.warnings, Problem{s.sources[ref].Source, ref.String(), "spec", w})
		}
	}
	found := last.Problems()
	for _, ref := range sortedRefs(found) {
		p := found[ref]
		field := "spec"
		if p.Reason == policy.ReasonProfileNotFound || p.Reason == policy.ReasonProfileNotReady {
			field = "spec.profiles"
		}
		report(ref, field, p.Reason+": "+p.Message)
	}
	return problems, nil
}

func objects[T passkeysv1alpha1.Object](in []T) []passkeysv1alpha1.Object {
	out := make([]passkeysv1alpha1.Object, 0, len(in))
	for _, o := range in {
		out = append(out, o)
	}
	return out
}

// offlineTenant imagines the tenant the manifests are applied to: it holds
// its default profile, and every declared profile the operator would not
// create (driftPolicy Report, suspended) is taken to be there already, as
// such a resource only makes sense for a profile that exists. So Decide
// counts every declared profile against Entra's limit, and a target may
// name any of them. A default profile declared with attestation and synced
// passkeys is taken to be migrated so: Entra's migration is the one way to
// that state, which the operator keeps but never writes.
func offlineTenant(declared policy.Declared) policy.Policy {
	def := policy.Profile{ID: offlineDefaultProfile, Name: "Default passkey profile"}
	p := policy.Policy{DefaultProfileID: offlineDefaultProfile}
	for _, spec := range declared.Profiles {
		if spec.Default && strings.EqualFold(spec.Attestation, policy.AttestationRegistrationOnly) && len(spec.PasskeyTypes) == 2 {
			def.AttestationEnforcement = policy.AttestationRegistrationOnly
			def.PasskeyTypes = []string{policy.PasskeyDeviceBound, policy.PasskeySynced}
		}
	}
	p.Profiles = append(p.Profiles, def)
	for _, spec := range declared.Profiles {
		if !spec.Default && (!spec.Enforce || spec.Suspended) {
			name := cmp.Or(spec.Name, spec.Ref.Name)
			id := uuid.NewSHA1(uuid.NameSpaceOID, []byte("profile/"+strings.ToLower(name))).String()
			p.Profiles = append(p.Profiles, policy.Profile{ID: id, Name: name})
		}
	}
	return p
}

// offlineGroups stands in for Graph's group look-up: a group name becomes
// a group of its own, with an id made from the name, the same for the same
// name in any case, so that two assignments naming one group still conflict.
type offlineGroups struct{}

func (offlineGroups) GroupsByDisplayName(_ context.Context, name string) ([]entra.Group, error) {
	id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(strings.ToLower(name))).String()
	return []entra.Group{{ID: id, DisplayName: name}}, nil
}
