package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// resources are one tenant's PasskeyProfiles and GroupAssignments.
type resources struct {
	profiles    []*passkeysv1alpha1.PasskeyProfile
	assignments []*passkeysv1alpha1.GroupAssignment
}

// objects are all of them, profiles first.
func (res resources) objects() []passkeysv1alpha1.TenantObject {
	out := make([]passkeysv1alpha1.TenantObject, 0, len(res.profiles)+len(res.assignments))
	for _, p := range res.profiles {
		out = append(out, p)
	}
	for _, a := range res.assignments {
		out = append(out, a)
	}
	return out
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
	for _, o := range res.objects() {
		namespaces[o.GetNamespace()] = true
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
