package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// Graph is what a pass needs from a tenant's Graph client.
type Graph interface {
	GetFido2(ctx context.Context) (*entra.Fido2Configuration, error)
	PatchFido2(ctx context.Context, cfg *entra.Fido2Configuration) error
	GroupsByDisplayName(ctx context.Context, name string) ([]entra.Group, error)
}

// TenantReconciler reconciles one EntraTenant and every PasskeyProfile and
// GroupAssignment that names it, in one pass: one GET of the fido2 policy,
// then, when Entra differs, one merged PATCH and its read-back, and a
// second pair only when new profiles need Entra's ids before targets can
// name them (DESIGN.md §3).
type TenantReconciler struct {
	client.Client
	// APIReader reads Secrets straight from the API server, since the cache
	// holds only their metadata, and confirms that a tenant the cache lacks
	// is gone rather than another shard's.
	APIReader client.Reader
	// Connect returns the Graph client for a tenant, given its credential
	// Secret's value (nil for credentials that use none).
	Connect func(ctx context.Context, tenant *passkeysv1alpha1.EntraTenant, secret []byte) (Graph, error)
	// Disconnect, if set, drops a tenant's Graph client and the access token
	// it holds, so that the next Connect signs in again: with
	// ConnectWith(clients), clients.Forget.
	Disconnect func(tenant string)
	Events     events.EventRecorder
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// BurstWindow and BurstQuiet shape how changes to profiles and
	// assignments are folded into passes (see coalescer);
	// DefaultBurstWindow and DefaultBurstQuiet when 0.
	BurstWindow, BurstQuiet time.Duration
	// Metrics, if set, records each pass's outcome (see metrics.go).
	Metrics *Metrics
	// Authenticators, if set, is the authenticator catalog that names
	// resolve in and names are shown from; without it a profile that
	// selects authenticators by name is not applied.
	Authenticators AuthenticatorCatalog

	groups    groupCache
	coalescer *coalescer
	failures  failureCounts
	ledger    ledger
	// reports are the latest registration reports, which the
	// RegistrationReporter reads and passes write to status; passRequests
	// is how it asks for those passes (see requestPass).
	reports      registrationReports
	passRequests chan event.GenericEvent
}

// Reconcile runs one pass for a tenant, in a fixed order of early returns:
// gone or another shard's → suspended → credentials → read → decide →
// write. Whatever happens, the deferred writer records the outcome in every
// status and the metrics, and its error is returned with the pass's.
func (r *TenantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	r.coalescer.started(req)
	defer r.coalescer.finished(req)
	tenant := &passkeysv1alpha1.EntraTenant{}
	if err := r.Get(ctx, req.NamespacedName, tenant); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("reading EntraTenant %s: %w", req.Name, err)
		}
		return ctrl.Result{}, r.tenantNotCached(ctx, req.Name)
	}
	res, err := r.loadResources(ctx, tenant.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.ledger.overlay(tenant.Name, res)
	if err := r.addFinalizers(ctx, res); err != nil {
		return ctrl.Result{}, err
	}

	p := r.newPass(tenant, res)
	defer func() {
		err = errors.Join(err, p.writeStatuses(ctx))
		r.Metrics.recordPass(p)
		r.failures.recordPass(p)
	}()

	if tenant.Spec.Suspend {
		p.suspended = true
		return ctrl.Result{}, nil
	}
	graph, err := r.connect(ctx, tenant)
	if err != nil {
		return p.failAll(err)
	}
	allowed, err := r.allowedNamespaces(ctx, tenant, res)
	if err != nil {
		return p.failAll(err)
	}
	// Everything that may wait on Graph (group lookups) comes before the
	// GET: Graph has no ETag here, so a portal edit landing between the GET
	// and the PATCH is overwritten, and that window is kept to the decision
	// alone (docs/reliability.md).
	declared, err := p.declare(ctx, r.groupsOf(tenant, graph), allowed)
	if err != nil {
		return p.failAll(err)
	}
	observed, err := graph.GetFido2(ctx)
	if err != nil {
		return p.failAll(err)
	}
	if err := p.decide(ctx, declared, entra.ToPolicy(observed)); err != nil {
		return p.failAll(err)
	}
	if err := p.write(ctx, graph); err != nil {
		return p.failAll(err)
	}
	if err := p.releaseDeleted(ctx); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.resyncAfter(tenant)}, nil
}

// resyncAfter is the resync interval plus up to 10% jitter, so tenants
// created together do not poll Graph in lockstep.
func (r *TenantReconciler) resyncAfter(tenant *passkeysv1alpha1.EntraTenant) time.Duration {
	interval := tenant.GetResyncInterval()
	return interval + time.Duration(rand.Int64N(int64(interval/10)+1))
}

func (r *TenantReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// addFinalizers makes sure no resource can vanish before the pass has
// removed (or orphaned) its slice in Entra.
func (r *TenantReconciler) addFinalizers(ctx context.Context, res resources) error {
	for _, o := range res.objects() {
		if !o.GetDeletionTimestamp().IsZero() || controllerutil.ContainsFinalizer(o, finalizer) {
			continue
		}
		patch := client.MergeFromWithOptions(o.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(o, finalizer)
		if err := r.Patch(ctx, o, patch); err != nil {
			return fmt.Errorf("adding finalizer to %s/%s: %w", o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// tenantNotCached handles a tenant the informer cache does not hold. A
// manager started with --watch-label-selector caches only its shard's
// tenants, yet every shard caches every profile and assignment and queues
// their tenant, so a miss does not mean the tenant is gone. Only when the
// API server confirms it are its resources stalled and their finalizers
// released; a tenant that exists belongs to another shard (or its event has
// yet to reach this cache, and brings a pass when it does), and its
// resources are left to that shard. What this manager kept about it goes:
// after a hand-over its metrics would go stale here, next to the new
// owner's, and its access token would stay in memory for nothing.
func (r *TenantReconciler) tenantNotCached(ctx context.Context, name string) error {
	exists, err := r.tenantExists(ctx, name)
	if err != nil {
		return err
	}
	if !exists {
		return r.tenantGone(ctx, name)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("EntraTenant is not this manager's (see --watch-label-selector); leaving it to its shard")
	r.forget(name)
	return nil
}

// forget drops what this manager keeps about a tenant it no longer
// reconciles, deleted or another shard's: its metrics series, its Graph
// client and access token, its count of failed passes, the ownership it
// wrote last.
func (r *TenantReconciler) forget(name string) {
	r.Metrics.forgetTenant(name)
	r.disconnect(name)
	r.failures.forget(name)
	r.ledger.forget(name)
}

// tenantExists asks the API server, not the cache, whether the tenant exists.
func (r *TenantReconciler) tenantExists(ctx context.Context, name string) (bool, error) {
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, &passkeysv1alpha1.EntraTenant{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading EntraTenant %s from the API server: %w", name, err)
	}
	return true, nil
}

// tenantGone handles resources whose EntraTenant does not exist: nothing
// can be written, so they are Stalled, and deleting them is not blocked.
func (r *TenantReconciler) tenantGone(ctx context.Context, name string) error {
	r.forget(name)
	res, err := r.loadResources(ctx, name)
	if err != nil {
		return err
	}
	for _, o := range res.objects() {
		if !o.GetDeletionTimestamp().IsZero() {
			if err := r.removeFinalizer(ctx, o); err != nil {
				return err
			}
			continue
		}
		before := o.DeepCopyObject().(passkeysv1alpha1.Object)
		stall(o.SyncStatus(), o.GetGeneration(), ReasonTenantNotFound, fmt.Sprintf("EntraTenant %q does not exist; create it or fix spec.tenantRef", name))
		if err := r.patchStatus(ctx, o, before, false); err != nil {
			return err
		}
	}
	return nil
}

func (r *TenantReconciler) removeFinalizer(ctx context.Context, o client.Object) error {
	if !controllerutil.ContainsFinalizer(o, finalizer) {
		return nil
	}
	patch := client.MergeFrom(o.DeepCopyObject().(client.Object))
	controllerutil.RemoveFinalizer(o, finalizer)
	if err := r.Patch(ctx, o, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing finalizer from %s/%s: %w", o.GetNamespace(), o.GetName(), err)
	}
	return nil
}
