// Package controller holds the per-tenant reconciler: it joins the pure
// policy package (desired state, diff, merge) to Kubernetes and to Graph.
package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// Field indexes over the informer cache.
const (
	// tenantRefIndex finds a tenant's PasskeyProfiles and GroupAssignments.
	tenantRefIndex = "spec.tenantRef"
	// secretIndex finds the EntraTenants whose credentials a Secret holds,
	// by "namespace/name".
	secretIndex = "spec.credentials.secretRef"
	// namespaceRuleIndex finds the EntraTenants that set
	// spec.allowedNamespaces, under namespaceRuleSet. A namespace event
	// concerns only them, and listing every tenant for each of a cluster's
	// namespaces, as a starting manager sees them all, grows with the
	// product of the two.
	namespaceRuleIndex = "spec.allowedNamespaces"
	namespaceRuleSet   = "set"
)

// finalizer lets the reconciler remove a resource's slice from Entra (or
// deliberately orphan it) before Kubernetes forgets the resource.
const finalizer = "passkeys.entraops.dev/finalizer"

// +kubebuilder:rbac:groups=passkeys.entraops.dev,resources=entratenants;passkeyprofiles;groupassignments,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=passkeys.entraops.dev,resources=entratenants/status;passkeyprofiles/status;groupassignments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=passkeys.entraops.dev,resources=passkeyprofiles/finalizers;groupassignments/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// Leader election needs its Lease, and the core Events it records about
// gaining and losing it, only in the manager's own namespace: a namespaced
// Role, not cluster-wide rights. The install manifests bind it there.
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=passkey-system,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",namespace=passkey-system,resources=events,verbs=create;patch

// SetupWithManager registers the indexes and the watches: every event on a
// tenant's profiles, assignments, credential Secret or namespaces maps to
// one reconcile request for the tenant, so a burst of changes costs one pass.
func (r *TenantReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	indexer := mgr.GetFieldIndexer()
	byTenant := func(o client.Object) []string {
		return []string{o.(passkeysv1alpha1.TenantObject).GetTenantRef()}
	}
	if err := indexer.IndexField(ctx, &passkeysv1alpha1.PasskeyProfile{}, tenantRefIndex, byTenant); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &passkeysv1alpha1.GroupAssignment{}, tenantRefIndex, byTenant); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &passkeysv1alpha1.EntraTenant{}, secretIndex, func(o client.Object) []string {
		ref := o.(*passkeysv1alpha1.EntraTenant).Spec.Credentials.SecretRef
		if ref == nil {
			return nil
		}
		return []string{ref.Namespace + "/" + ref.Name}
	}); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &passkeysv1alpha1.EntraTenant{}, namespaceRuleIndex, func(o client.Object) []string {
		if o.(*passkeysv1alpha1.EntraTenant).Spec.AllowedNamespaces == nil {
			return nil
		}
		return []string{namespaceRuleSet}
	}); err != nil {
		return err
	}

	// Our own status writes change neither generation nor annotations, so
	// they never trigger another pass (and another Graph GET); nor do
	// annotations other tools keep (kubectl's last-applied configuration,
	// Argo CD's tracking id).
	specOrRequest := builder.WithPredicates(specChangedOrRequested)
	if r.Events == nil {
		r.Events = mgr.GetEventRecorder("passkey-operator")
	}
	r.coalescer = r.newCoalescer()
	r.passRequests = make(chan event.GenericEvent, passRequestBuffer)
	if options.RateLimiter == nil {
		options.RateLimiter = retryRateLimiter()
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("entratenant").
		WithOptions(options).
		For(&passkeysv1alpha1.EntraTenant{}, specOrRequest).
		Watches(&passkeysv1alpha1.PasskeyProfile{}, r.coalescer.handler(tenantOfResource), specOrRequest).
		Watches(&passkeysv1alpha1.GroupAssignment{}, r.coalescer.handler(tenantOfResource), specOrRequest).
		// Secrets are watched by metadata only: the cache never holds secret
		// data, and a rotation still changes the resourceVersion.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.tenantsUsingSecret), builder.OnlyMetadata).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.tenantsWithNamespaceRule),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		// A registration report read: a pass writes it to status.
		WatchesRawSource(source.Channel(r.passRequests, &handler.EnqueueRequestForObject{})).
		Complete(r)
}

// passRequestBuffer lets a few report readers hand over their results
// without waiting for the tenant controller to take them.
const passRequestBuffer = 16

// specChangedOrRequested passes a new generation or a new value of the
// force-reconcile annotation.
var specChangedOrRequested = predicate.Or(predicate.GenerationChangedPredicate{}, reconcileRequested)

// reconcileRequested passes an update that changes the force-reconcile
// annotation, passkeys.entraops.dev/requestedAt.
var reconcileRequested = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	key := passkeysv1alpha1.ReconcileRequestAnnotation
	return e.ObjectOld.GetAnnotations()[key] != e.ObjectNew.GetAnnotations()[key]
}}

func (r *TenantReconciler) newCoalescer() *coalescer {
	window, quiet := r.BurstWindow, r.BurstQuiet
	if window <= 0 {
		window = DefaultBurstWindow
	}
	if quiet <= 0 {
		quiet = DefaultBurstQuiet
	}
	return newCoalescer(window, quiet, time.Now)
}

// tenantOfResource maps a PasskeyProfile or GroupAssignment to its tenant.
// Every shard caches every resource, so the tenant may be another shard's:
// Reconcile then leaves it alone (tenantNotCached). The Secret and Namespace
// watches need no such care: they list tenants from this shard's cache.
func tenantOfResource(_ context.Context, o client.Object) []reconcile.Request {
	obj, ok := o.(passkeysv1alpha1.TenantObject)
	if !ok || obj.GetTenantRef() == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: obj.GetTenantRef()}}}
}

func (r *TenantReconciler) tenantsUsingSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var tenants passkeysv1alpha1.EntraTenantList
	if err := r.List(ctx, &tenants, client.MatchingFields{secretIndex: o.GetNamespace() + "/" + o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing tenants that use a Secret", "secret", client.ObjectKeyFromObject(o))
		return nil
	}
	return tenantRequests(tenants.Items)
}

// tenantsWithNamespaceRule requeues the tenants whose allowedNamespaces
// selector a namespace's new labels may now match, or no longer match.
func (r *TenantReconciler) tenantsWithNamespaceRule(ctx context.Context, _ client.Object) []reconcile.Request {
	var tenants passkeysv1alpha1.EntraTenantList
	if err := r.List(ctx, &tenants, client.MatchingFields{namespaceRuleIndex: namespaceRuleSet}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing tenants with a namespace rule")
		return nil
	}
	return tenantRequests(tenants.Items)
}

func tenantRequests(tenants []passkeysv1alpha1.EntraTenant) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(tenants))
	for _, t := range tenants {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: t.Name}})
	}
	return out
}
