package entra

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Operations, as Attempt.Operation names them: one per Client method.
const (
	OpGetFido2            = "GetFido2"
	OpPatchFido2          = "PatchFido2"
	OpGroupByID           = "GroupByID"
	OpGroupsByDisplayName = "GroupsByDisplayName"
	OpUser                = "User"
	OpUserGroups          = "UserGroups"
	OpGroupUserIDs        = "GroupUserIDs"
	OpRegistrationDetails = "RegistrationDetails"
)

// Attempt is one HTTP exchange with Graph. A Client method makes one or
// more: the SDK resends a request answered 429, 503 or 504 (up to three
// times, waiting Retry-After).
type Attempt struct {
	// Tenant is TenantConfig.Name (the tenant ID if Name is empty).
	Tenant string
	// Operation is one of the Op constants.
	Operation string
	// StatusCode is the response's status, 0 when none arrived (a dropped
	// connection, a timeout, a refused connection).
	StatusCode int
	// Duration is the time until the response headers arrived (or the
	// attempt failed).
	Duration time.Duration
	// RetryAfter is the response's Retry-After, 0 when absent. On a 429 or
	// 503 it is how long the SDK waits before the next attempt, so its sum
	// is the time spent waiting out throttling.
	RetryAfter time.Duration
}

// Observer is told about every Graph attempt, synchronously, from the
// goroutine making the request and possibly from many at once: it must be
// quick and safe for concurrent use (a Prometheus counter is both). Token
// requests to Entra are not Graph attempts and are not observed.
type Observer func(Attempt)

type operationKey struct{}

// withOperation labels the requests made with ctx for the Observer.
func withOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// observingTransport reports each round trip to an Observer. It sits below
// the SDK's middleware (as the parent transport of its pipeline), so every
// retry the SDK makes passes through it.
type observingTransport struct {
	base    http.RoundTripper
	tenant  string
	observe Observer
}

func (t *observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	op, _ := req.Context().Value(operationKey{}).(string)
	a := Attempt{Tenant: t.tenant, Operation: op, Duration: time.Since(start)}
	if err == nil {
		a.StatusCode = resp.StatusCode
		a.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	}
	t.observe(a)
	return resp, err
}

// parseRetryAfter reads a Retry-After header: delay seconds (what Graph
// sends) or an HTTP date. Anything else, or a time in the past, is 0.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t).Round(time.Second), 0)
	}
	return 0
}
