package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

const (
	identityHeaderValue = "host-identity-header"
	miA                 = "d1d1d1d1-0000-4000-8000-000000000001" // a managed identity in tenant A
	miB                 = "d2d2d2d2-0000-4000-8000-000000000002" // a managed identity in tenant B
)

// miEnv is an emulator serving the managed identity endpoint, with tenant A
// holding a client-secret app and the managed identity miA.
func miEnv(t *testing.T) *testEnv {
	t.Helper()
	env := newTestEnv(t, Options{ManagedIdentityHeader: identityHeaderValue})
	env.mustSeed(Tenant{ID: tenantA, Apps: []App{
		{ClientID: appRW, ClientSecret: secret, Roles: []string{RolePolicyReadWrite}},
		{ClientID: miA, ManagedIdentity: true, Roles: []string{RolePolicyRead}},
	}})
	return env
}

// miRequest sends what MSAL sends for App Service: GET with the query and
// X-IDENTITY-HEADER (not sent when header is empty).
func (env *testEnv) miRequest(header string, query url.Values) (*http.Response, []byte) {
	env.t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.URL()+ManagedIdentityPath+"?"+query.Encode(), nil)
	if err != nil {
		env.t.Fatal(err)
	}
	if header != "" {
		req.Header.Set("X-IDENTITY-HEADER", header)
	}
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		env.t.Fatalf("GET %s: %v", ManagedIdentityPath, err)
	}
	return resp, readBody(env.t, resp)
}

// miQuery is a valid query for the emulator's Graph, with clientID if set.
func (env *testEnv) miQuery(clientID string) url.Values {
	q := url.Values{"api-version": {"2019-08-01"}, "resource": {env.URL()}}
	if clientID != "" {
		q.Set("client_id", clientID)
	}
	return q
}

// miToken expects a token response and returns it.
func (env *testEnv) miToken(resp *http.Response, body []byte) managedIdentityToken {
	env.t.Helper()
	if resp.StatusCode != http.StatusOK {
		env.t.Fatalf("managed identity token: %d %s", resp.StatusCode, body)
	}
	var tok managedIdentityToken
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tok); err != nil {
		env.t.Fatalf("token response %s: %v", body, err)
	}
	return tok
}

// expectMIError checks App Service's error body: status, message
// (substring), and a correlation id that is the response's request-id.
func expectMIError(t *testing.T, resp *http.Response, body []byte, status int, msg string) {
	t.Helper()
	var e struct {
		StatusCode    int    `json:"statusCode"`
		Message       string `json:"message"`
		CorrelationID string `json:"correlationId"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if resp.StatusCode != status || e.StatusCode != status || !strings.Contains(e.Message, msg) {
		t.Errorf("got %d %+v, want %d with a message containing %q", resp.StatusCode, e, status, msg)
	}
	if e.CorrelationID == "" || e.CorrelationID != resp.Header.Get("request-id") {
		t.Errorf("correlationId %q is not the request-id %q", e.CorrelationID, resp.Header.Get("request-id"))
	}
}

// TestManagedIdentityToken: the single managed identity gets a token like a
// client-credential one (tenant, app id, roles, audience) that Graph
// accepts; the response is what MSAL parses; the request is counted for
// the identity's tenant.
func TestManagedIdentityToken(t *testing.T) {
	env := miEnv(t)
	for _, clientID := range []string{"", strings.ToUpper(miA)} {
		tok := env.miToken(env.miRequest(identityHeaderValue, env.miQuery(clientID)))
		if tok.TokenType != "Bearer" || tok.Resource != env.URL() || tok.ClientID != miA {
			t.Errorf("client_id %q: response %+v", clientID, tok)
		}
		env.checkTokenWorks(tok.AccessToken, tenantA, miA, RolePolicyRead)
		expiresOn, err := strconv.ParseInt(tok.ExpiresOn, 10, 64)
		if exp := decodeClaims(t, tok.AccessToken).ExpiresAt; err != nil || expiresOn > exp || expiresOn < exp-5 {
			t.Errorf("expires_on %q, token exp %d", tok.ExpiresOn, exp)
		}
	}
	// Graph's well-known names are accepted as the resource too.
	q := env.miQuery("")
	q.Set("resource", "https://graph.microsoft.com/")
	if tok := env.miToken(env.miRequest(identityHeaderValue, q)); decodeClaims(t, tok.AccessToken).Audience != "https://graph.microsoft.com/" {
		t.Errorf("aud = %q", decodeClaims(t, tok.AccessToken).Audience)
	}
	if n := env.emu.Stats().Count(tenantA, http.MethodGet, ManagedIdentityPath, http.StatusOK); n != 3 {
		t.Errorf("stats count %d managed identity tokens for tenant A, want 3", n)
	}
	if n := env.emu.Stats().Count("", http.MethodPost, "", AnyStatus); n != 0 {
		t.Errorf("%d POSTs, want none: the managed identity never uses the token endpoint", n)
	}
}

// TestManagedIdentitySelection: with several identities a client must name
// one with client_id; only apps marked as managed identities are served.
func TestManagedIdentitySelection(t *testing.T) {
	env := miEnv(t)
	env.mustSeed(Tenant{ID: tenantB, Apps: []App{{ClientID: miB, ManagedIdentity: true, Roles: []string{RolePolicyReadWrite}}}})

	resp, body := env.miRequest(identityHeaderValue, env.miQuery(""))
	expectMIError(t, resp, body, http.StatusBadRequest, "2 managed identities are assigned to this host")
	if !strings.Contains(string(body), miA) || !strings.Contains(string(body), miB) {
		t.Errorf("error %s does not list the identities to pick from", body)
	}

	tok := env.miToken(env.miRequest(identityHeaderValue, env.miQuery(miB)))
	env.checkTokenWorks(tok.AccessToken, tenantB, miB, RolePolicyReadWrite)
	if n := env.emu.Stats().Count(tenantB, http.MethodGet, ManagedIdentityPath, http.StatusOK); n != 1 {
		t.Errorf("stats count %d tokens for tenant B, want 1", n)
	}

	resp, body = env.miRequest(identityHeaderValue, env.miQuery("99999999-0000-4000-8000-000000000009"))
	expectMIError(t, resp, body, http.StatusBadRequest, "No managed identity with client_id 99999999-0000-4000-8000-000000000009")
	// An app registration is not a managed identity.
	resp, body = env.miRequest(identityHeaderValue, env.miQuery(appRW))
	expectMIError(t, resp, body, http.StatusBadRequest, "Unable to load the proper Managed Identity")

	// The same client id as a managed identity in two tenants cannot be told apart.
	env.mustSeed(Tenant{ID: tenantB, Apps: []App{{ClientID: miA, ManagedIdentity: true}}})
	resp, body = env.miRequest(identityHeaderValue, env.miQuery(miA))
	expectMIError(t, resp, body, http.StatusBadRequest, "names a managed identity in 2 tenants")

	none := newTestEnv(t, Options{ManagedIdentityHeader: identityHeaderValue})
	none.seed(tenantA, secret, RolePolicyRead)
	resp, body = none.miRequest(identityHeaderValue, none.miQuery(""))
	expectMIError(t, resp, body, http.StatusBadRequest, "No managed identity is assigned to this host")
}

// TestManagedIdentityRefusals: the header, the api-version and the resource
// are checked as App Service checks them, with messages that say what to fix.
func TestManagedIdentityRefusals(t *testing.T) {
	env := miEnv(t)
	with := func(change func(url.Values)) url.Values {
		q := env.miQuery("")
		change(q)
		return q
	}
	tests := []struct {
		name   string
		header string
		query  url.Values
		status int
		msg    string
	}{
		{"no header", "", env.miQuery(""), http.StatusBadRequest, "no X-IDENTITY-HEADER header"},
		{"wrong header", "guessed", env.miQuery(""), http.StatusUnauthorized, "does not match this host's IDENTITY_HEADER"},
		{"old api-version", identityHeaderValue, with(func(q url.Values) { q.Set("api-version", "2017-09-01") }), http.StatusBadRequest, "api-version '2017-09-01' is not supported"},
		{"no resource", identityHeaderValue, with(func(q url.Values) { q.Del("resource") }), http.StatusBadRequest, "no 'resource' parameter"},
		{"another resource", identityHeaderValue, with(func(q url.Values) { q.Set("resource", "https://vault.azure.net") }), http.StatusBadRequest, "AADSTS500011"},
		{"object id", identityHeaderValue, with(func(q url.Values) { q.Set("object_id", miA) }), http.StatusBadRequest, "by client_id only; 'object_id'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.miRequest(tt.header, tt.query)
			expectMIError(t, resp, body, tt.status, tt.msg)
			if strings.Contains(string(body), "access_token") {
				t.Errorf("refusal carries a token: %s", body)
			}
		})
	}
	// Refusals before the identity is known are counted without a tenant.
	if n := env.emu.Stats().Count("", http.MethodGet, ManagedIdentityPath, http.StatusUnauthorized); n != 1 {
		t.Errorf("stats count %d 401s, want 1", n)
	}
}

// TestManagedIdentityEndpointNeedsHeaderOption: without
// Options.ManagedIdentityHeader there is no endpoint, so no empty header can
// ever match.
func TestManagedIdentityEndpointNeedsHeaderOption(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.mustSeed(Tenant{ID: tenantA, Apps: []App{{ClientID: miA, ManagedIdentity: true}}})
	if resp, body := env.miRequest("", env.miQuery("")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s without the option = %d %s, want 404", ManagedIdentityPath, resp.StatusCode, body)
	}
}

// TestManagedIdentityHasNoClientCredentials: a managed identity cannot use
// the token endpoint, and cannot be seeded with credentials.
func TestManagedIdentityHasNoClientCredentials(t *testing.T) {
	env := miEnv(t)
	resp, body := env.postForm("/"+tenantA+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {miA}, "client_secret": {"anything"},
		"scope": {env.URL() + "/.default"},
	})
	var oe struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &oe); err != nil {
		t.Fatalf("token error body %s: %v", body, err)
	}
	if resp.StatusCode != http.StatusBadRequest || oe.Error != "unauthorized_client" ||
		!strings.Contains(oe.Description, "AADSTS700016") || !strings.Contains(oe.Description, "managed identity endpoint") {
		t.Errorf("client credentials for a managed identity = %d %+v", resp.StatusCode, oe)
	}

	err := env.emu.Seed(Tenant{ID: tenantA, Apps: []App{{ClientID: miB, ManagedIdentity: true, ClientSecret: "s"}}})
	if err == nil || !strings.Contains(err.Error(), "is a managed identity") {
		t.Errorf("Seed(managed identity with a secret) = %v", err)
	}
}

// TestAdminSeedsManagedIdentity: "managedIdentity": true in the admin
// API's seed makes a managed identity, which the tenant view shows.
func TestAdminSeedsManagedIdentity(t *testing.T) {
	env := newTestEnv(t, Options{ManagedIdentityHeader: identityHeaderValue})
	seed := `{"tenantId":"` + tenantB + `","apps":[{"clientId":"` + miB + `","managedIdentity":true,"roles":["` + RolePolicyRead + `"]}]}`
	if resp, body := env.do(http.MethodPost, "/_emulator/tenants", "", seed); resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed = %d %s", resp.StatusCode, body)
	}
	resp, body := env.do(http.MethodGet, "/_emulator/tenants/"+tenantB, "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"managedIdentity":true`) {
		t.Errorf("tenant view = %d %s", resp.StatusCode, body)
	}
	tok := env.miToken(env.miRequest(identityHeaderValue, env.miQuery("")))
	env.checkTokenWorks(tok.AccessToken, tenantB, miB, RolePolicyRead)
}
