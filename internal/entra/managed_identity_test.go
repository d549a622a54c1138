package entra_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/testcreds"
)

const (
	identityHeader = "app-service-identity-header"
	miApp          = "e7e7e7e7-0000-4000-8000-000000000007" // a managed identity with policy read
	miApp2         = "e8e8e8e8-0000-4000-8000-000000000008" // another one, with policy read-write
)

// miEnv serves an emulator with the managed identity endpoint and the
// managed identities apps in the tenant, and points the process at it the
// way App Service does: IDENTITY_ENDPOINT and IDENTITY_HEADER, which MSAL
// reads to pick its App Service source. Each test gets its own server:
// MSAL caches managed identity tokens process-wide by identity and
// resource, and the resource is the server's URL.
func miEnv(t *testing.T, header string, apps ...emulator.App) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	emu, err := emulator.New(emulator.Options{SigningKey: testcreds.Key(), ManagedIdentityHeader: identityHeader})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Seed(emulator.Tenant{ID: tenantID, Apps: apps}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(emu)
	t.Cleanup(srv.Close)
	t.Setenv("IDENTITY_ENDPOINT", srv.URL+emulator.ManagedIdentityPath)
	t.Setenv("IDENTITY_HEADER", header)
	// Set, it would make MSAL choose Service Fabric instead.
	t.Setenv("IDENTITY_SERVER_THUMBPRINT", "")
	return emu, srv
}

// miConfig is a ManagedIdentity TenantConfig for the emulator as a custom
// cloud; clientID selects a user-assigned identity, empty the
// system-assigned one.
func miConfig(srv *httptest.Server, clientID string) entra.TenantConfig {
	return entra.TenantConfig{
		Name:          tenantName,
		TenantID:      tenantID,
		Cloud:         entra.CloudCustom,
		AuthorityHost: srv.URL,
		GraphEndpoint: srv.URL,
		Credential:    entra.CredentialManagedIdentity,
		ClientID:      clientID,
	}
}

func miClient(t *testing.T, srv *httptest.Server, clientID string) *entra.Client {
	t.Helper()
	c, err := entra.NewClient(miConfig(srv, clientID), entra.ClientOptions{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatalf("NewClient() = %v", err)
	}
	return c
}

// TestManagedIdentitySignsIn: azidentity's ManagedIdentityCredential, built
// by entra from a TenantConfig, gets its token from the managed identity
// endpoint (never the OAuth token endpoint) and reads the policy with it.
func TestManagedIdentitySignsIn(t *testing.T) {
	tests := []struct {
		name     string
		clientID string
	}{
		{"system-assigned", ""},
		{"user-assigned", miApp2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apps := []emulator.App{{ClientID: miApp, ManagedIdentity: true, Roles: []string{emulator.RolePolicyRead}}}
			want := miApp
			if tt.clientID != "" {
				// A second identity: the request must name the one it wants.
				apps = append(apps, emulator.App{ClientID: miApp2, ManagedIdentity: true, Roles: []string{emulator.RolePolicyReadWrite}})
				want = tt.clientID
			}
			emu, srv := miEnv(t, identityHeader, apps...)
			c := miClient(t, srv, tt.clientID)

			cfg, err := c.GetFido2(ctx(t))
			if err != nil {
				t.Fatalf("GetFido2() = %v", err)
			}
			if cfg.ID == nil || *cfg.ID != "Fido2" || *cfg.DefaultPasskeyProfile != emulator.DefaultPasskeyProfileID {
				t.Errorf("GetFido2() = %+v", cfg)
			}
			// The token is cached: a second read asks for none.
			if _, err := c.GetFido2(ctx(t)); err != nil {
				t.Fatalf("second GetFido2() = %v", err)
			}
			stats := emu.Stats()
			if n := stats.Count(tenantID, http.MethodGet, emulator.ManagedIdentityPath, http.StatusOK); n != 1 {
				t.Errorf("%d managed identity tokens issued, want 1", n)
			}
			if n := stats.Count("", http.MethodPost, "/"+tenantID+"/oauth2/v2.0/token", emulator.AnyStatus); n != 0 {
				t.Errorf("%d requests to the OAuth token endpoint, want 0", n)
			}
			if n := stats.Count(tenantID, http.MethodGet, fido2, http.StatusOK); n != 2 {
				t.Errorf("%d policy reads, want 2", n)
			}

			// The identity that signed in is the one asked for: only
			// miApp2 may write.
			err = c.PatchFido2(ctx(t), &entra.Fido2Configuration{IsSelfServiceRegistrationAllowed: ptr(false)})
			if wantWrite := want == miApp2; (err == nil) != wantWrite {
				t.Errorf("PatchFido2() as %s = %v", want, err)
			}
		})
	}
}

// TestManagedIdentityRefused: what the managed identity endpoint refuses
// is an authentication failure for the controller, and the message says
// what happened.
func TestManagedIdentityRefused(t *testing.T) {
	one := emulator.App{ClientID: miApp, ManagedIdentity: true, Roles: []string{emulator.RolePolicyRead}}
	two := emulator.App{ClientID: miApp2, ManagedIdentity: true, Roles: []string{emulator.RolePolicyRead}}
	tests := []struct {
		name     string
		header   string
		clientID string
		apps     []emulator.App
		status   string
	}{
		{"wrong identity header", "not-the-host-header", "", []emulator.App{one}, "401"},
		{"unknown user-assigned identity", identityHeader, "99999999-0000-4000-8000-000000000009", []emulator.App{one}, "400"},
		{"system-assigned among several identities", identityHeader, "", []emulator.App{one, two}, "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, srv := miEnv(t, tt.header, tt.apps...)
			_, err := miClient(t, srv, tt.clientID).GetFido2(ctx(t))
			if err == nil {
				t.Fatal("GetFido2() succeeded")
			}
			t.Logf("error: %v", err)
			if got := entra.Classify(err); got != entra.ClassAuth {
				t.Errorf("Classify(%v) = %v, want %v", err, got, entra.ClassAuth)
			}
			if msg := err.Error(); !strings.Contains(msg, "signing in to Entra failed") || !strings.Contains(msg, tt.status) {
				t.Errorf("error %q does not say that signing in failed with %s", msg, tt.status)
			}
			if n := emu.Stats().Count("", "", fido2, emulator.AnyStatus); n != 0 {
				t.Errorf("%d policy requests without a token, want 0", n)
			}
		})
	}
}
