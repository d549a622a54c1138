package emulator

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/passkey-operator/passkey-operator/internal/testcreds"
)

const (
	tenantA = "a0a0a0a0-0000-4000-8000-00000000000a"
	tenantB = "b0b0b0b0-0000-4000-8000-00000000000b"
	appRW   = "c1c1c1c1-0000-4000-8000-000000000001"
	appRO   = "c2c2c2c2-0000-4000-8000-000000000002"
	appNone = "c3c3c3c3-0000-4000-8000-000000000003"
	secret  = "s3cret-value"
)

// clientKey signs client assertions (certificate credential) and plays the
// Kubernetes service-account issuer (workload identity); it is not the
// emulator's signing key (testKey).
var clientKey = testcreds.Key

// decodeClaims reads a JWT's claims without verifying it.
func decodeClaims(t *testing.T, token string) accessClaims {
	t.Helper()
	tok, err := parseJWT(token)
	if err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	var c accessClaims
	if err := json.Unmarshal(tok.Payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// getToken asks cred for a Graph token from the emulator.
func (env *testEnv) getToken(cred azcore.TokenCredential) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{env.URL() + "/.default"}})
	return tok.Token, err
}

// checkTokenWorks verifies the token's claims and that Graph accepts it.
func (env *testEnv) checkTokenWorks(token, tenantID, clientID string, roles ...string) {
	env.t.Helper()
	c := decodeClaims(env.t, token)
	if c.TenantID != tenantID || c.AppID != clientID || !slices.Equal(c.Roles, roles) || c.Audience != env.URL() {
		env.t.Errorf("claims tid=%s appid=%s roles=%v aud=%s, want %s %s %v %s", c.TenantID, c.AppID, c.Roles, c.Audience, tenantID, clientID, roles, env.URL())
	}
	resp, body := env.do(http.MethodGet, "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2", token, "")
	if resp.StatusCode != http.StatusOK {
		env.t.Errorf("Graph GET with the token = %d %s", resp.StatusCode, body)
	}
}

func TestClientSecretCredential(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret, RolePolicyReadWrite)

	cred, err := azidentity.NewClientSecretCredential(tenantA, appRW, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: env.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	token, err := env.getToken(cred)
	if err != nil {
		t.Fatalf("GetToken() = %v", err)
	}
	env.checkTokenWorks(token, tenantA, appRW, RolePolicyReadWrite)

	bad, err := azidentity.NewClientSecretCredential(tenantA, appRW, "wrong", &azidentity.ClientSecretCredentialOptions{
		ClientOptions: env.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.getToken(bad); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("GetToken(wrong secret) = %v, want AADSTS7000215", err)
	}
}

func TestClientCertificateCredential(t *testing.T) {
	env := newTestEnv(t, Options{})
	cert := testcreds.SelfSignedCert(t)
	env.mustSeed(Tenant{ID: tenantA, Apps: []App{
		{ClientID: appRW, Certificates: []*x509.Certificate{cert}, Roles: []string{RolePolicyRead}},
		{ClientID: appRO, Roles: []string{RolePolicyRead}}, // no certificate registered
	}})
	newCred := func(clientID string) azcore.TokenCredential {
		cred, err := azidentity.NewClientCertificateCredential(tenantA, clientID, []*x509.Certificate{cert}, clientKey(),
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: env.clientOptions(), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}

	token, err := env.getToken(newCred(appRW))
	if err != nil {
		t.Fatalf("GetToken() = %v", err)
	}
	env.checkTokenWorks(token, tenantA, appRW, RolePolicyRead)

	if _, err := env.getToken(newCred(appRO)); err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Errorf("GetToken(unregistered certificate) = %v, want AADSTS700027", err)
	}
}

func TestCertificateAssertionChecks(t *testing.T) {
	clock := &testClock{now: time.Now()}
	env := newTestEnv(t, Options{Now: clock.Now})
	cert := testcreds.SelfSignedCert(t)
	env.mustSeed(Tenant{ID: tenantA, Apps: []App{{ClientID: appRW, Certificates: []*x509.Certificate{cert}}}})
	endpoint := env.URL() + "/" + tenantA + "/oauth2/v2.0/token"

	// sign builds an assertion like MSAL's, signed with key.
	sign := func(key *rsa.PrivateKey, aud string, exp time.Time) string {
		claims := map[string]any{"iss": appRW, "sub": appRW, "aud": aud, "exp": exp.Unix(), "nbf": clock.Now().Unix(), "jti": newUUID()}
		s, err := signRS256WithX5t(key, cert, claims)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		assertion string
		want      string
	}{
		{"valid", sign(clientKey(), endpoint, clock.Now().Add(5*time.Minute)), ""},
		{"signed by another key", sign(other, endpoint, clock.Now().Add(5*time.Minute)), "AADSTS700027"},
		{"wrong audience", sign(clientKey(), "https://login.microsoftonline.com/x", clock.Now().Add(5*time.Minute)), "AADSTS700212"},
		{"expired", sign(clientKey(), endpoint, clock.Now().Add(-10*time.Minute)), "AADSTS700024"},
		{"malformed", "not-a-jwt", "AADSTS50027"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.postForm("/"+tenantA+"/oauth2/v2.0/token", url.Values{
				"grant_type": {"client_credentials"}, "client_id": {appRW}, "scope": {env.URL() + "/.default"},
				"client_assertion_type": {clientAssertionJWT}, "client_assertion": {tt.assertion},
			})
			if tt.want == "" {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("token = %d %s, want 200", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode < 400 || !strings.Contains(string(body), tt.want) {
				t.Errorf("token = %d %s, want an error with %s", resp.StatusCode, body, tt.want)
			}
		})
	}
}

// signRS256WithX5t signs claims with RS256 and an x5t#S256 header in
// base64url, the RFC 7515 form (MSAL sends PS256 and standard base64; the
// credential test covers that form).
func signRS256WithX5t(key *rsa.PrivateKey, cert *x509.Certificate, claims any) (string, error) {
	sum := sha256.Sum256(cert.Raw)
	return signRS256(key, jwtHeader{X5tS256: b64.EncodeToString(sum[:])}, claims)
}

func writeServiceAccountToken(t *testing.T, issuer, subject, aud string, exp time.Time) string {
	t.Helper()
	return testcreds.WriteFile(t, "token", []byte(testcreds.ServiceAccountToken(t, issuer, subject, aud, exp)))
}

func TestWorkloadIdentityCredential(t *testing.T) {
	const issuer = "https://kubernetes.default.svc.cluster.local"
	const subject = "system:serviceaccount:passkey-operator-system:controller-manager"
	env := newTestEnv(t, Options{})
	env.mustSeed(Tenant{ID: tenantA, Apps: []App{{
		ClientID:  appRW,
		Federated: []FederatedCredential{{Issuer: issuer, Subject: subject, Keys: []*rsa.PublicKey{&clientKey().PublicKey}}},
		Roles:     []string{RolePolicyReadWrite},
	}}})
	newCred := func(tokenFile string) azcore.TokenCredential {
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: env.clientOptions(), ClientID: appRW, TenantID: tenantA, TokenFilePath: tokenFile,
			DisableInstanceDiscovery: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}

	token, err := env.getToken(newCred(writeServiceAccountToken(t, issuer, subject, DefaultFederatedAudience, time.Now().Add(time.Hour))))
	if err != nil {
		t.Fatalf("GetToken() = %v", err)
	}
	env.checkTokenWorks(token, tenantA, appRW, RolePolicyReadWrite)

	refusals := []struct {
		name, issuer, subject, aud string
		exp                        time.Time
		want                       string
	}{
		{"other issuer", "https://oidc.example.com", subject, DefaultFederatedAudience, time.Now().Add(time.Hour), "AADSTS700211"},
		{"other subject", issuer, "system:serviceaccount:default:default", DefaultFederatedAudience, time.Now().Add(time.Hour), "AADSTS700213"},
		{"other audience", issuer, subject, "api://other", time.Now().Add(time.Hour), "AADSTS700212"},
		{"expired", issuer, subject, DefaultFederatedAudience, time.Now().Add(-time.Hour), "AADSTS700024"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.getToken(newCred(writeServiceAccountToken(t, tt.issuer, tt.subject, tt.aud, tt.exp)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GetToken() = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestTokenEndpointRefusals(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret, RolePolicyRead)
	form := func(edit func(url.Values)) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {appRW}, "client_secret": {secret}, "scope": {env.URL() + "/.default"}}
		edit(v)
		return v
	}
	tests := []struct {
		name       string
		tenant     string
		form       url.Values
		status     int
		oauthError string
		aadsts     string
	}{
		{"unknown tenant", tenantB, form(func(url.Values) {}), 400, "invalid_tenant", "AADSTS90002"},
		{"unknown app", tenantA, form(func(v url.Values) { v.Set("client_id", appNone) }), 400, "unauthorized_client", "AADSTS700016"},
		{"no credential", tenantA, form(func(v url.Values) { v.Del("client_secret") }), 401, "invalid_client", "AADSTS7000216"},
		{"other grant", tenantA, form(func(v url.Values) { v.Set("grant_type", "password") }), 400, "unsupported_grant_type", "AADSTS70003"},
		{"scope without /.default", tenantA, form(func(v url.Values) { v.Set("scope", env.URL()+"/Policy.Read.All") }), 400, "invalid_scope", "AADSTS1002012"},
		{"foreign resource", tenantA, form(func(v url.Values) { v.Set("scope", "https://management.azure.com/.default") }), 400, "invalid_resource", "AADSTS500011"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.postForm("/"+tt.tenant+"/oauth2/v2.0/token", tt.form)
			var got struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
				Codes       []int  `json:"error_codes"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if resp.StatusCode != tt.status || got.Error != tt.oauthError || !strings.HasPrefix(got.Description, tt.aadsts+":") || len(got.Codes) != 1 {
				t.Errorf("got %d %s %q %v, want %d %s %s", resp.StatusCode, got.Error, got.Description, got.Codes, tt.status, tt.oauthError, tt.aadsts)
			}
		})
	}
}

func TestOpenIDConfigurationAndKeys(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret)
	resp, body := env.do(http.MethodGet, "/"+tenantA+"/v2.0/.well-known/openid-configuration", "", "")
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("discovery = %d %s", resp.StatusCode, body)
	}
	base := env.URL() + "/" + tenantA
	for key, want := range map[string]string{
		"issuer": base + "/v2.0", "token_endpoint": base + "/oauth2/v2.0/token",
		"authorization_endpoint": base + "/oauth2/v2.0/authorize", "jwks_uri": base + "/discovery/v2.0/keys",
	} {
		if doc[key] != want {
			t.Errorf("%s = %v, want %s", key, doc[key], want)
		}
	}

	// The published key verifies the access tokens.
	resp, body = env.do(http.MethodGet, "/"+tenantA+"/discovery/v2.0/keys", "", "")
	keys, err := ParseJWKS(body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("keys = %d %s: %v", resp.StatusCode, body, err)
	}
	tok, err := parseJWT(env.token(tenantA, appRW, secret))
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.verify(keys[0]); err != nil {
		t.Errorf("access token does not verify with the published key: %v", err)
	}
}
