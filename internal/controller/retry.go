package controller

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// MaxRetryDelay caps controller-runtime's backoff for a tenant whose pass
// returned an error (Graph unavailable, a status write the API server
// refused): its default grows to 1000 s, so a tenant that failed a few
// times while Graph or the API server was down would wait a quarter of an
// hour after they came back, far past its resync interval.
const MaxRetryDelay = passkeysv1alpha1.MinResyncInterval

// retryRateLimiter is controller-runtime's default rate limiter with the
// per-tenant backoff capped at MaxRetryDelay.
func retryRateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, MaxRetryDelay),
		// Overall, not per tenant: 10 retries a second, bursts of 100.
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// firstStalledRetry is how long a failure only a person can fix waits for
// its first retry: the shortest resync interval a tenant may have, so that a
// fix made right after the failure shows soon, yet nothing polls Graph more
// often than a tenant could be told to.
const firstStalledRetry = passkeysv1alpha1.MinResyncInterval

// failureResult decides how a failed pass is retried: throttling waits for
// Retry-After, a transient failure returns the error so controller-runtime
// backs off exponentially, and a failure only a person can fix (credentials,
// permissions, a refused document) is tried again after stalledRetry: the
// fix is often made in Entra (consent granted, a secret registered), where
// no Kubernetes event announces it. failedBefore counts the tenant's
// consecutive failed passes before this one; resync is its resync interval.
func failureResult(err error, failedBefore int, resync time.Duration) (ctrl.Result, error) {
	class := classify(err)
	switch class.reason {
	case ReasonThrottled:
		return ctrl.Result{RequeueAfter: max(class.retryAfter, time.Second)}, nil
	case ReasonGraphUnavailable:
		if class.retryAfter > 0 {
			return ctrl.Result{RequeueAfter: class.retryAfter}, nil
		}
		return ctrl.Result{}, err
	default:
		return ctrl.Result{RequeueAfter: stalledRetry(failedBefore, resync)}, nil
	}
}

// stalledRetry is firstStalledRetry after a first failure, twice as long
// after each further one, and never longer than the resync interval: a
// failure that lasts costs one attempt per interval, as a healthy tenant
// does, and a fix is seen within one interval at worst.
func stalledRetry(failedBefore int, resync time.Duration) time.Duration {
	wait := firstStalledRetry
	for range failedBefore {
		if wait >= resync {
			break
		}
		wait *= 2
	}
	return min(wait, resync)
}

// failureCounts counts each tenant's consecutive failed passes, for
// stalledRetry. It lives in memory only: after a restart a failing tenant
// starts again from the first, short, retry, which costs one attempt.
type failureCounts struct {
	mu       sync.Mutex
	byTenant map[string]int
}

// before is the number of consecutive failed passes of the tenant so far.
func (c *failureCounts) before(tenant string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byTenant[tenant]
}

// recordPass counts a failed pass, and ends the count on any other: a
// successful pass, or one of a suspended tenant.
func (c *failureCounts) recordPass(p *pass) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.err == nil {
		delete(c.byTenant, p.tenant.Name)
		return
	}
	if c.byTenant == nil {
		c.byTenant = map[string]int{}
	}
	c.byTenant[p.tenant.Name]++
}

// forget drops the count of a tenant that is gone.
func (c *failureCounts) forget(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byTenant, tenant)
}

// failure is a pass-wide failure as conditions show it.
type failure struct {
	reason     string
	message    string
	stalled    bool
	retryAfter time.Duration
}

func classify(err error) failure {
	if isCredentialsError(err) {
		return failure{reason: ReasonCredentialsInvalid, message: err.Error(), stalled: true}
	}
	switch class := entra.Classify(err); class {
	case entra.ClassThrottled:
		return failure{reason: ReasonThrottled, message: "Graph is throttling requests; retrying after Retry-After: " + err.Error(), retryAfter: entra.RetryAfter(err)}
	case entra.ClassAuth, entra.ClassConfig:
		return failure{reason: ReasonCredentialsInvalid, message: err.Error(), stalled: true}
	case entra.ClassForbidden:
		return failure{reason: ReasonForbidden, message: err.Error(), stalled: true}
	case entra.ClassInvalid, entra.ClassNotFound:
		return failure{reason: ReasonRefusedByEntra, message: err.Error(), stalled: true}
	default:
		return failure{reason: ReasonGraphUnavailable, message: err.Error(), retryAfter: entra.RetryAfter(err)}
	}
}

// credentialsError marks a failure to build the Graph client itself.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return "credentials: " + e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

func isCredentialsError(err error) bool {
	var c *credentialsError
	return errors.As(err, &c)
}
