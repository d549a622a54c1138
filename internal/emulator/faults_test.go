package emulator

import (
	"net/http"
	"testing"
	"time"
)

func TestFaultEveryNth(t *testing.T) {
	env, token := graphEnv(t, Options{})
	if err := env.emu.SetFault(tenantA, Fault{ThrottleEvery: 3, UnavailableEvery: 4, RetryAfterSeconds: 7}); err != nil {
		t.Fatal(err)
	}
	// Requests 3 and 6 are throttled, 4 is unavailable (503 wins over 429
	// only when both hit; 12 would be both).
	want := []int{200, 200, 429, 503, 200, 429}
	for i, status := range want {
		resp, body := env.do(http.MethodGet, fido2Path, token, "")
		if resp.StatusCode != status {
			t.Fatalf("request %d = %d, want %d", i+1, resp.StatusCode, status)
		}
		switch status {
		case 429:
			expectGraphError(t, resp, body, 429, "TooManyRequests", "Too many requests")
		case 503:
			expectGraphError(t, resp, body, 503, "serviceNotAvailable", "temporarily unavailable")
		}
		if status != 200 && resp.Header.Get("Retry-After") != "7" {
			t.Errorf("request %d: Retry-After = %q, want 7", i+1, resp.Header.Get("Retry-After"))
		}
	}
	stats := env.emu.Stats()
	if stats.Count(tenantA, http.MethodGet, fido2Path, 429) != 2 || stats.Count(tenantA, http.MethodGet, fido2Path, 503) != 1 {
		t.Errorf("stats = %+v", stats)
	}
}

func TestFaultDropAndRatio(t *testing.T) {
	env, token := graphEnv(t, Options{Seed: 42})
	if err := env.emu.SetFault(tenantA, Fault{DropEvery: 1}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, env.URL()+fido2Path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := env.srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request answered %d, want a transport error", resp.StatusCode)
	}
	// net/http retries an idempotent request once when a reused connection
	// closes without a response, so the server may see it twice.
	if n := env.emu.Stats().Count(tenantA, http.MethodGet, fido2Path, 0); n < 1 || n > 2 {
		t.Errorf("stats count %d dropped requests, want 1 or 2", n)
	}

	if err := env.emu.SetFault(tenantA, Fault{ThrottleRatio: 1}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := env.do(http.MethodGet, fido2Path, token, ""); resp.StatusCode != 429 {
		t.Errorf("ratio 1 = %d, want 429", resp.StatusCode)
	}
	if err := env.emu.SetFault(tenantA, Fault{ThrottleRatio: 0.5}); err != nil {
		t.Fatal(err)
	}
	throttled := 0
	for range 40 {
		if resp, _ := env.do(http.MethodGet, fido2Path, token, ""); resp.StatusCode == 429 {
			throttled++
		}
	}
	if throttled == 0 || throttled == 40 {
		t.Errorf("ratio 0.5 throttled %d of 40", throttled)
	}
}

func TestFaultLatency(t *testing.T) {
	env, token := graphEnv(t, Options{DefaultFault: Fault{LatencyMS: 150}})
	start := time.Now()
	if resp, _ := env.do(http.MethodGet, fido2Path, token, ""); resp.StatusCode != 200 {
		t.Fatalf("GET = %d", resp.StatusCode)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered in %v, want at least the 150ms latency", d)
	}
}

func TestFaultsArePerTenantAndSpareTheTokenEndpoint(t *testing.T) {
	// Every tenant starts throttling every request; tenant B is then cleared.
	env := newTestEnv(t, Options{DefaultFault: Fault{ThrottleEvery: 1}})
	env.seed(tenantA, secret, RolePolicyRead)
	env.seed(tenantB, secret, RolePolicyRead)
	if err := env.emu.SetFault(tenantB, Fault{}); err != nil {
		t.Fatal(err)
	}
	tokenA, tokenB := env.token(tenantA, appRW, secret), env.token(tenantB, appRW, secret) // token endpoint not throttled
	if resp, _ := env.do(http.MethodGet, fido2Path, tokenA, ""); resp.StatusCode != 429 {
		t.Errorf("tenant A = %d, want 429", resp.StatusCode)
	}
	if resp, _ := env.do(http.MethodGet, fido2Path, tokenB, ""); resp.StatusCode != 200 {
		t.Errorf("tenant B = %d, want 200", resp.StatusCode)
	}
}

func TestFaultValidation(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret)
	for _, f := range []Fault{{ThrottleRatio: 1.5}, {DropEvery: -1}, {LatencyMS: -5}, {OmitRetryAfter: true, RetryAfterSeconds: 2}} {
		if err := env.emu.SetFault(tenantA, f); err == nil {
			t.Errorf("SetFault(%+v) = nil, want an error", f)
		}
	}
	if err := env.emu.SetFault(tenantB, Fault{}); err == nil {
		t.Error("SetFault(unknown tenant) = nil, want an error")
	}
	if _, err := New(Options{DefaultFault: Fault{UnavailableRatio: -1}, SigningKey: testKey()}); err == nil {
		t.Error("New with an invalid default fault succeeded")
	}
}

func TestFaultWithoutRetryAfter(t *testing.T) {
	env, token := graphEnv(t, Options{})
	// Set through the admin API, as the soak does.
	body := `{"throttleEvery":2,"unavailableEvery":3,"omitRetryAfter":true}`
	if resp, reply := env.do(http.MethodPut, "/_emulator/tenants/"+tenantA+"/fault", "", body); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT fault = %d %s", resp.StatusCode, reply)
	}
	for i, want := range []int{200, 429, 503} {
		resp, _ := env.do(http.MethodGet, fido2Path, token, "")
		if resp.StatusCode != want {
			t.Fatalf("request %d = %d, want %d", i+1, resp.StatusCode, want)
		}
		if _, sent := resp.Header["Retry-After"]; sent {
			t.Errorf("request %d (%d) carries Retry-After %q, want none", i+1, want, resp.Header.Get("Retry-After"))
		}
	}
}
