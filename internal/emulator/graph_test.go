package emulator

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const fido2Path = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2"

// docsSamplePatch is the request body of the example on the Graph
// documentation's "Update fido2AuthenticationMethodConfiguration" page,
// byte for byte.
const docsSamplePatch = `{
  "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
  "id": "Fido2",
  "state": "disabled",
  "isSelfServiceRegistrationAllowed": true,
  "isAttestationEnforced": true,
  "keyRestrictions": {
    "isEnforced": false,
    "enforcementType": "block",
    "aaGuids": []
  },
  "includeTargets": [
    {
      "targetType": "group",
      "id": "all_users",
      "isRegistrationRequired": false,
      "allowedPasskeyProfiles": [
        "00000000-0000-0000-0000-000000000001"
      ]
    }
  ],
  "excludeTargets": [],
  "passkeyProfiles": [
    {
      "id": "00000000-0000-0000-0000-000000000001",
      "name": "Default passkey profile",
      "passkeyTypes": "deviceBound,synced",
      "attestationEnforcement": "disabled",
      "keyRestrictions": {
        "isEnforced": false,
        "enforcementType": "allow",
        "aaGuids": [
        ]
      }
    }
  ]
}`

// typed adds the @odata.type annotation Graph requires on a fido2 PATCH,
// unless the body has it.
func typed(body string) string {
	if strings.Contains(body, `"@odata.type"`) {
		return body
	}
	const annotation = `{"@odata.type":"` + fido2ODataType + `"`
	if strings.TrimSpace(body) == "{}" {
		return annotation + "}"
	}
	return annotation + "," + strings.TrimPrefix(body, "{")
}

// graphEnv is a test environment with tenant A and a read-write app.
func graphEnv(t *testing.T, opts Options) (*testEnv, string) {
	env := newTestEnv(t, opts)
	env.seed(tenantA, secret, RolePolicyReadWrite, RoleGroupRead)
	return env, env.token(tenantA, appRW, secret)
}

func (env *testEnv) getFido2(token string) Fido2Document {
	env.t.Helper()
	resp, body := env.do(http.MethodGet, fido2Path, token, "")
	if resp.StatusCode != http.StatusOK {
		env.t.Fatalf("GET fido2 = %d %s", resp.StatusCode, body)
	}
	var res fido2Resource
	if err := json.Unmarshal(body, &res); err != nil {
		env.t.Fatal(err)
	}
	if res.Type != fido2ODataType || res.ID != fido2ID || !strings.HasSuffix(res.Context, "$entity") {
		env.t.Errorf("GET fido2 envelope = %q %q %q", res.Type, res.ID, res.Context)
	}
	return res.Fido2Document
}

func TestNewTenantHasTheMigratedDefaultPolicy(t *testing.T) {
	env, token := graphEnv(t, Options{})
	got := env.getFido2(token)
	if got.DefaultPasskeyProfile != DefaultPasskeyProfileID || len(got.PasskeyProfiles) != 1 ||
		got.PasskeyProfiles[0].Name != DefaultPasskeyProfileName || got.PasskeyProfiles[0].PasskeyTypes != "deviceBound,synced" {
		t.Errorf("default profiles = %+v", got.PasskeyProfiles)
	}
	if len(got.IncludeTargets) != 1 || got.IncludeTargets[0].ID != AllUsers ||
		len(got.IncludeTargets[0].AllowedPasskeyProfiles) != 1 || got.IncludeTargets[0].AllowedPasskeyProfiles[0] != DefaultPasskeyProfileID {
		t.Errorf("default include targets = %+v", got.IncludeTargets)
	}
	if got.ExcludeTargets == nil || len(got.ExcludeTargets) != 0 {
		t.Errorf("default exclude targets = %#v, want []", got.ExcludeTargets)
	}
}

func TestDocsSamplePatchIsAccepted(t *testing.T) {
	env, token := graphEnv(t, Options{})
	resp, body := env.do(http.MethodPatch, fido2Path, token, docsSamplePatch)
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("PATCH docs sample = %d %s, want 204 without body", resp.StatusCode, body)
	}
	got := env.getFido2(token)
	// The sample's tenant-wide isAttestationEnforced true sits beside a
	// default profile whose attestation is disabled; the profile wins.
	if got.IsAttestationEnforced || got.State != StateDisabled || got.KeyRestrictions.EnforcementType != EnforcementAllow {
		t.Errorf("after the sample PATCH: %+v", got)
	}
	if v, _ := env.emu.Version(tenantA); v != 1 {
		t.Errorf("Version = %d, want 1", v)
	}
}

func TestPatchMergesAndReplacesCollections(t *testing.T) {
	// The steps name the profile they create by the id they gave it.
	env, token := graphEnv(t, Options{Behavior: Behavior{NewProfileIDs: NewProfileIDsHonour}})
	addProfile := `{"passkeyProfiles":[` +
		`{"id":"00000000-0000-0000-0000-000000000001","name":"Default passkey profile","passkeyTypes":"deviceBound,synced","attestationEnforcement":"disabled","keyRestrictions":{"isEnforced":false,"enforcementType":"allow","aaGuids":[]}},` +
		`{"id":"` + profileA + `","name":"Admins","passkeyTypes":"deviceBound","attestationEnforcement":"registrationOnly","keyRestrictions":{"isEnforced":true,"enforcementType":"allow","aaGuids":["` + aaguidY + `"]}}]}`
	steps := []struct {
		body  string
		check func(d Fido2Document) bool
	}{
		{addProfile, func(d Fido2Document) bool {
			return len(d.PasskeyProfiles) == 2 && d.PasskeyProfiles[1].KeyRestrictions.AAGUIDs[0] == aaguidY && len(d.IncludeTargets) == 1
		}},
		{`{"state":"enabled"}`, func(d Fido2Document) bool {
			return d.State == StateEnabled && len(d.PasskeyProfiles) == 2 // untouched
		}},
		{`{"includeTargets":[{"id":"` + groupX + `","targetType":"group","isRegistrationRequired":true,"allowedPasskeyProfiles":["` + profileA + `"]}]}`,
			func(d Fido2Document) bool {
				return len(d.IncludeTargets) == 1 && d.IncludeTargets[0].ID == groupX && d.IncludeTargets[0].IsRegistrationRequired // replaced whole
			}},
		{`{"excludeTargets":[{"id":"` + groupX + `","targetType":"group"}]}`, func(d Fido2Document) bool {
			return len(d.ExcludeTargets) == 1 && d.State == StateEnabled
		}},
		{`{"excludeTargets":[]}`, func(d Fido2Document) bool { return len(d.ExcludeTargets) == 0 }},
	}
	for i, step := range steps {
		resp, body := env.do(http.MethodPatch, fido2Path, token, typed(step.body))
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("step %d: PATCH = %d %s", i, resp.StatusCode, body)
		}
		if got := env.getFido2(token); !step.check(got) {
			t.Errorf("step %d: document after %s = %+v", i, step.body, got)
		}
	}
	if v, _ := env.emu.Version(tenantA); v != uint64(len(steps)) {
		t.Errorf("Version = %d, want %d", v, len(steps))
	}
}

// TestRulesRefusedOverHTTP checks that each rule's refusal reaches the
// client in Graph's error shape and leaves the policy unchanged.
func TestRulesRefusedOverHTTP(t *testing.T) {
	profileJSON := func(id, types, attestation string, aaguids ...string) string {
		list, _ := json.Marshal(append([]string{}, aaguids...))
		name := "P " + id[:4]
		if id == DefaultPasskeyProfileID {
			name = DefaultPasskeyProfileName
		}
		return `{"id":"` + id + `","name":"` + name + `","passkeyTypes":"` + types + `","attestationEnforcement":"` + attestation +
			`","keyRestrictions":{"isEnforced":false,"enforcementType":"allow","aaGuids":` + string(list) + `}}`
	}
	def := profileJSON(DefaultPasskeyProfileID, "deviceBound,synced", "disabled")
	tests := []struct {
		name, body, code, msg string
	}{
		{"four profiles", typed(`{"passkeyProfiles":[` + def + `,` + profileJSON(profileA, "synced", "disabled") + `,` +
			profileJSON(profileB, "synced", "disabled") + `,` + profileJSON(profileC, "synced", "disabled") + `]}`),
			"badRequest", "A tenant can have at most 3 passkey profiles, including the default passkey profile; the request has 4."},
		{"default profile removed", typed(`{"passkeyProfiles":[` + profileJSON(profileA, "synced", "disabled") + `],"includeTargets":[]}`),
			"badRequest", "The default passkey profile '00000000-0000-0000-0000-000000000001' cannot be deleted."},
		{"default profile switched", typed(`{"defaultPasskeyProfile":"` + profileA + `"}`),
			"badRequest", "The property 'defaultPasskeyProfile' cannot be changed"},
		{"attestation on a synced profile", typed(`{"passkeyProfiles":[` + profileJSON(DefaultPasskeyProfileID, "deviceBound,synced", "registrationOnly") + `]}`),
			"badRequest", "attestation can be enforced only when passkeyTypes is 'deviceBound' alone; synced passkeys do not support attestation."},
		{"include target without profiles", typed(`{"includeTargets":[{"id":"all_users","targetType":"group","isRegistrationRequired":false,"allowedPasskeyProfiles":[]}]}`),
			"badRequest", "Include conditions are missing passkey profile targets"},
		{"include target with an unknown profile", typed(`{"includeTargets":[{"id":"` + groupX + `","targetType":"group","allowedPasskeyProfiles":["` + profileB + `"]}]}`),
			"badRequest", "Include conditions are missing passkey profile targets"},
		{"wrong @odata.type", `{"@odata.type":"#microsoft.graph.emailAuthenticationMethodConfiguration","state":"enabled"}`,
			"BadRequest", "A type named '#microsoft.graph.emailAuthenticationMethodConfiguration' could not be resolved by the model."},
		{"missing @odata.type", `{"state":"enabled"}`,
			"BadRequest", "The request body must include '@odata.type' with the value '#microsoft.graph.fido2AuthenticationMethodConfiguration'."},
		{"unknown property", typed(`{"state":"enabled","passkeyProfile":[]}`),
			"BadRequest", "The property 'passkeyProfile' does not exist on type 'microsoft.graph.fido2AuthenticationMethodConfiguration'."},
		{"unknown enum member", typed(`{"state":"Enabled"}`), "BadRequest", "Requested value 'Enabled' was not found."},
		{"empty body", ` `, "BadRequest", "Empty Payload. JSON content expected."},
		{"malformed JSON", `{"state":"enabled"`, "BadRequest", "Unable to read JSON request payload."},
	}
	env, token := graphEnv(t, Options{})
	before := env.getFido2(token)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.do(http.MethodPatch, fido2Path, token, tt.body)
			expectPolicyError(t, resp, body, tt.code, tt.msg)
		})
	}
	after := env.getFido2(token)
	if b, _ := json.Marshal(before); string(b) != mustJSON(t, after) {
		t.Errorf("refused PATCHes changed the policy:\nbefore %s\nafter  %s", b, mustJSON(t, after))
	}
	if v, _ := env.emu.Version(tenantA); v != 0 {
		t.Errorf("Version = %d after refused writes, want 0", v)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeleteRevertsToDefault(t *testing.T) {
	env, token := graphEnv(t, Options{})
	if resp, body := env.do(http.MethodPatch, fido2Path, token, typed(`{"state":"enabled","excludeTargets":[{"id":"`+groupX+`","targetType":"group"}]}`)); resp.StatusCode != 204 {
		t.Fatalf("PATCH = %d %s", resp.StatusCode, body)
	}
	if resp, body := env.do(http.MethodDelete, fido2Path, token, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", resp.StatusCode, body)
	}
	if got, want := mustJSON(t, env.getFido2(token)), mustJSON(t, DefaultFido2Document()); got != want {
		t.Errorf("after DELETE:\n got %s\nwant %s", got, want)
	}
	if v, _ := env.emu.Version(tenantA); v != 2 {
		t.Errorf("Version = %d, want 2 (PATCH and DELETE)", v)
	}
}

func TestGraphAuthentication(t *testing.T) {
	clock := &testClock{now: time.Now()}
	env, token := graphEnv(t, Options{Now: clock.Now})
	foreign := newTestEnv(t, Options{SigningKey: clientKey()}) // same tenant and app, other signing key
	foreign.seed(tenantA, secret, RolePolicyReadWrite)
	foreignToken := foreign.token(tenantA, appRW, secret)

	tests := []struct {
		name, auth, msg string
	}{
		{"missing", "", "Access token is empty."},
		{"not a JWT", "Bearer abc.def", "IDX14100: JWT is not well formed."},
		{"signed by someone else", "Bearer " + foreignToken, "Access token validation failure. Invalid signature."},
		{"basic scheme", "Basic dXNlcjpwYXNz", "Access token is empty."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, env.URL()+fido2Path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := env.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			expectGraphError(t, resp, readBody(t, resp), http.StatusUnauthorized, "InvalidAuthenticationToken", tt.msg)
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		clock.Advance(2 * time.Hour)
		resp, body := env.do(http.MethodGet, fido2Path, token, "")
		expectGraphError(t, resp, body, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	})
}

func TestGraphAuthorization(t *testing.T) {
	env := newTestEnv(t, Options{})
	if err := env.emu.Seed(Tenant{ID: tenantA, Apps: []App{
		{ClientID: appRO, ClientSecret: secret, Roles: []string{RolePolicyRead}},
		{ClientID: appNone, ClientSecret: secret},
	}}); err != nil {
		t.Fatal(err)
	}
	readOnly, none := env.token(tenantA, appRO, secret), env.token(tenantA, appNone, secret)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, msg                       string
	}{
		{"read without permission", http.MethodGet, fido2Path, none, "", 403, "accessDenied", "Request Authorization failed"},
		{"policy read without permission", http.MethodGet, "/v1.0/policies/authenticationMethodsPolicy", none, "", 403, "accessDenied", "Request Authorization failed"},
		{"write with read permission", http.MethodPatch, fido2Path, readOnly, `{"state":"enabled"}`, 403, "accessDenied", "Request Authorization failed"},
		{"delete with read permission", http.MethodDelete, fido2Path, readOnly, "", 403, "accessDenied", "Request Authorization failed"},
		{"groups without Group.Read.All", http.MethodGet, "/v1.0/groups", readOnly, "", 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.do(tt.method, tt.path, tt.token, tt.body)
			expectGraphError(t, resp, body, tt.status, tt.code, tt.msg)
		})
	}
	if resp, body := env.do(http.MethodGet, fido2Path, readOnly, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET with Policy.Read.AuthenticationMethod = %d %s, want 200", resp.StatusCode, body)
	}
}

func TestGroups(t *testing.T) {
	env, token := graphEnv(t, Options{})
	if err := env.emu.Seed(Tenant{ID: tenantA, Groups: []Group{
		{ID: groupX, DisplayName: "Passkey Admins"},
		{ID: "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb", DisplayName: "O'Brien's team"},
	}}); err != nil {
		t.Fatal(err)
	}
	resp, body := env.do(http.MethodGet, "/v1.0/groups/"+groupX, token, "")
	var g groupResource
	if err := json.Unmarshal(body, &g); err != nil || resp.StatusCode != 200 || g.DisplayName != "Passkey Admins" || g.ID != groupX {
		t.Errorf("GET group = %d %s", resp.StatusCode, body)
	}
	resp, body = env.do(http.MethodGet, "/v1.0/groups/dddddddd-dddd-dddd-dddd-dddddddddddd", token, "")
	expectGraphError(t, resp, body, 404, "Request_ResourceNotFound", "Resource 'dddddddd-dddd-dddd-dddd-dddddddddddd' does not exist")

	filter := func(expr string) []groupResource {
		resp, body := env.do(http.MethodGet, "/v1.0/groups?$filter="+url.QueryEscape(expr), token, "")
		var list struct {
			Value []groupResource `json:"value"`
		}
		if err := json.Unmarshal(body, &list); err != nil || resp.StatusCode != 200 {
			t.Fatalf("filter %q = %d %s", expr, resp.StatusCode, body)
		}
		return list.Value
	}
	if got := filter("displayName eq 'passkey admins'"); len(got) != 1 || got[0].ID != groupX {
		t.Errorf("filter by display name (other case) = %+v", got)
	}
	if got := filter("displayName eq 'O''Brien''s team'"); len(got) != 1 || got[0].DisplayName != "O'Brien's team" {
		t.Errorf("filter with escaped quotes = %+v", got)
	}
	if got := filter("displayName eq 'nobody'"); len(got) != 0 {
		t.Errorf("filter without match = %+v", got)
	}
	resp, body = env.do(http.MethodGet, "/v1.0/groups?$filter="+url.QueryEscape("startswith(displayName,'P')"), token, "")
	expectGraphError(t, resp, body, 400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause")
}

func TestAuthenticationMethodsPolicy(t *testing.T) {
	env, token := graphEnv(t, Options{})
	resp, body := env.do(http.MethodGet, "/v1.0/policies/authenticationMethodsPolicy", token, "")
	var p struct {
		ID      string          `json:"id"`
		Configs []fido2Resource `json:"authenticationMethodConfigurations"`
	}
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET policy = %d %s", resp.StatusCode, body)
	}
	if p.ID != "authenticationMethodsPolicy" || len(p.Configs) != 1 || p.Configs[0].ID != fido2ID || len(p.Configs[0].PasskeyProfiles) != 1 {
		t.Errorf("policy = %s", body)
	}
}

func TestEveryResponseCarriesRequestIDs(t *testing.T) {
	env, token := graphEnv(t, Options{})
	for _, path := range []string{fido2Path, "/v1.0/nothing/here", "/" + tenantA + "/v2.0/.well-known/openid-configuration", "/unknown"} {
		req, _ := http.NewRequest(http.MethodGet, env.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("client-request-id", "my-correlation-id")
		resp, err := env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.Header.Get("request-id") == "" || resp.Header.Get("client-request-id") != "my-correlation-id" {
			t.Errorf("%s: request-id %q client-request-id %q", path, resp.Header.Get("request-id"), resp.Header.Get("client-request-id"))
		}
	}
	resp, body := env.do(http.MethodGet, "/v1.0/nothing/here", token, "")
	expectGraphError(t, resp, body, 400, "BadRequest", "Resource not found for the segment 'here'.")
	resp, body = env.do(http.MethodPut, fido2Path, token, `{}`)
	expectGraphError(t, resp, body, 405, "Request_BadRequest", "The HTTP method 'PUT' is not allowed")
}

func TestTenantsAreIsolated(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret, RolePolicyReadWrite, RoleGroupRead)
	env.seed(tenantB, "other-secret", RolePolicyReadWrite, RoleGroupRead)
	if err := env.emu.Seed(Tenant{ID: tenantA, Groups: []Group{{ID: groupX, DisplayName: "Only in A"}}}); err != nil {
		t.Fatal(err)
	}
	tokenA, tokenB := env.token(tenantA, appRW, secret), env.token(tenantB, appRW, "other-secret")

	// The same client id exists in both tenants, with its own secret.
	if resp, _ := env.postForm("/"+tenantB+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {appRW}, "client_secret": {secret}, "scope": {env.URL() + "/.default"}}); resp.StatusCode != 401 {
		t.Errorf("tenant A's secret accepted in tenant B: %d", resp.StatusCode)
	}
	if resp, body := env.do(http.MethodPatch, fido2Path, tokenA, typed(`{"state":"enabled"}`)); resp.StatusCode != 204 {
		t.Fatalf("PATCH A = %d %s", resp.StatusCode, body)
	}
	if a, b := env.getFido2(tokenA), env.getFido2(tokenB); a.State != StateEnabled || b.State != StateDisabled {
		t.Errorf("state A=%s B=%s, want enabled and disabled", a.State, b.State)
	}
	if resp, _ := env.do(http.MethodGet, "/v1.0/groups/"+groupX, tokenB, ""); resp.StatusCode != 404 {
		t.Errorf("tenant B sees tenant A's group: %d", resp.StatusCode)
	}
	va, _ := env.emu.Version(tenantA)
	vb, _ := env.emu.Version(tenantB)
	if va != 1 || vb != 0 {
		t.Errorf("versions A=%d B=%d, want 1 and 0", va, vb)
	}
	stats := env.emu.Stats()
	if stats.Count(tenantA, http.MethodPatch, fido2Path, 204) != 1 || stats.Count(tenantB, http.MethodPatch, "", AnyStatus) != 0 {
		t.Errorf("stats do not attribute requests to their tenant: %+v", stats)
	}
}

func TestCompressedPatchBody(t *testing.T) {
	env, token := graphEnv(t, Options{})
	plain := []byte(typed(`{"state":"enabled"}`))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	send := func(encoding string, payload []byte) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPatch, env.URL()+fido2Path, bytes.NewReader(payload))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", encoding)
		resp, err := env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, readBody(t, resp)
	}
	// The SDK's compression middleware falls back to an uncompressed body
	// on 415, so an unknown encoding must get exactly that.
	resp, body := send("br", gz.Bytes())
	expectGraphError(t, resp, body, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Encoding 'br' is not supported.")
	// A body labelled gzip that is not (what kiota-http-go's retry sends).
	resp, body = send("gzip", plain)
	expectGraphError(t, resp, body, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
	if resp, body := send("gzip", gz.Bytes()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("gzip PATCH = %d %s", resp.StatusCode, body)
	}
	if got := env.getFido2(token); got.State != StateEnabled {
		t.Errorf("state after gzip PATCH = %s", got.State)
	}
}
