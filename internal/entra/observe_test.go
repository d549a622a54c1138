package entra_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// attemptRecorder is an Observer that keeps what it is told.
type attemptRecorder struct {
	mu       sync.Mutex
	attempts []entra.Attempt
}

func (r *attemptRecorder) observe(a entra.Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
}

// take returns the attempts so far, without durations, and forgets them.
func (r *attemptRecorder) take(t *testing.T) []entra.Attempt {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.attempts
	r.attempts = nil
	for i := range out {
		if out[i].Duration <= 0 {
			t.Errorf("attempt %d: duration %v", i, out[i].Duration)
		}
		out[i].Duration = 0
	}
	return out
}

func TestObserverSeesEveryAttempt(t *testing.T) {
	env := newEnv(t)
	rec := &attemptRecorder{}
	opts := env.options()
	opts.Observer = rec.observe
	c, err := entra.NewClient(env.config(rwApp), opts)
	if err != nil {
		t.Fatal(err)
	}

	// Every second Graph request is throttled; the SDK waits Retry-After
	// and resends. Token requests are not Graph requests.
	setFault(t, env, emulator.Fault{ThrottleEvery: 2, RetryAfterSeconds: 1})
	for range 2 {
		if _, err := c.GetFido2(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.PatchFido2(ctx(t), &entra.Fido2Configuration{State: ptr(entra.MethodStateEnabled)}); err != nil {
		t.Fatal(err)
	}
	want := []entra.Attempt{
		{Tenant: tenantName, Operation: entra.OpGetFido2, StatusCode: http.StatusOK},
		{Tenant: tenantName, Operation: entra.OpGetFido2, StatusCode: http.StatusTooManyRequests, RetryAfter: time.Second},
		{Tenant: tenantName, Operation: entra.OpGetFido2, StatusCode: http.StatusOK},
		{Tenant: tenantName, Operation: entra.OpPatchFido2, StatusCode: http.StatusTooManyRequests, RetryAfter: time.Second},
		{Tenant: tenantName, Operation: entra.OpPatchFido2, StatusCode: http.StatusNoContent},
	}
	if got := rec.take(t); !slices.Equal(got, want) {
		t.Errorf("attempts:\n got %+v\nwant %+v", got, want)
	}

	// A dropped connection is an attempt without a status.
	setFault(t, env, emulator.Fault{DropEvery: 1})
	if _, err := c.GetFido2(ctx(t)); err == nil {
		t.Fatal("GetFido2() through a dropped connection succeeded")
	}
	got := rec.take(t)
	if len(got) != 1 || got[0] != (entra.Attempt{Tenant: tenantName, Operation: entra.OpGetFido2}) {
		t.Errorf("attempts for a dropped connection: %+v", got)
	}
}
