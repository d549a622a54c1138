package emulator

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition (RFC 7515 §4.1.7)
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The identity half: what MSAL (inside azidentity) asks for when a
// confidential-client credential is pointed at a custom authority host with
// instance discovery disabled — the tenant's OpenID configuration, then the
// token endpoint — plus the signing keys of the access tokens.

const (
	grantClientCredentials = "client_credentials"
	clientAssertionJWT     = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// graphAppID is Microsoft Graph's well-known application id, accepted as
	// a token audience alongside the emulator's own URL.
	graphAppID = "00000003-0000-0000-c000-000000000000"
)

func (e *Emulator) identityRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", e.handleOpenIDConfiguration)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", e.handleKeys)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", e.handleToken)
	if e.opts.ManagedIdentityHeader != "" {
		mux.HandleFunc("GET "+ManagedIdentityPath, e.handleManagedIdentityToken)
	}
	return mux
}

// origin is the emulator's own https origin as the client addressed it.
func origin(r *http.Request) string { return "https://" + r.Host }

// knownTenant checks the tenant in the path and answers like Entra when it
// does not exist.
func (e *Emulator) knownTenant(w http.ResponseWriter, r *http.Request) (string, bool) {
	tid := normalizeID(r.PathValue("tenant"))
	setTenant(r, tid)
	if err := e.withTenant(tid, func(*tenant) error { return nil }); err != nil {
		writeOAuthError(w, e.now(), newOAuthError(http.StatusBadRequest, "invalid_tenant", 90002,
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", r.PathValue("tenant")))
		return "", false
	}
	return tid, true
}

func (e *Emulator) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	tid, ok := e.knownTenant(w, r)
	if !ok {
		return
	}
	base := origin(r) + "/" + tid
	// MSAL requires authorization_endpoint, token_endpoint and an issuer on
	// the authority's host; the rest is what Entra also publishes.
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"request_uri_parameter_supported":       false,
		"tenant_region_scope":                   nil,
		"cloud_instance_name":                   r.Host,
		"msgraph_host":                          r.Host,
	})
}

func (e *Emulator) handleKeys(w http.ResponseWriter, r *http.Request) {
	if _, ok := e.knownTenant(w, r); !ok {
		return
	}
	writeJSON(w, http.StatusOK, jwks{Keys: []jwk{rsaJWK(&e.key.PublicKey, e.kid)}})
}

// handleToken implements the client-credentials grant with a client secret,
// a certificate-signed client assertion or a federated assertion.
func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	tid, ok := e.knownTenant(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, e.now(), newOAuthError(http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'grant_type'."))
		return
	}
	token, oerr := e.issueToken(r, tid)
	if oerr != nil {
		writeOAuthError(w, e.now(), oerr)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, token)
}

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

func (e *Emulator) issueToken(r *http.Request, tid string) (*tokenResponse, *oauthError) {
	form := r.PostForm
	if gt := form.Get("grant_type"); gt != grantClientCredentials {
		if gt == "" {
			return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 900144,
				"The request body must contain the following parameter: 'grant_type'.")
		}
		return nil, newOAuthError(http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '%s'.", gt)
	}
	clientID, secret, _ := r.BasicAuth()
	if clientID == "" {
		clientID = form.Get("client_id")
	}
	if s := form.Get("client_secret"); s != "" {
		secret = s
	}
	if clientID == "" {
		return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 900144,
			"The request body must contain the following parameter: 'client_id'.")
	}

	var app App
	if err := e.withTenant(tid, func(tn *tenant) error {
		a, ok := tn.apps[normalizeID(clientID)]
		if !ok {
			return errors.New("no such app")
		}
		app = a
		return nil
	}); err != nil {
		return nil, newOAuthError(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'.", clientID, tid)
	}
	if app.ManagedIdentity {
		// A managed identity has no app registration and no credentials a
		// client could present; Entra does not find it here either.
		return nil, newOAuthError(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'. It is a managed identity: it gets tokens from its host's managed identity endpoint, not with client credentials.", clientID, tid)
	}

	resource, oerr := resourceOf(form.Get("scope"), r.Host)
	if oerr != nil {
		return nil, oerr
	}

	assertion := form.Get("client_assertion")
	switch {
	case secret != "":
		if app.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1 {
			return nil, newOAuthError(http.StatusUnauthorized, "invalid_client", 7000215,
				"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID)
		}
	case assertion != "":
		if t := form.Get("client_assertion_type"); t != clientAssertionJWT {
			return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 700025,
				"Client assertion type '%s' is not supported; expected '%s'.", t, clientAssertionJWT)
		}
		endpoint := origin(r) + r.URL.Path
		if oerr := e.verifyAssertion(app, assertion, endpoint); oerr != nil {
			return nil, oerr
		}
	default:
		return nil, newOAuthError(http.StatusUnauthorized, "invalid_client", 7000216,
			"'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
	}

	access, err := e.mintAccessToken(tid, app, resource)
	if err != nil {
		return nil, newOAuthError(http.StatusInternalServerError, "server_error", 90010, "%v", err)
	}
	lifetime := int(e.opts.TokenLifetime.Seconds()) - 1
	return &tokenResponse{TokenType: "Bearer", ExpiresIn: lifetime, ExtExpiresIn: lifetime, AccessToken: access}, nil
}

// resourceOf finds the resource of a client-credentials scope parameter:
// exactly one "<resource>/.default" (MSAL adds openid, profile and
// offline_access, which are ignored). The resource must be this emulator
// (its Graph) or Graph's well-known identifiers.
func resourceOf(scope, host string) (string, *oauthError) {
	var resources []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		resource, ok := strings.CutSuffix(s, "/.default")
		if !ok {
			return "", newOAuthError(http.StatusBadRequest, "invalid_scope", 1002012,
				"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", s)
		}
		resources = append(resources, resource)
	}
	if len(resources) != 1 {
		return "", newOAuthError(http.StatusBadRequest, "invalid_scope", 1002012,
			"The provided value for the input parameter 'scope' is not valid. The scope '%s' must name exactly one resource.", scope)
	}
	resource := resources[0]
	if !isGraphAudience(resource, host) {
		return "", newOAuthError(http.StatusBadRequest, "invalid_resource", 500011,
			"The resource principal named %s was not found in the tenant. The emulator serves only its own Graph (https://%s).", resource, host)
	}
	return resource, nil
}

// isGraphAudience accepts the emulator's own origin (the Graph endpoint a
// client was configured with) and Graph's well-known identifiers.
func isGraphAudience(aud, host string) bool {
	switch strings.TrimSuffix(aud, "/") {
	case "https://" + host, graphAppID, "https://graph.microsoft.com":
		return true
	}
	return false
}

// verifyAssertion authenticates a client by a signed JWT: a certificate
// assertion (iss = sub = client id, signed with a registered certificate's
// key) or a federated assertion (from a trusted issuer and subject).
func (e *Emulator) verifyAssertion(app App, assertion, tokenEndpoint string) *oauthError {
	tok, err := parseJWT(assertion)
	if err != nil {
		return newOAuthError(http.StatusUnauthorized, "invalid_client", 50027, "JWT token is invalid or malformed: %v.", err)
	}
	var claims registeredClaims
	if err := json.Unmarshal(tok.Payload, &claims); err != nil {
		return newOAuthError(http.StatusUnauthorized, "invalid_client", 50027, "JWT token is invalid or malformed: %v.", err)
	}
	if strings.EqualFold(claims.Issuer, app.ClientID) && strings.EqualFold(claims.Subject, app.ClientID) {
		return e.verifyCertificateAssertion(app, tok, claims, tokenEndpoint)
	}
	return e.verifyFederatedAssertion(app, tok, claims)
}

func (e *Emulator) verifyCertificateAssertion(app App, tok *parsedJWT, claims registeredClaims, tokenEndpoint string) *oauthError {
	cert := findCertificate(app.Certificates, tok.Header)
	if cert == nil {
		return newOAuthError(http.StatusUnauthorized, "invalid_client", 700027,
			"The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s']", tok.Header.X5tS256+tok.Header.X5t)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || tok.verify(pub) != nil {
		return newOAuthError(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation.")
	}
	if !claims.Audience.contains(tokenEndpoint) {
		return newOAuthError(http.StatusUnauthorized, "invalid_client", 700212,
			"The audience of the client assertion is '%s'; it must be the token endpoint '%s'.", strings.Join(claims.Audience, ","), tokenEndpoint)
	}
	if err := claims.checkTime(e.now()); err != nil {
		return newOAuthError(http.StatusUnauthorized, "invalid_client", 700024, "Client assertion is not within its valid time range: %v.", err)
	}
	return nil
}

// findCertificate matches a registered certificate by the assertion's
// thumbprint header: x5t#S256 (what MSAL sends) or x5t. Either may be in
// base64url (as RFC 7515 says) or standard base64 (as MSAL writes it).
func findCertificate(certs []*x509.Certificate, h jwtHeader) *x509.Certificate {
	for _, c := range certs {
		s256 := sha256.Sum256(c.Raw)
		s1 := sha1.Sum(c.Raw) //nolint:gosec // see import
		if (h.X5tS256 != "" && bytes.Equal(decodeThumbprint(h.X5tS256), s256[:])) ||
			(h.X5t != "" && bytes.Equal(decodeThumbprint(h.X5t), s1[:])) {
			return c
		}
	}
	return nil
}

func decodeThumbprint(s string) []byte {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

func (e *Emulator) verifyFederatedAssertion(app App, tok *parsedJWT, claims registeredClaims) *oauthError {
	var byIssuer []FederatedCredential
	for _, fc := range app.Federated {
		if fc.Issuer == claims.Issuer {
			byIssuer = append(byIssuer, fc)
		}
	}
	if len(byIssuer) == 0 {
		return newOAuthError(http.StatusBadRequest, "invalid_request", 700211,
			"No matching federated identity record found for presented assertion issuer '%s'.", claims.Issuer)
	}
	i := slices.IndexFunc(byIssuer, func(fc FederatedCredential) bool { return fc.Subject == claims.Subject })
	if i < 0 {
		return newOAuthError(http.StatusBadRequest, "invalid_request", 700213,
			"No matching federated identity record found for presented assertion subject '%s'.", claims.Subject)
	}
	fc := byIssuer[i]
	wantAud := fc.Audience
	if wantAud == "" {
		wantAud = DefaultFederatedAudience
	}
	if !claims.Audience.contains(wantAud) {
		return newOAuthError(http.StatusBadRequest, "invalid_request", 700212,
			"No matching federated identity record found for presented assertion audience '%s'.", strings.Join(claims.Audience, ","))
	}
	if !slices.ContainsFunc(fc.Keys, func(k *rsa.PublicKey) bool { return tok.verify(k) == nil }) {
		return newOAuthError(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation.")
	}
	if err := claims.checkTime(e.now()); err != nil {
		return newOAuthError(http.StatusBadRequest, "invalid_grant", 700024, "Client assertion is not within its valid time range: %v.", err)
	}
	return nil
}

// accessClaims are the claims of an app-only access token, as Entra issues
// them to Graph (v1 tokens carry appid).
type accessClaims struct {
	Audience  string   `json:"aud"`
	Issuer    string   `json:"iss"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	ExpiresAt int64    `json:"exp"`
	AppID     string   `json:"appid"`
	AppIDAcr  string   `json:"appidacr"`
	IDType    string   `json:"idtyp"`
	ObjectID  string   `json:"oid"`
	Subject   string   `json:"sub"`
	TenantID  string   `json:"tid"`
	Roles     []string `json:"roles,omitempty"`
	TokenID   string   `json:"uti"`
	Version   string   `json:"ver"`
}

func (e *Emulator) mintAccessToken(tid string, app App, resource string) (string, error) {
	now := e.now()
	// oid and sub name the app's service principal; derive them so they are
	// stable for one app in one tenant.
	spID := stableUUID(tid + "/" + normalizeID(app.ClientID))
	claims := accessClaims{
		Audience:  resource,
		Issuer:    "https://sts.windows.net/" + tid + "/",
		IssuedAt:  now.Unix(),
		NotBefore: now.Add(-5 * time.Minute).Unix(),
		ExpiresAt: now.Add(e.opts.TokenLifetime).Unix(),
		AppID:     app.ClientID,
		AppIDAcr:  "1",
		IDType:    "app",
		ObjectID:  spID,
		Subject:   spID,
		TenantID:  tid,
		Roles:     app.Roles,
		TokenID:   newUUID(),
		Version:   "1.0",
	}
	token, err := signRS256(e.key, jwtHeader{Kid: e.kid}, claims)
	if err != nil {
		return "", fmt.Errorf("mint access token: %w", err)
	}
	return token, nil
}

// stableUUID formats the SHA-256 of s as a UUID.
func stableUUID(s string) string {
	b := sha256.Sum256([]byte(s))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
