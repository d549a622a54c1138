package emulator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Fault describes the failures injected into one tenant's Graph requests
// (requests that passed authentication; the token endpoint is not affected).
// "Every" fields fail every Nth request (counting from the tenant's first
// Graph request or its last reset); "Ratio" fields fail that fraction of
// requests at random. When several apply to one request, a dropped
// connection wins over 503, and 503 over 429.
type Fault struct {
	ThrottleEvery int     `json:"throttleEvery,omitempty"`
	ThrottleRatio float64 `json:"throttleRatio,omitempty"`
	// RetryAfterSeconds is sent in Retry-After with 429 and 503; 1 when 0.
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
	// OmitRetryAfter sends 429 and 503 without Retry-After, as Graph
	// sometimes does: the client must then choose its own delay.
	OmitRetryAfter   bool    `json:"omitRetryAfter,omitempty"`
	UnavailableEvery int     `json:"unavailableEvery,omitempty"`
	UnavailableRatio float64 `json:"unavailableRatio,omitempty"`
	DropEvery        int     `json:"dropEvery,omitempty"`
	DropRatio        float64 `json:"dropRatio,omitempty"`
	// LatencyMS delays every Graph response of the tenant.
	LatencyMS int `json:"latencyMs,omitempty"`
}

// Validate reports settings that make no sense.
func (f Fault) Validate() error {
	for _, n := range []int{f.ThrottleEvery, f.UnavailableEvery, f.DropEvery, f.RetryAfterSeconds, f.LatencyMS} {
		if n < 0 {
			return errors.New("fault counts, latency and retry-after must not be negative")
		}
	}
	for _, r := range []float64{f.ThrottleRatio, f.UnavailableRatio, f.DropRatio} {
		if r < 0 || r > 1 {
			return fmt.Errorf("fault ratio %v is outside [0, 1]", r)
		}
	}
	if f.OmitRetryAfter && f.RetryAfterSeconds > 0 {
		return errors.New("omitRetryAfter and retryAfterSeconds exclude each other")
	}
	return nil
}

type faultAction int

const (
	faultNone faultAction = iota
	faultThrottle
	faultUnavailable
	faultDrop
)

// decide picks the action for the tenant's nth Graph request.
func (f Fault) decide(n uint64, rng *rand.Rand) faultAction {
	hit := func(every int, ratio float64) bool {
		if every > 0 && n%uint64(every) == 0 {
			return true
		}
		return ratio > 0 && rng.Float64() < ratio
	}
	switch {
	case hit(f.DropEvery, f.DropRatio):
		return faultDrop
	case hit(f.UnavailableEvery, f.UnavailableRatio):
		return faultUnavailable
	case hit(f.ThrottleEvery, f.ThrottleRatio):
		return faultThrottle
	}
	return faultNone
}

// setRetryAfter gives a 429 or 503 its Retry-After, unless told not to.
func (f Fault) setRetryAfter(w http.ResponseWriter) {
	if f.OmitRetryAfter {
		return
	}
	seconds := f.RetryAfterSeconds
	if seconds <= 0 {
		seconds = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
}

// SetFault replaces a tenant's fault settings and restarts its request
// count, so "every Nth" counts from now.
func (e *Emulator) SetFault(tenantID string, f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	return e.withTenant(tenantID, func(tn *tenant) error {
		tn.fault = f
		tn.graphCount = 0
		return nil
	})
}

// injectFault applies the tenant's fault settings to a Graph request. It
// returns true when it answered (or dropped) the request itself.
func (e *Emulator) injectFault(w http.ResponseWriter, r *http.Request, tenantID string) bool {
	var f Fault
	var action faultAction
	if err := e.withTenant(tenantID, func(tn *tenant) error {
		tn.graphCount++
		f = tn.fault
		action = f.decide(tn.graphCount, e.rng)
		return nil
	}); err != nil {
		return false // the tenant was authenticated a moment ago; let the handler report it
	}
	if f.LatencyMS > 0 && !sleep(r.Context(), time.Duration(f.LatencyMS)*time.Millisecond) {
		return true // the client went away
	}
	switch action {
	case faultDrop:
		// Aborting the handler closes the connection (HTTP/1.1) or resets
		// the stream (HTTP/2) without a response, like a network failure.
		panic(http.ErrAbortHandler)
	case faultUnavailable:
		f.setRetryAfter(w)
		writeGraphError(w, e.now(), &graphError{Status: http.StatusServiceUnavailable, Code: "serviceNotAvailable",
			Message: "The service is temporarily unavailable. Try the request again after a delay."})
		return true
	case faultThrottle:
		f.setRetryAfter(w)
		writeGraphError(w, e.now(), &graphError{Status: http.StatusTooManyRequests, Code: "TooManyRequests",
			Message: "Too many requests. Please try again later."})
		return true
	}
	return false
}

// sleep waits for d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
