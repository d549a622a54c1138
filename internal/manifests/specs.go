package manifests

import (
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// The inputs of internal/policy made from the API objects: the operator
// builds its desired policy from them, and passkeyctl diff and validate do
// the same from files, so both read a resource exactly alike.

// RefOf names a resource in the policy's terms.
func RefOf(o client.Object, kind string) policy.Ref {
	return policy.Ref{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()}
}

// Enforced resolves a resource's driftPolicy against the tenant's default.
func Enforced(own passkeysv1alpha1.DriftPolicy, tenant *passkeysv1alpha1.EntraTenant) bool {
	if own == "" {
		own = tenant.Spec.DriftPolicy
	}
	return own != passkeysv1alpha1.DriftPolicyReport
}

func lifecycle(o client.Object, drift passkeysv1alpha1.DriftPolicy, deletion passkeysv1alpha1.DeletionPolicy, suspend bool, tenant *passkeysv1alpha1.EntraTenant) policy.Lifecycle {
	return policy.Lifecycle{
		Enforce:   Enforced(drift, tenant),
		Suspended: suspend,
		Deleting:  !o.GetDeletionTimestamp().IsZero(),
		Orphan:    deletion == passkeysv1alpha1.DeletionPolicyOrphan,
	}
}

// TenantSpec is what the EntraTenant declares for the policy as a whole.
func TenantSpec(tenant *passkeysv1alpha1.EntraTenant) policy.TenantSpec {
	spec := policy.TenantSpec{
		Ref:           policy.Ref{Kind: policy.KindTenant, Name: tenant.Name},
		Authoritative: tenant.Spec.Management == passkeysv1alpha1.ManagementAuthoritative,
		Enforce:       tenant.Spec.DriftPolicy != passkeysv1alpha1.DriftPolicyReport,
	}
	if m := tenant.Spec.Method; m != nil {
		spec.MethodState = strings.ToLower(string(m.State))
		spec.SelfServiceRegistration = m.SelfServiceRegistration
	}
	return spec
}

// ProfileSpec is what the PasskeyProfile declares.
func ProfileSpec(p *passkeysv1alpha1.PasskeyProfile, tenant *passkeysv1alpha1.EntraTenant) policy.ProfileSpec {
	spec := policy.ProfileSpec{
		Ref:          RefOf(p, policy.KindProfile),
		CreatedAt:    p.CreationTimestamp.Time,
		Name:         p.Spec.DisplayName,
		Attestation:  string(p.Spec.Attestation),
		Default:      p.Spec.Default,
		KnownID:      p.Status.ProfileID,
		Lifecycle:    lifecycle(p, p.Spec.DriftPolicy, p.Spec.DeletionPolicy, p.Spec.Suspend, tenant),
		PasskeyTypes: make([]string, 0, len(p.Spec.PasskeyTypes)),
	}
	for _, t := range p.Spec.PasskeyTypes {
		spec.PasskeyTypes = append(spec.PasskeyTypes, string(t))
	}
	if k := p.Spec.KeyRestrictions; k != nil {
		spec.KeyEnforcement = string(k.Enforcement)
		spec.AAGUIDs = k.AAGUIDs
	}
	return spec
}

// AssignmentSpec is what the GroupAssignment declares, with its group
// resolved to groupID (empty while unknown).
func AssignmentSpec(a *passkeysv1alpha1.GroupAssignment, groupID string, tenant *passkeysv1alpha1.EntraTenant) policy.AssignmentSpec {
	return policy.AssignmentSpec{
		Ref:                  RefOf(a, policy.KindAssignment),
		CreatedAt:            a.CreationTimestamp.Time,
		GroupID:              groupID,
		Profiles:             a.Spec.Profiles,
		RegistrationRequired: a.Spec.RegistrationRequired,
		Exclude:              a.Spec.Mode == passkeysv1alpha1.AssignmentExclude,
		Applied:              appliedTarget(a.Status.AppliedTarget),
		Lifecycle:            lifecycle(a, a.Spec.DriftPolicy, a.Spec.DeletionPolicy, a.Spec.Suspend, tenant),
	}
}

func appliedTarget(t *passkeysv1alpha1.AppliedTarget) *policy.AppliedTarget {
	if t == nil {
		return nil
	}
	return &policy.AppliedTarget{GroupID: t.GroupID, Exclude: t.Mode == passkeysv1alpha1.AssignmentExclude}
}
