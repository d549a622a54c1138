package policy

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// Fixtures shared by the tests: ids in GUID form, as Entra has them.

func pid(n int) string    { return fmt.Sprintf("00000000-0000-0000-0000-%012d", n) }
func gid(n int) string    { return fmt.Sprintf("11111111-0000-0000-0000-%012d", n) }
func aaguid(n int) string { return fmt.Sprintf("aaaaaaaa-0000-0000-0000-%012d", n) }

// newID1 is the first id idSource hands out.
const newID1 = "99999999-0000-0000-0000-000000000001"

// idSource returns a newID function that hands out 99999999-…-0001, -0002, …
func idSource() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("99999999-0000-0000-0000-%012d", n)
	}
}

// noNewID fails the test if an id is requested.
func noNewID(t *testing.T) func() string {
	return func() string {
		t.Helper()
		t.Fatal("newID called")
		return ""
	}
}

func ptr[T any](v T) *T { return &v }

var (
	tenantRef = Ref{Kind: KindTenant, Name: "contoso"}
	t0        = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func profileRef(name string) Ref    { return Ref{Kind: KindProfile, Namespace: "team", Name: name} }
func assignmentRef(name string) Ref { return Ref{Kind: KindAssignment, Namespace: "team", Name: name} }

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

var enforce = Lifecycle{Enforce: true}

// entraProfile is a profile as Entra returns it.
func entraProfile(id, name string, types ...string) Profile {
	return Profile{
		ID:                     id,
		Name:                   name,
		PasskeyTypes:           types,
		AttestationEnforcement: AttestationDisabled,
		KeyRestrictions:        KeyRestrictions{EnforcementType: EnforcementBlock, AAGUIDs: []string{}},
	}
}

func includeTarget(id string, profiles ...string) Target {
	return Target{ID: id, TargetType: TargetTypeGroup, AllowedPasskeyProfiles: profiles}
}

func excludeTarget(id string) Target { return Target{ID: id, TargetType: TargetTypeGroup} }

// defaultTenant is a tenant freshly migrated to passkey profiles: the
// default profile, for all users.
func defaultTenant() Policy {
	return Policy{
		State:                   StateEnabled,
		SelfServiceRegistration: ptr(true),
		DefaultProfileID:        pid(1),
		Profiles:                []Profile{entraProfile(pid(1), "Default passkey profile", PasskeyDeviceBound, PasskeySynced)},
		IncludeTargets:          []Target{includeTarget(AllUsers, pid(1))},
		ExcludeTargets:          []Target{},
	}
}

// profileSpec is a valid Enforce PasskeyProfile in namespace team.
func profileSpec(name string, minute int, mutate ...func(*ProfileSpec)) ProfileSpec {
	s := ProfileSpec{
		Ref:          profileRef(name),
		CreatedAt:    at(minute),
		Name:         name,
		PasskeyTypes: []string{"DeviceBound"},
		Lifecycle:    enforce,
	}
	for _, m := range mutate {
		m(&s)
	}
	return s
}

// assignmentSpec is a valid Enforce include GroupAssignment in namespace team.
func assignmentSpec(name string, minute int, group string, profiles []string, mutate ...func(*AssignmentSpec)) AssignmentSpec {
	s := AssignmentSpec{
		Ref:       assignmentRef(name),
		CreatedAt: at(minute),
		GroupID:   group,
		Profiles:  profiles,
		Lifecycle: enforce,
	}
	for _, m := range mutate {
		m(&s)
	}
	return s
}

// buildFor runs the whole pipeline up to Build the way the controller does.
func buildFor(tenant TenantSpec, observed Policy, profiles []ProfileSpec, assignments []AssignmentSpec) Desired {
	return Build(tenant, profiles, assignments, AssignProfileIDs(profiles, observed))
}

func mergeTenant() TenantSpec { return TenantSpec{Ref: tenantRef, Enforce: true} }

func authoritativeTenant() TenantSpec {
	return TenantSpec{Ref: tenantRef, Enforce: true, Authoritative: true}
}

func problemReason(p *Problem) string {
	if p == nil {
		return ""
	}
	return p.Reason
}

func findDesiredProfile(t *testing.T, d Desired, ref Ref) DesiredProfile {
	t.Helper()
	for _, p := range d.Profiles {
		if p.Spec.Ref == ref {
			return p
		}
	}
	t.Fatalf("no desired profile %s", ref)
	return DesiredProfile{}
}

func findDesiredAssignment(t *testing.T, d Desired, ref Ref) DesiredAssignment {
	t.Helper()
	for _, a := range d.Assignments {
		if a.Spec.Ref == ref {
			return a
		}
	}
	t.Fatalf("no desired assignment %s", ref)
	return DesiredAssignment{}
}

func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

func assertValid(t *testing.T, prev, next Policy) {
	t.Helper()
	if problems := Validate(prev, next); len(problems) > 0 {
		t.Errorf("merged document breaks Entra rules: %v", problems)
	}
}
