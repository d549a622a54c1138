package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	ctrl "sigs.k8s.io/controller-runtime"

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
// controller-runtime's exponential backoff; one a person must fix never
// loops.
func TestFailureResult(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		reason  string
		stalled bool
		// requeue is the wait asked for; backoff: the error is returned.
		requeue time.Duration
		backoff bool
	}{
		{"429 with Retry-After", graphError(http.StatusTooManyRequests, "7"), ReasonThrottled, false, 7 * time.Second, false},
		{"429 without Retry-After waits a second", graphError(http.StatusTooManyRequests, ""), ReasonThrottled, false, time.Second, false},
		{"503 with Retry-After", graphError(http.StatusServiceUnavailable, "3"), ReasonGraphUnavailable, false, 3 * time.Second, false},
		{"500 backs off", graphError(http.StatusInternalServerError, ""), ReasonGraphUnavailable, false, 0, true},
		{"a timeout backs off", context.DeadlineExceeded, ReasonGraphUnavailable, false, 0, true},
		{"403 stalls", graphError(http.StatusForbidden, ""), ReasonForbidden, true, 0, false},
		{"401 stalls", graphError(http.StatusUnauthorized, ""), ReasonCredentialsInvalid, true, 0, false},
		{"a refused document stalls", graphError(http.StatusBadRequest, ""), ReasonRefusedByEntra, true, 0, false},
		{"a missing Secret stalls", &credentialsError{err: errors.New("no key")}, ReasonCredentialsInvalid, true, 0, false},
		{"a config the client cannot use stalls", fmt.Errorf("tenant: %w", entra.ErrInvalidConfig), ReasonCredentialsInvalid, true, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := classify(tc.err)
			if f.reason != tc.reason || f.stalled != tc.stalled {
				t.Errorf("classify = %s (stalled %v), want %s (stalled %v)", f.reason, f.stalled, tc.reason, tc.stalled)
			}
			result, err := failureResult(tc.err)
			if result != (ctrl.Result{RequeueAfter: tc.requeue}) {
				t.Errorf("result = %+v, want RequeueAfter %s", result, tc.requeue)
			}
			if (err != nil) != tc.backoff {
				t.Errorf("error returned = %v, want backoff %v", err, tc.backoff)
			}
		})
	}
}
