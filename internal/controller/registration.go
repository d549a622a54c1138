package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// DefaultReportConcurrency is how many tenants' registration reports are
// read at once unless the options say otherwise: a report walks every user
// of a tenant, and reading many at once would only compete for Graph and
// memory with the policy passes.
const DefaultReportConcurrency = 2

// RegistrationReporter reads the passkey registration report of each
// tenant that asks for it (spec.reporting.registration), every interval, in
// a controller of its own: a report of 100,000 users takes a hundred Graph
// requests, and must never hold up, or fail, a policy pass. It writes no
// status: a second writer of the EntraTenant's conditions would race the
// tenant pass, whose merge patch replaces the whole list. It keeps each
// result in the tenant reconciler and asks it for a pass, which writes the
// counts and the Reporting condition with everything else (docs/reporting.md).
type RegistrationReporter struct {
	// Tenants is the tenant reconciler, set up with the manager first: the
	// reporter reads the cache through it, connects as it does (the same
	// Secret, Graph clients and access tokens), and hands it the results.
	Tenants *TenantReconciler
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

// registrationGraph is what the report needs from a tenant's Graph client;
// *entra.Client has it. The tenant pass's Graph does not need it.
type registrationGraph interface {
	RegistrationDetails(ctx context.Context, each func(entra.RegistrationDetail) error) error
	GroupUserIDs(ctx context.Context, groupID string) ([]string, error)
}

// SetupWithManager registers the reporter's controller, named
// registration-report, with its own queue and workers: only tenant
// creations, spec changes, deletions and the force-reconcile annotation
// start it; its own schedule does the rest.
func (r *RegistrationReporter) SetupWithManager(mgr ctrl.Manager, options controller.Options) error {
	if r.Tenants == nil || r.Tenants.passRequests == nil {
		return errors.New("the registration reporter needs a tenant reconciler set up with the manager first")
	}
	if options.MaxConcurrentReconciles <= 0 {
		options.MaxConcurrentReconciles = DefaultReportConcurrency
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("registration-report").
		WithOptions(options).
		For(&passkeysv1alpha1.EntraTenant{}, builder.WithPredicates(specChangedOrRequested)).
		Complete(r)
}

// Reconcile reads a tenant's report when it is due or asked for (a new
// passkeys.entraops.dev/requestedAt value), in a fixed order of early
// returns: gone → reporting off → suspended → not due yet → read.
func (r *RegistrationReporter) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	tenant := &passkeysv1alpha1.EntraTenant{}
	if err := r.Tenants.Get(ctx, req.NamespacedName, tenant); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("reading EntraTenant %s: %w", req.Name, err)
		}
		// Deleted, or another shard's now: the tenant reconciler drops its
		// metrics.
		r.Tenants.reports.forget(req.Name)
		return ctrl.Result{}, nil
	}
	interval, on := tenant.RegistrationReportInterval()
	if !on {
		r.stop(ctx, tenant)
		return ctrl.Result{}, nil
	}
	if tenant.Spec.Suspend {
		// Resuming changes the spec, which brings the reporter back.
		return ctrl.Result{}, nil
	}
	last := r.Tenants.reports.get(tenant.Name)
	wait := nextRead(last, tenant.Status.Registration, interval).Sub(r.now())
	if wait > 0 && !readRequested(tenant, last) {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	groups, err := r.groupsToCount(ctx, tenant)
	if err != nil {
		return ctrl.Result{}, err
	}
	report := r.read(ctx, tenant, groups, last, interval)
	report.request = tenant.Annotations[passkeysv1alpha1.ReconcileRequestAnnotation]
	r.Tenants.reports.set(tenant.Name, report)
	r.Tenants.requestPass(ctx, tenant.Name)
	return ctrl.Result{RequeueAfter: nextRead(report, nil, interval).Sub(r.now())}, nil
}

// stop drops the result of a tenant whose reporting is off, and has its
// counts and Reporting condition removed if its status still shows them.
// Turning reporting off changes the spec, which brings a pass anyway; this
// covers a status written before a restart.
func (r *RegistrationReporter) stop(ctx context.Context, tenant *passkeysv1alpha1.EntraTenant) {
	r.Tenants.reports.forget(tenant.Name)
	if tenant.Status.Registration != nil || meta.FindStatusCondition(tenant.Status.Conditions, passkeysv1alpha1.ConditionReporting) != nil {
		r.Tenants.requestPass(ctx, tenant.Name)
	}
}

// groupsToCount are the groups the tenant's assignments resolved to, each
// once and in order, for assignments from namespaces the tenant admits that
// are not being deleted; all users are counted with the report itself.
func (r *RegistrationReporter) groupsToCount(ctx context.Context, tenant *passkeysv1alpha1.EntraTenant) ([]string, error) {
	res, err := r.Tenants.loadResources(ctx, tenant.Name)
	if err != nil {
		return nil, err
	}
	allowed, err := r.Tenants.allowedNamespaces(ctx, tenant, res)
	if err != nil {
		return nil, err
	}
	groups := map[string]bool{}
	for _, a := range res.assignments {
		id := a.Status.ResolvedGroupID
		if id != "" && id != policy.AllUsers && allowed[a.Namespace] && a.DeletionTimestamp.IsZero() {
			groups[id] = true
		}
	}
	return slices.Sorted(maps.Keys(groups)), nil
}

// read reads the report and the members of groups, and returns what the
// next pass is to show: new counts where the read got them, last's where it
// did not, and the Reporting condition. Nothing here fails the reconcile:
// a failure is the condition, and decides when the next read is due.
func (r *RegistrationReporter) read(ctx context.Context, tenant *passkeysv1alpha1.EntraTenant, groups []string,
	last *registrationReport, interval time.Duration) *registrationReport {
	started := r.now()
	report := &registrationReport{attempted: started}
	if last != nil {
		report.counts, report.failures = last.counts, last.failures
	}
	counts, err := r.count(ctx, tenant, groups, metav1.NewTime(started.Truncate(time.Second)))
	if counts != nil {
		report.counts = carryOver(counts, report.counts, groups)
	}
	condition, needsPerson := reportOutcome(err, report.counts)
	report.condition = condition
	log := ctrl.LoggerFrom(ctx)
	if err == nil {
		report.failures = 0
		log.V(1).Info("read the passkey registration report", "users", counts[policy.AllUsers].Users, "groups", len(groups))
		return report
	}
	r.Tenants.disconnectAfter(tenant.Name, err)
	report.retryIn = reportRetry(err, needsPerson, report.failures, interval)
	report.failures++
	log.Info("could not read the passkey registration report; the policy is not affected",
		"reason", condition.reason, "message", condition.message, "retryIn", report.retryIn)
	return report
}

// count reads the report and counts the tenant's users, then each group's
// members. It returns what it counted before a failure (nil if it did not
// get through the report) and the failure, an *errGroupMembers if it
// happened on a group.
func (r *RegistrationReporter) count(ctx context.Context, tenant *passkeysv1alpha1.EntraTenant, groups []string, readTime metav1.Time) (reportCounts, error) {
	graph, err := r.connect(ctx, tenant)
	if err != nil {
		return nil, err
	}
	// Who has which passkeys is kept only to count groups' members.
	users := newUserPasskeys()
	var all tally
	err = graph.RegistrationDetails(ctx, func(d entra.RegistrationDetail) error {
		p := passkeysOf(d)
		if len(groups) > 0 {
			users.add(d.ID, p)
		}
		all.add(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	counts := reportCounts{policy.AllUsers: all.counts(readTime)}
	for _, id := range groups {
		members, err := graph.GroupUserIDs(ctx, id)
		if err != nil {
			return counts, &errGroupMembers{groupID: id, err: err}
		}
		counts[id] = countMembers(users, members).counts(readTime)
	}
	return counts, nil
}

// carryOver adds to fresh, for each group it lacks, the counts earlier
// read, if any: a group whose members could not be read this time keeps
// its last counts, and their readTime tells how old they are.
func carryOver(fresh, earlier reportCounts, groups []string) reportCounts {
	for _, id := range groups {
		if _, ok := fresh[id]; !ok {
			if counts, ok := earlier[id]; ok {
				fresh[id] = counts
			}
		}
	}
	return fresh
}

// connect returns the tenant's Graph client, the tenant reconciler's own.
func (r *RegistrationReporter) connect(ctx context.Context, tenant *passkeysv1alpha1.EntraTenant) (registrationGraph, error) {
	graph, err := r.Tenants.connect(ctx, tenant)
	if err != nil {
		return nil, err
	}
	reports, ok := graph.(registrationGraph)
	if !ok {
		return nil, fmt.Errorf("the Graph client of tenant %s (%T) cannot read reports", tenant.Name, graph)
	}
	return reports, nil
}

func (r *RegistrationReporter) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// requestPass queues a pass of the tenant in the tenant controller's own
// queue, so that it writes the latest report. A reconciler that was not set
// up with a manager (a test calling Reconcile) has no queue.
func (r *TenantReconciler) requestPass(ctx context.Context, name string) {
	if r.passRequests == nil {
		return
	}
	select {
	case r.passRequests <- event.GenericEvent{Object: &passkeysv1alpha1.EntraTenant{ObjectMeta: metav1.ObjectMeta{Name: name}}}:
	case <-ctx.Done():
	}
}
