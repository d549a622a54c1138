package emulator

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/testcreds"
)

func TestAdminStatsShape(t *testing.T) {
	env, token := graphEnv(t, Options{})
	env.do(http.MethodGet, fido2Path, token, "")
	env.do(http.MethodGet, fido2Path, token, "")

	resp, body := env.do(http.MethodGet, "/_emulator/stats", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("stats = %d %s", resp.StatusCode, body)
	}
	// The shape is an interface: decode strictly into it.
	var stats struct {
		Requests []struct {
			Tenant string `json:"tenant"`
			Method string `json:"method"`
			Path   string `json:"path"`
			Status int    `json:"status"`
			Count  int    `json:"count"`
		} `json:"requests"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&stats); err != nil {
		t.Fatalf("stats body %s: %v", body, err)
	}
	found := false
	for _, r := range stats.Requests {
		if r.Tenant == tenantA && r.Method == "GET" && r.Path == fido2Path && r.Status == 200 {
			found = r.Count == 2
		}
		if strings.HasPrefix(r.Path, "/_emulator/") {
			t.Errorf("admin request counted: %+v", r)
		}
	}
	if !found {
		t.Errorf("stats %s lack tenant A's two GETs", body)
	}

	// Filtered: only the counts that match, here the fido2 path's, not the
	// token requests that came before.
	_, body = env.do(http.MethodGet, "/_emulator/stats?method=GET&path="+url.QueryEscape(fido2Path), "", "")
	var fido2Only Stats
	if err := json.Unmarshal(body, &fido2Only); err != nil {
		t.Fatal(err)
	}
	if len(fido2Only.Requests) != 1 || fido2Only.Count(tenantA, "GET", fido2Path, 200) != 2 {
		t.Errorf("stats filtered by method and path = %s, want tenant A's two fido2 GETs alone", body)
	}
	if total := env.emu.Stats(); len(total.Requests) <= len(fido2Only.Requests) {
		t.Errorf("unfiltered stats %+v hold no more than the filtered ones: the filter proves nothing", total)
	}

	if resp, _ := env.do(http.MethodDelete, "/_emulator/stats", "", ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE stats = %d", resp.StatusCode)
	}
	if n := len(env.emu.Stats().Requests); n != 0 {
		t.Errorf("%d stats lines after reset", n)
	}
}

func TestAdminSeedFaultResetAndPortalEdit(t *testing.T) {
	env := newTestEnv(t, Options{})
	cert := testcreds.SelfSignedCert(t)
	jwksJSON, err := MarshalJWKS(&clientKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	seed := map[string]any{
		"tenantId": tenantA,
		"apps": []map[string]any{{
			"clientId": appRW, "clientSecret": secret, "roles": []string{RolePolicyReadWrite},
			"certificatesPem":      []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))},
			"federatedCredentials": []map[string]any{{"issuer": "https://issuer", "subject": "sub", "jwks": json.RawMessage(jwksJSON)}},
		}},
		"groups": []Group{{ID: groupX, DisplayName: "Admins"}},
	}
	if resp, body := env.do(http.MethodPost, "/_emulator/tenants", "", mustJSON(t, seed)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed = %d %s", resp.StatusCode, body)
	}
	resp, body := env.do(http.MethodGet, "/_emulator/tenants/"+tenantA, "", "")
	var summary tenantSummary
	if err := json.Unmarshal(body, &summary); err != nil || resp.StatusCode != 200 {
		t.Fatalf("tenant = %d %s", resp.StatusCode, body)
	}
	if len(summary.Apps) != 1 || !summary.Apps[0].HasSecret || summary.Apps[0].Certificates != 1 ||
		summary.Apps[0].FederatedCredentials != 1 || len(summary.Groups) != 1 || strings.Contains(string(body), secret) {
		t.Errorf("tenant summary = %s", body)
	}
	// The seeded federated credential works.
	assertion, err := signRS256(clientKey(), jwtHeader{}, map[string]any{"iss": "https://issuer", "sub": "sub",
		"aud": DefaultFederatedAudience, "exp": 4102444800})
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := env.postForm("/"+tenantA+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {appRW}, "scope": {env.URL() + "/.default"}, "client_assertion_type": {clientAssertionJWT},
		"client_assertion": {assertion}}); resp.StatusCode != 200 {
		t.Errorf("token with the seeded federated credential = %d %s", resp.StatusCode, body)
	}

	// Faults at run time.
	if resp, body := env.do(http.MethodPut, "/_emulator/tenants/"+tenantA+"/fault", "", `{"throttleEvery":1}`); resp.StatusCode != 204 {
		t.Fatalf("PUT fault = %d %s", resp.StatusCode, body)
	}
	token := env.token(tenantA, appRW, secret)
	if resp, _ := env.do(http.MethodGet, fido2Path, token, ""); resp.StatusCode != 429 {
		t.Errorf("GET with throttleEvery 1 = %d", resp.StatusCode)
	}
	if resp, body := env.do(http.MethodPut, "/_emulator/tenants/"+tenantA+"/fault", "", `{"throttleRatio":2}`); resp.StatusCode != 400 {
		t.Errorf("PUT invalid fault = %d %s", resp.StatusCode, body)
	}
	env.do(http.MethodDelete, "/_emulator/tenants/"+tenantA+"/fault", "", "")
	if resp, _ := env.do(http.MethodGet, fido2Path, token, ""); resp.StatusCode != 200 {
		t.Errorf("GET after clearing faults = %d", resp.StatusCode)
	}

	// A portal edit goes through the rules and advances the version.
	patchPath := "/_emulator/tenants/" + tenantA + "/fido2"
	resp, body = env.do(http.MethodPatch, patchPath, "", `{"passkeyProfiles":[]}`)
	expectGraphError(t, resp, body, 400, "badRequest", "cannot be deleted")
	resp, body = env.do(http.MethodPatch, patchPath, "", `{"state":"enabled"}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"version":1`) {
		t.Fatalf("portal PATCH = %d %s", resp.StatusCode, body)
	}
	resp, body = env.do(http.MethodGet, patchPath, "", "")
	if !strings.Contains(string(body), `"version":1`) || !strings.Contains(string(body), `"state":"enabled"`) {
		t.Errorf("GET fido2 = %d %s", resp.StatusCode, body)
	}

	if resp, _ := env.do(http.MethodPost, "/_emulator/tenants/"+tenantA+"/reset", "", ""); resp.StatusCode != 204 {
		t.Errorf("reset = %d", resp.StatusCode)
	}
	if doc, v, _ := env.emu.Fido2(tenantA); v != 0 || doc.State != StateDisabled {
		t.Errorf("after reset: version %d state %s", v, doc.State)
	}
	if resp, _ := env.do(http.MethodPost, "/_emulator/tenants/"+tenantB+"/reset", "", ""); resp.StatusCode != 404 {
		t.Errorf("reset unknown tenant = %d, want 404", resp.StatusCode)
	}
	if resp, body := env.do(http.MethodPost, "/_emulator/tenants", "", `{"tenantId":"x","extra":1}`); resp.StatusCode != 400 {
		t.Errorf("seed with an unknown field = %d %s, want 400", resp.StatusCode, body)
	}
}

func TestAdminAnswersLoopbackOnly(t *testing.T) {
	emu, err := New(Options{SigningKey: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	// Served in memory: the remote address is only a field of the request.
	req := httptest.NewRequest(http.MethodGet, "/_emulator/stats", nil)
	req.RemoteAddr = "192.0.2.10:40000"
	rec := httptest.NewRecorder()
	emu.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("admin from a non-loopback address = %d, want 403", rec.Code)
	}
	req.RemoteAddr = "[::1]:40000"
	rec = httptest.NewRecorder()
	emu.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("admin from ::1 = %d, want 200", rec.Code)
	}
}

func TestPortalEditGoAPI(t *testing.T) {
	env, token := graphEnv(t, Options{})
	v, err := env.emu.PortalEdit(tenantA, func(d *Fido2Document) {
		d.PasskeyProfiles = append(d.PasskeyProfiles, PasskeyProfile{ID: profileA, Name: "Portal", PasskeyTypes: "synced,deviceBound",
			AttestationEnforcement: AttestationDisabled, KeyRestrictions: KeyRestrictions{EnforcementType: EnforcementBlock}})
	})
	if err != nil || v != 1 {
		t.Fatalf("PortalEdit() = %d, %v", v, err)
	}
	got := env.getFido2(token)
	if len(got.PasskeyProfiles) != 2 || got.PasskeyProfiles[1].PasskeyTypes != "deviceBound,synced" || got.PasskeyProfiles[1].KeyRestrictions.AAGUIDs == nil {
		t.Errorf("after portal edit: %+v", got.PasskeyProfiles)
	}
	if _, err := env.emu.PortalEdit(tenantA, func(d *Fido2Document) { d.PasskeyProfiles = nil }); err == nil ||
		!strings.Contains(err.Error(), "cannot be deleted") {
		t.Errorf("PortalEdit(remove all profiles) = %v, want the default-profile rule", err)
	}
	if v, _ := env.emu.Version(tenantA); v != 1 {
		t.Errorf("Version = %d after a refused edit, want 1", v)
	}
}

// TestAdminSeedAgainReplacesAnApp: seeding an app again replaces its roles
// and its secret, as admin consent or a new secret in the portal does. A
// token issued before keeps the roles it carries, as Entra's do: only a new
// sign-in gets the new permission.
func TestAdminSeedAgainReplacesAnApp(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret, RolePolicyRead)
	issuedBefore := env.token(tenantA, appRW, secret)

	const newSecret = "n3w-" + secret
	reseed := map[string]any{"tenantId": tenantA, "apps": []map[string]any{
		{"clientId": appRW, "clientSecret": newSecret, "roles": []string{RolePolicyReadWrite}},
	}}
	if resp, body := env.do(http.MethodPost, "/_emulator/tenants", "", mustJSON(t, reseed)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed again = %d %s", resp.StatusCode, body)
	}
	const patch = `{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","state":"enabled"}`
	resp, body := env.do(http.MethodPatch, fido2Path, issuedBefore, patch)
	expectGraphError(t, resp, body, http.StatusForbidden, "accessDenied", "Request Authorization failed")

	if resp, body := env.postForm("/"+tenantA+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {appRW}, "client_secret": {secret}, "scope": {env.URL() + "/.default"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token with the replaced secret = %d %s, want 401", resp.StatusCode, body)
	}
	issuedAfter := env.token(tenantA, appRW, newSecret)
	if resp, body := env.do(http.MethodPatch, fido2Path, issuedAfter, patch); resp.StatusCode != http.StatusNoContent {
		t.Errorf("PATCH with a token issued after the grant = %d %s, want 204", resp.StatusCode, body)
	}
}
