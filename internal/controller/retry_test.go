package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// graphError is an error as the Graph SDK returns it once its own retries
// are spent.
func graphError(status int, retryAfter string) error {
	e := abstractions.NewApiError()
	e.ResponseStatusCode = status
	if retryAfter != "" {
		e.ResponseHeaders.Add("Retry-After", retryAfter)
	}
	return fmt.Errorf("reading the fido2 policy: %w", e)
}

// TestFailureResult: how a failed pass is retried, and what its conditions
// say. Only a transient failure without Retry-After goes back to
// controller-runtime's exponential backoff; one a person must fix is tried
// again after a wait that doubles with each failure in a row, up to the
// tenant's resync interval, since the fix often happens in Entra.
func TestFailureResult(t *testing.T) {
	const resync = 10 * time.Minute
	for _, tc := range []struct {
		name    string
		err     error
		reason  string
		stalled bool
		// failedBefore is the tenant's failed passes in a row before this one.
		failedBefore int
		// requeue is the wait asked for; backoff: the error is returned.
		requeue time.Duration
		backoff bool
	}{
		{"429 with Retry-After", graphError(http.StatusTooManyRequests, "7"), ReasonThrottled, false, 0, 7 * time.Second, false},
		{"429 without Retry-After waits a second", graphError(http.StatusTooManyRequests, ""), ReasonThrottled, false, 0, time.Second, false},
		{"429 after failures still waits Retry-After", graphError(http.StatusTooManyRequests, "7"), ReasonThrottled, false, 5, 7 * time.Second, false},
		{"503 with Retry-After", graphError(http.StatusServiceUnavailable, "3"), ReasonGraphUnavailable, false, 0, 3 * time.Second, false},
		{"500 backs off", graphError(http.StatusInternalServerError, ""), ReasonGraphUnavailable, false, 0, 0, true},
		{"a timeout backs off", context.DeadlineExceeded, ReasonGraphUnavailable, false, 0, 0, true},
		{"403 stalls and is retried soon", graphError(http.StatusForbidden, ""), ReasonForbidden, true, 0, 30 * time.Second, false},
		{"403 again waits twice as long", graphError(http.StatusForbidden, ""), ReasonForbidden, true, 1, time.Minute, false},
		{"403 for long waits the resync interval", graphError(http.StatusForbidden, ""), ReasonForbidden, true, 20, resync, false},
		{"401 stalls and is retried", graphError(http.StatusUnauthorized, ""), ReasonCredentialsInvalid, true, 2, 2 * time.Minute, false},
		{"a refused document stalls and is retried", graphError(http.StatusBadRequest, ""), ReasonRefusedByEntra, true, 3, 4 * time.Minute, false},
		{"a missing Secret stalls and is retried", &credentialsError{err: errors.New("no key")}, ReasonCredentialsInvalid, true, 4, 8 * time.Minute, false},
		{"a config the client cannot use stalls and is retried", fmt.Errorf("tenant: %w", entra.ErrInvalidConfig), ReasonCredentialsInvalid, true, 5, resync, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := classify(tc.err)
			if f.reason != tc.reason || f.stalled != tc.stalled {
				t.Errorf("classify = %s (stalled %v), want %s (stalled %v)", f.reason, f.stalled, tc.reason, tc.stalled)
			}
			result, err := failureResult(tc.err, tc.failedBefore, resync)
			if result != (ctrl.Result{RequeueAfter: tc.requeue}) {
				t.Errorf("result = %+v, want RequeueAfter %s", result, tc.requeue)
			}
			if (err != nil) != tc.backoff {
				t.Errorf("error returned = %v, want backoff %v", err, tc.backoff)
			}
		})
	}
}

// TestStalledRetry: the wait before retrying a failure a person must fix,
// for a tenant's resync interval and the failures in a row so far.
func TestStalledRetry(t *testing.T) {
	for _, tc := range []struct {
		resync       time.Duration
		failedBefore int
		want         time.Duration
	}{
		{30 * time.Second, 0, 30 * time.Second},
		{30 * time.Second, 3, 30 * time.Second},
		{45 * time.Second, 0, 30 * time.Second},
		{45 * time.Second, 1, 45 * time.Second},
		{10 * time.Minute, 0, 30 * time.Second},
		{10 * time.Minute, 4, 8 * time.Minute},
		{10 * time.Minute, 5, 10 * time.Minute},
		{24 * time.Hour, 11, 17*time.Hour + 4*time.Minute},
		{24 * time.Hour, 12, 24 * time.Hour},
		// Never doubled past the interval, so no count overflows it.
		{24 * time.Hour, 1 << 40, 24 * time.Hour},
		// Shorter than the API allows: the interval still caps the wait.
		{10 * time.Second, 0, 10 * time.Second},
	} {
		if got := stalledRetry(tc.failedBefore, tc.resync); got != tc.want {
			t.Errorf("stalledRetry(%d, %s) = %s, want %s", tc.failedBefore, tc.resync, got, tc.want)
		}
	}
}

// TestFailureCounts: failed passes in a row count up; any other pass, or
// the tenant's end, starts the count again.
func TestFailureCounts(t *testing.T) {
	var c failureCounts
	tenant := &passkeysv1alpha1.EntraTenant{ObjectMeta: metav1.ObjectMeta{Name: "contoso"}}
	failed := &pass{tenant: tenant, err: errors.New("403")}
	for want := range 3 {
		if got := c.before("contoso"); got != want {
			t.Fatalf("before = %d, want %d", got, want)
		}
		c.recordPass(failed)
	}
	c.recordPass(&pass{tenant: tenant})
	if got := c.before("contoso"); got != 0 {
		t.Errorf("after a successful pass: before = %d, want 0", got)
	}
	c.recordPass(failed)
	c.forget("contoso")
	if got := c.before("contoso"); got != 0 {
		t.Errorf("after the tenant is gone: before = %d, want 0", got)
	}
}

// TestRetryBackoffIsCapped: a tenant that failed many times in a row (Graph
// down for a while) is tried again within MaxRetryDelay once it is back,
// not after controller-runtime's default of up to 1000 s.
func TestRetryBackoffIsCapped(t *testing.T) {
	limiter := retryRateLimiter()
	req := reconcile.Request{NamespacedName: types.NamespacedName{Name: "contoso"}}
	var last time.Duration
	for range 40 {
		last = limiter.When(req)
	}
	if last != MaxRetryDelay {
		t.Errorf("after 40 failures the next retry waits %s, want %s", last, MaxRetryDelay)
	}
	limiter.Forget(req)
	if first := limiter.When(req); first > time.Second {
		t.Errorf("after a success the first retry waits %s, want the short one again", first)
	}
}
