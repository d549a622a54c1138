// Package specs turns the API's resources into the inputs of the policy
// package. The operator builds its desired policy from them, and passkeyctl
// diff and validate do the same from files, so all three read a resource
// exactly alike. It knows the API types and nothing of the API server.
package specs

import (
	"context"
	"strings"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// RefOf names a resource in the policy's terms.
func RefOf(o passkeysv1alpha1.Object) policy.Ref {
	return policy.Ref{Kind: o.ResourceKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
}

// Declared is what one tenant's resources declare, ready for policy.Decide:
// each assignment's group is resolved through groups (a display name is
// looked up; an id or all users needs no lookup), and each profile's
// authenticator names through catalog. An error is a lookup that failed,
// not a group that is missing or a name that matches no model: that is the
// resource's problem.
func Declared(ctx context.Context, tenant *passkeysv1alpha1.EntraTenant, profiles []*passkeysv1alpha1.PasskeyProfile,
	assignments []*passkeysv1alpha1.GroupAssignment, groups Groups, catalog Catalog) (policy.Declared, error) {
	d := policy.Declared{Tenant: TenantSpec(tenant)}
	for _, p := range profiles {
		d.Profiles = append(d.Profiles, ProfileSpec(p, tenant, catalog))
	}
	for _, a := range assignments {
		id, problem, err := ResolveGroup(ctx, groups, a.Spec.Target, tenant.Spec.TenantID)
		if err != nil {
			return policy.Declared{}, err
		}
		spec := AssignmentSpec(a, id, tenant)
		spec.GroupProblem = problem
		d.Assignments = append(d.Assignments, spec)
	}
	return d, nil
}

// Enforced says whether a resource writes its spec to Entra (driftPolicy
// Enforce, its own or its tenant's) rather than only reporting drift.
func Enforced(o passkeysv1alpha1.TenantObject, tenant *passkeysv1alpha1.EntraTenant) bool {
	return o.EffectiveDriftPolicy(tenant) == passkeysv1alpha1.DriftPolicyEnforce
}

func lifecycle(o passkeysv1alpha1.TenantObject, tenant *passkeysv1alpha1.EntraTenant) policy.Lifecycle {
	return policy.Lifecycle{
		Enforce:   Enforced(o, tenant),
		Suspended: o.IsSuspended(),
		Deleting:  !o.GetDeletionTimestamp().IsZero(),
		Orphan:    o.GetDeletionPolicy() == passkeysv1alpha1.DeletionPolicyOrphan,
	}
}

// TenantSpec is what the EntraTenant declares for the policy as a whole.
func TenantSpec(tenant *passkeysv1alpha1.EntraTenant) policy.TenantSpec {
	spec := policy.TenantSpec{
		Ref:           RefOf(tenant),
		Authoritative: tenant.Spec.Management == passkeysv1alpha1.ManagementAuthoritative,
		Enforce:       tenant.GetDriftPolicy() != passkeysv1alpha1.DriftPolicyReport,
	}
	if m := tenant.Spec.Method; m != nil {
		spec.MethodState = strings.ToLower(string(m.State))
		spec.SelfServiceRegistration = m.SelfServiceRegistration
	}
	return spec
}

// ProfileSpec is what the PasskeyProfile declares, its authenticator names
// resolved through catalog.
func ProfileSpec(p *passkeysv1alpha1.PasskeyProfile, tenant *passkeysv1alpha1.EntraTenant, catalog Catalog) policy.ProfileSpec {
	spec := policy.ProfileSpec{
		Ref:          RefOf(p),
		CreatedAt:    p.CreationTimestamp.Time,
		Name:         p.Spec.DisplayName,
		Attestation:  string(p.Spec.Attestation),
		Default:      p.Spec.Default,
		KnownID:      p.Status.ProfileID,
		PendingName:  p.Status.PendingName,
		Lifecycle:    lifecycle(p, tenant),
		PasskeyTypes: make([]string, 0, len(p.Spec.PasskeyTypes)),
	}
	for _, t := range p.Spec.PasskeyTypes {
		spec.PasskeyTypes = append(spec.PasskeyTypes, string(t))
	}
	if k := p.Spec.KeyRestrictions; k != nil {
		spec.KeyEnforcement = string(k.Enforcement)
		models, problem := Authenticators(k, catalog)
		spec.AAGUIDs, spec.AuthenticatorsProblem = AAGUIDs(models), problem
	}
	return spec
}

// AssignmentSpec is what the GroupAssignment declares, with its group
// resolved to groupID (empty while unknown).
func AssignmentSpec(a *passkeysv1alpha1.GroupAssignment, groupID string, tenant *passkeysv1alpha1.EntraTenant) policy.AssignmentSpec {
	return policy.AssignmentSpec{
		Ref:                  RefOf(a),
		CreatedAt:            a.CreationTimestamp.Time,
		GroupID:              groupID,
		Profiles:             a.Spec.Profiles,
		RegistrationRequired: a.Spec.RegistrationRequired,
		Exclude:              a.Spec.Mode == passkeysv1alpha1.AssignmentExclude,
		Applied:              HeldTargets(a.Status).All(),
		Lifecycle:            lifecycle(a, tenant),
	}
}

// HeldTargets are the targets the assignment's status says it holds.
func HeldTargets(s passkeysv1alpha1.GroupAssignmentStatus) policy.HeldTargets {
	h := policy.HeldTargets{}
	if s.AppliedTarget != nil {
		t := AppliedTarget(*s.AppliedTarget)
		h.Applied = &t
	}
	for _, t := range s.PendingTargets {
		h.Pending = append(h.Pending, AppliedTarget(t))
	}
	return h
}

// SetHeldTargets records h in the assignment's status.
func SetHeldTargets(s *passkeysv1alpha1.GroupAssignmentStatus, h policy.HeldTargets) {
	s.AppliedTarget = nil
	if h.Applied != nil {
		t := statusTarget(*h.Applied)
		s.AppliedTarget = &t
	}
	s.PendingTargets = nil
	for _, t := range h.Pending {
		s.PendingTargets = append(s.PendingTargets, statusTarget(t))
	}
}

// AppliedTarget is a target as status records it, in policy's terms.
func AppliedTarget(t passkeysv1alpha1.AppliedTarget) policy.AppliedTarget {
	return policy.AppliedTarget{GroupID: t.GroupID, Exclude: t.Mode == passkeysv1alpha1.AssignmentExclude}
}

func statusTarget(t policy.AppliedTarget) passkeysv1alpha1.AppliedTarget {
	mode := passkeysv1alpha1.AssignmentInclude
	if t.Exclude {
		mode = passkeysv1alpha1.AssignmentExclude
	}
	return passkeysv1alpha1.AppliedTarget{GroupID: t.GroupID, Mode: mode}
}
