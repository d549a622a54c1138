package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// Reasons the controller itself decides, besides the policy package's.
const (
	ReasonSucceeded           = "Succeeded"
	ReasonApplied             = "Applied"
	ReasonDriftDetected       = "DriftDetected"
	ReasonSuspended           = "Suspended"
	ReasonNamespaceNotAllowed = "NamespaceNotAllowed"
	ReasonGroupNotFound       = "GroupNotFound"
	ReasonGroupAmbiguous      = "GroupNameAmbiguous"
	ReasonTenantNotFound      = "TenantNotFound"
	ReasonCredentialsInvalid  = "CredentialsInvalid"
	ReasonGraphUnavailable    = "GraphUnavailable"
	ReasonThrottled           = "Throttled"
	ReasonForbidden           = "Forbidden"
	ReasonRefusedByEntra      = "RefusedByEntra"
	ReasonNotPersisted        = "NotPersisted"
	ReasonInUse               = "InUse"
)

// resources are one tenant's PasskeyProfiles and GroupAssignments.
type resources struct {
	profiles    []*passkeysv1alpha1.PasskeyProfile
	assignments []*passkeysv1alpha1.GroupAssignment
}

func (r *TenantReconciler) loadResources(ctx context.Context, tenant string) (resources, error) {
	var profiles passkeysv1alpha1.PasskeyProfileList
	if err := r.List(ctx, &profiles, client.MatchingFields{tenantRefIndex: tenant}); err != nil {
		return resources{}, fmt.Errorf("listing PasskeyProfiles of tenant %s: %w", tenant, err)
	}
	var assignments passkeysv1alpha1.GroupAssignmentList
	if err := r.List(ctx, &assignments, client.MatchingFields{tenantRefIndex: tenant}); err != nil {
		return resources{}, fmt.Errorf("listing GroupAssignments of tenant %s: %w", tenant, err)
	}
	var res resources
	for i := range profiles.Items {
		res.profiles = append(res.profiles, &profiles.Items[i])
	}
	for i := range assignments.Items {
		res.assignments = append(res.assignments, &assignments.Items[i])
	}
	return res, nil
}

// allowedNamespaces returns which of the resources' namespaces the tenant's
// allowedNamespaces selector admits.
func (r *TenantReconciler) allowedNamespaces(ctx context.Context, tenant *passkeysv1alpha1.EntraTenant, res resources) (map[string]bool, error) {
	allowed := map[string]bool{}
	namespaces := map[string]bool{}
	for _, p := range res.profiles {
		namespaces[p.Namespace] = true
	}
	for _, a := range res.assignments {
		namespaces[a.Namespace] = true
	}
	if tenant.Spec.AllowedNamespaces == nil {
		for ns := range namespaces {
			allowed[ns] = true
		}
		return allowed, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(tenant.Spec.AllowedNamespaces)
	if err != nil {
		return nil, fmt.Errorf("spec.allowedNamespaces: %w", err)
	}
	for ns := range namespaces {
		var namespace corev1.Namespace
		if err := r.Get(ctx, client.ObjectKey{Name: ns}, &namespace); err != nil {
			if client.IgnoreNotFound(err) == nil {
				continue
			}
			return nil, fmt.Errorf("reading namespace %s: %w", ns, err)
		}
		allowed[ns] = selector.Matches(labels.Set(namespace.Labels))
	}
	return allowed, nil
}

func refOf(o client.Object, kind string) policy.Ref {
	return policy.Ref{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()}
}

// enforce resolves a resource's driftPolicy against the tenant's default.
func enforce(own passkeysv1alpha1.DriftPolicy, tenant *passkeysv1alpha1.EntraTenant) bool {
	if own == "" {
		own = tenant.Spec.DriftPolicy
	}
	return own != passkeysv1alpha1.DriftPolicyReport
}

func lifecycle(o client.Object, drift passkeysv1alpha1.DriftPolicy, deletion passkeysv1alpha1.DeletionPolicy, suspend bool, tenant *passkeysv1alpha1.EntraTenant) policy.Lifecycle {
	return policy.Lifecycle{
		Enforce:   enforce(drift, tenant),
		Suspended: suspend,
		Deleting:  !o.GetDeletionTimestamp().IsZero(),
		Orphan:    deletion == passkeysv1alpha1.DeletionPolicyOrphan,
	}
}

func tenantSpec(tenant *passkeysv1alpha1.EntraTenant) policy.TenantSpec {
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

func profileSpec(p *passkeysv1alpha1.PasskeyProfile, tenant *passkeysv1alpha1.EntraTenant) policy.ProfileSpec {
	spec := policy.ProfileSpec{
		Ref:          refOf(p, policy.KindProfile),
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

func assignmentSpec(a *passkeysv1alpha1.GroupAssignment, groupID string, tenant *passkeysv1alpha1.EntraTenant) policy.AssignmentSpec {
	return policy.AssignmentSpec{
		Ref:                  refOf(a, policy.KindAssignment),
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
