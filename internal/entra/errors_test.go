package entra_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abstractions "github.com/microsoft/kiota-abstractions-go"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

const unknownGroup = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"

// TestClassifyGraphResponses classifies what Client methods return for
// real emulator responses, and checks the messages people will read.
func TestClassifyGraphResponses(t *testing.T) {
	const wrongSecret = "wrong-secret-do-not-print"
	read := func(ctx context.Context, _ *testEnv, c *entra.Client) error {
		_, err := c.GetFido2(ctx)
		return err
	}
	tests := []struct {
		name           string
		app            string
		change         func(*testEnv, *entra.TenantConfig) // nil: none
		call           func(context.Context, *testEnv, *entra.Client) error
		want           entra.Class
		wantRetryAfter time.Duration
		wantMsg        []string
	}{
		{
			name: "429 throughout the SDK's retries", app: roApp, call: read,
			change: func(env *testEnv, _ *entra.TenantConfig) {
				setFault(t, env, emulator.Fault{ThrottleEvery: 1, RetryAfterSeconds: 1})
			},
			want: entra.ClassThrottled, wantRetryAfter: time.Second,
			wantMsg: []string{"reading the passkey (FIDO2) policy of tenant acme: Graph answered 429 TooManyRequests: Too many requests. Please try again later. (request-id "},
		},
		{
			name: "503 throughout the SDK's retries", app: roApp, call: read,
			change: func(env *testEnv, _ *entra.TenantConfig) {
				setFault(t, env, emulator.Fault{UnavailableEvery: 1, RetryAfterSeconds: 1})
			},
			want: entra.ClassTransient, wantRetryAfter: time.Second,
			wantMsg: []string{"Graph answered 503 serviceNotAvailable"},
		},
		{
			name: "dropped connection", app: roApp, call: read,
			change: func(env *testEnv, _ *entra.TenantConfig) { setFault(t, env, emulator.Fault{DropEvery: 1}) },
			want:   entra.ClassTransient, wantMsg: []string{"reading the passkey (FIDO2) policy of tenant acme: Get \"https://"},
		},
		{
			name: "Graph slower than the deadline", app: roApp,
			call: func(ctx context.Context, env *testEnv, c *entra.Client) error {
				if _, err := c.GetFido2(ctx); err != nil { // signs in, so the deadline falls on Graph
					return fmt.Errorf("first read: %w", err)
				}
				setFault(t, env, emulator.Fault{LatencyMS: 5000})
				ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
				_, err := c.GetFido2(ctx)
				return err
			},
			want: entra.ClassTransient, wantMsg: []string{"reading the passkey (FIDO2) policy of tenant acme: ", "context deadline exceeded"},
		},
		{
			name: "wrong client secret", app: rwApp, call: read,
			change:  func(_ *testEnv, c *entra.TenantConfig) { c.Secret = entra.SecretBytes(wrongSecret) },
			want:    entra.ClassAuth,
			wantMsg: []string{"reading the passkey (FIDO2) policy of tenant acme: signing in to Entra failed: 401 invalid_client: AADSTS7000215: "},
		},
		{
			name: "unknown tenant", app: rwApp, call: read,
			change: func(_ *testEnv, c *entra.TenantConfig) { c.TenantID = "dddddddd-0000-4000-8000-00000000dddd" },
			want:   entra.ClassAuth, wantMsg: []string{"signing in to Entra failed: 400 invalid_tenant: AADSTS90002"},
		},
		{
			name: "expired token (401 from Graph)", app: rwApp,
			call: func(ctx context.Context, env *testEnv, c *entra.Client) error {
				if _, err := c.GetFido2(ctx); err != nil { // caches a token
					return fmt.Errorf("first read: %w", err)
				}
				env.clock.advance(2 * time.Hour) // Entra's clock, not the credential's
				_, err := c.GetFido2(ctx)
				return err
			},
			want: entra.ClassAuth, wantMsg: []string{"Graph answered 401 InvalidAuthenticationToken: Lifetime validation failed, the token is expired."},
		},
		{
			name: "read without permission", app: bareApp, call: read,
			want: entra.ClassForbidden,
			wantMsg: []string{"reading the passkey (FIDO2) policy of tenant acme: Graph answered 403 accessDenied",
				"; grant the application the Microsoft Graph application permission Policy.Read.AuthenticationMethod (with admin consent)"},
		},
		{
			name: "write with a read-only app", app: roApp,
			call: func(ctx context.Context, _ *testEnv, c *entra.Client) error {
				return c.PatchFido2(ctx, &entra.Fido2Configuration{State: ptr(entra.MethodStateEnabled)})
			},
			want:    entra.ClassForbidden,
			wantMsg: []string{"updating the passkey (FIDO2) policy of tenant acme: Graph answered 403", "permission Policy.ReadWrite.AuthenticationMethod"},
		},
		{
			name: "group lookup without Group.Read.All", app: roApp,
			call: func(ctx context.Context, _ *testEnv, c *entra.Client) error {
				_, err := c.GroupsByDisplayName(ctx, "Admins")
				return err
			},
			want:    entra.ClassForbidden,
			wantMsg: []string{`looking up groups named "Admins" of tenant acme: Graph answered 403 Authorization_RequestDenied`, "permission Group.Read.All"},
		},
		{
			name: "invalid document", app: rwApp,
			call: func(ctx context.Context, _ *testEnv, c *entra.Client) error {
				return c.PatchFido2(ctx, &entra.Fido2Configuration{PasskeyProfiles: []*entra.PasskeyProfile{}})
			},
			want:    entra.ClassInvalid,
			wantMsg: []string{"updating the passkey (FIDO2) policy of tenant acme: Graph answered 400 badRequest: The default passkey profile '00000000-0000-0000-0000-000000000001' cannot be deleted. (request-id "},
		},
		{
			name: "unknown group", app: groupApp,
			call: func(ctx context.Context, _ *testEnv, c *entra.Client) error {
				_, err := c.GroupByID(ctx, unknownGroup)
				return err
			},
			want:    entra.ClassNotFound,
			wantMsg: []string{"looking up group " + unknownGroup + " of tenant acme: Graph answered 404 Request_ResourceNotFound"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the throttled cases wait out three Retry-Afters
			env := newEnv(t)
			cfg := env.config(tt.app)
			if tt.change != nil {
				tt.change(env, &cfg)
			}
			err := tt.call(ctx(t), env, env.client(t, cfg))
			if err == nil {
				t.Fatal("call succeeded")
			}
			msg := err.Error()
			if got := entra.Classify(err); got != tt.want {
				t.Errorf("Classify(%q) = %s, want %s", msg, got, tt.want)
			}
			if got := entra.RetryAfter(err); got != tt.wantRetryAfter {
				t.Errorf("RetryAfter() = %v, want %v", got, tt.wantRetryAfter)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			for _, leak := range []string{secret, wrongSecret, "Bearer", "eyJ"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error contains %q: %s", leak, msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
		})
	}
}

func setFault(t *testing.T, env *testEnv, f emulator.Fault) {
	t.Helper()
	if err := env.emu.SetFault(tenantID, f); err != nil {
		t.Fatal(err)
	}
}

// TestClassifyErrors covers the rules for errors the emulator cannot
// produce (a 5xx from the token endpoint, a 409, ...).
func TestClassifyErrors(t *testing.T) {
	response := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h, Body: io.NopCloser(strings.NewReader(""))}
	}
	apiError := func(status int) error {
		return &abstractions.ApiError{ResponseStatusCode: status, ResponseHeaders: abstractions.NewResponseHeaders()}
	}
	tests := []struct {
		name           string
		err            error
		want           entra.Class
		wantRetryAfter time.Duration
	}{
		{"nil", nil, entra.ClassUnknown, 0},
		{"unrecognised", errors.New("something else"), entra.ClassUnknown, 0},
		{"invalid config", fmt.Errorf("tenant x: %w: no client ID", entra.ErrInvalidConfig), entra.ClassConfig, 0},
		{"408", apiError(408), entra.ClassTransient, 0},
		{"409", apiError(409), entra.ClassInvalid, 0},
		{"412", apiError(412), entra.ClassInvalid, 0},
		{"500", apiError(500), entra.ClassTransient, 0},
		{"504", apiError(504), entra.ClassTransient, 0},
		{"network error", &url.Error{Op: "Get", URL: "https://graph.microsoft.com/v1.0/x", Err: io.ErrUnexpectedEOF}, entra.ClassTransient, 0},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), entra.ClassTransient, 0},
		{"token endpoint unreachable", &azidentity.AuthenticationFailedError{}, entra.ClassTransient, 0},
		{"token endpoint 500", &azidentity.AuthenticationFailedError{RawResponse: response(500, "")}, entra.ClassTransient, 0},
		{"token endpoint 429", &azidentity.AuthenticationFailedError{RawResponse: response(429, "7")}, entra.ClassThrottled, 7 * time.Second},
		{"token endpoint 400", &azidentity.AuthenticationFailedError{RawResponse: response(400, "")}, entra.ClassAuth, 0},
		{"credential unavailable", fmt.Errorf("x: %w", azidentity.NewCredentialUnavailableError("no managed identity endpoint")), entra.ClassAuth, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := entra.Classify(tt.err); got != tt.want {
				t.Errorf("Classify() = %s, want %s", got, tt.want)
			}
			if got := entra.RetryAfter(tt.err); got != tt.wantRetryAfter {
				t.Errorf("RetryAfter() = %v, want %v", got, tt.wantRetryAfter)
			}
		})
	}
	if s := entra.ClassForbidden.String(); s != "Forbidden" {
		t.Errorf("ClassForbidden.String() = %q", s)
	}
}

// TestSameFailure: a retry that fails as the last attempt did differs only
// in Graph's request id, and the controller must be able to tell.
func TestSameFailure(t *testing.T) {
	const forbidden = "updating the passkey (FIDO2) policy of tenant acme: Graph answered 403 accessDenied: Request Authorization failed (request-id %s); grant the application the Microsoft Graph application permission Policy.ReadWrite.AuthenticationMethod (with admin consent)"
	first := fmt.Sprintf(forbidden, "0f8fad5b-d9cb-469f-a165-70867728950e")
	for _, tt := range []struct {
		name, other string
		same        bool
	}{
		{"another request id", fmt.Sprintf(forbidden, "7c9e6679-7425-40de-944b-e07fc1f90ae7"), true},
		{"no request id", strings.Replace(first, " (request-id 0f8fad5b-d9cb-469f-a165-70867728950e)", "", 1), true},
		{"another permission", strings.Replace(first, "Policy.ReadWrite", "Policy.Read", 1), false},
		{"another failure", "signing in to Entra failed: 401 invalid_client: AADSTS7000215: Invalid client secret provided.", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := entra.SameFailure(first, tt.other); got != tt.same {
				t.Errorf("SameFailure(%q, %q) = %v, want %v", first, tt.other, got, tt.same)
			}
		})
	}
}
