package controller

import (
	"errors"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// failureResult decides how a failed pass is retried: throttling waits for
// Retry-After, a transient failure returns the error so controller-runtime
// backs off exponentially, and a failure only a person can fix (credentials,
// permissions, a refused document) waits for a change instead of looping.
func failureResult(err error) (ctrl.Result, error) {
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
		return ctrl.Result{}, nil
	}
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
