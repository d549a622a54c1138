package emulator

import (
	"cmp"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The managed identity endpoint, in the form Azure App Service (and Azure
// Functions and Container Apps) serves it to the processes on a host:
//
//	GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=R[&client_id=C]
//	X-IDENTITY-HEADER: $IDENTITY_HEADER
//
// MSAL Go (inside azidentity's ManagedIdentityCredential) picks this source
// when IDENTITY_ENDPOINT and IDENTITY_HEADER are set
// (apps/managedidentity/managedidentity.go: GetSource,
// createAppServiceAuthRequest). IMDS, the other common source, lives at the
// fixed address 169.254.169.254, which a test cannot serve.
// https://learn.microsoft.com/en-us/azure/app-service/overview-managed-identity#rest-endpoint-reference

const (
	// ManagedIdentityPath is where the managed identity endpoint is served:
	// set IDENTITY_ENDPOINT to the emulator's origin followed by it.
	ManagedIdentityPath = "/msi/token"
	// appServiceAPIVersion is the version MSAL sends and App Service serves.
	appServiceAPIVersion = "2019-08-01"
	identityHeader       = "X-IDENTITY-HEADER"
)

// assignedIdentity is a managed identity the host can use: an app marked
// ManagedIdentity and the tenant it belongs to.
type assignedIdentity struct {
	tenant string
	app    App
}

// managedIdentities lists the managed identities of every tenant with
// clientID (all of them when clientID is empty), in a stable order.
func (e *Emulator) managedIdentities(clientID string) []assignedIdentity {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []assignedIdentity
	for tid, tn := range e.tenants {
		for id, app := range tn.apps {
			if app.ManagedIdentity && (clientID == "" || id == normalizeID(clientID)) {
				out = append(out, assignedIdentity{tenant: tid, app: app})
			}
		}
	}
	slices.SortFunc(out, func(a, b assignedIdentity) int {
		return cmp.Or(cmp.Compare(a.tenant, b.tenant), cmp.Compare(normalizeID(a.app.ClientID), normalizeID(b.app.ClientID)))
	})
	return out
}

// managedIdentityToken is App Service's token response. expires_on is a
// string of Unix seconds, as App Service writes it; MSAL also reads numbers
// (accesstokens.TokenResponse.UnmarshalJSON).
type managedIdentityToken struct {
	AccessToken string `json:"access_token"`
	ExpiresOn   string `json:"expires_on"`
	Resource    string `json:"resource"`
	TokenType   string `json:"token_type"`
	ClientID    string `json:"client_id"`
}

// handleManagedIdentityToken issues an access token to a managed identity,
// minted exactly as client-credential tokens are.
func (e *Emulator) handleManagedIdentityToken(w http.ResponseWriter, r *http.Request) {
	// The shared header is what keeps other processes from getting the
	// host's tokens, so it is checked before anything else is looked at.
	got := r.Header.Get(identityHeader)
	if got == "" {
		writeManagedIdentityError(w, http.StatusBadRequest,
			"The request has no %s header; send the value of the IDENTITY_HEADER environment variable in it.", identityHeader)
		return
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(e.opts.ManagedIdentityHeader)) != 1 {
		writeManagedIdentityError(w, http.StatusUnauthorized,
			"The %s header does not match this host's IDENTITY_HEADER.", identityHeader)
		return
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != appServiceAPIVersion {
		writeManagedIdentityError(w, http.StatusBadRequest,
			"The api-version '%s' is not supported; this endpoint serves api-version %s.", v, appServiceAPIVersion)
		return
	}
	for _, p := range []string{"principal_id", "object_id", "mi_res_id", "msi_res_id"} {
		if q.Has(p) {
			writeManagedIdentityError(w, http.StatusBadRequest,
				"The emulator selects a user-assigned identity by client_id only; '%s' is not supported.", p)
			return
		}
	}
	resource := q.Get("resource")
	if resource == "" {
		writeManagedIdentityError(w, http.StatusBadRequest, "The request has no 'resource' parameter.")
		return
	}
	if !isGraphAudience(resource, r.Host) {
		writeManagedIdentityError(w, http.StatusBadRequest,
			"AADSTS500011: The resource principal named %s was not found in the tenant. The emulator serves only its own Graph (https://%s).", resource, r.Host)
		return
	}

	clientID := q.Get("client_id")
	ids := e.managedIdentities(clientID)
	switch {
	case len(ids) == 0 && clientID == "":
		writeManagedIdentityError(w, http.StatusBadRequest,
			"Unable to load the proper Managed Identity. No managed identity is assigned to this host.")
		return
	case len(ids) == 0:
		writeManagedIdentityError(w, http.StatusBadRequest,
			"Unable to load the proper Managed Identity. No managed identity with client_id %s is assigned to this host.", clientID)
		return
	case len(ids) > 1 && clientID == "":
		// Azure does the same when a host has several user-assigned
		// identities and no system-assigned one.
		writeManagedIdentityError(w, http.StatusBadRequest,
			"Unable to load the proper Managed Identity. %d managed identities are assigned to this host (%s); pick one with client_id.",
			len(ids), identityList(ids))
		return
	case len(ids) > 1:
		writeManagedIdentityError(w, http.StatusBadRequest,
			"Unable to load the proper Managed Identity. client_id %s names a managed identity in %d tenants (%s).",
			clientID, len(ids), identityList(ids))
		return
	}
	id := ids[0]
	setTenant(r, id.tenant)

	access, err := e.mintAccessToken(id.tenant, id.app, resource)
	if err != nil {
		writeManagedIdentityError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	// A second short of the token's exp, as for client credentials: the
	// clock has moved on since the token was minted.
	expires := e.now().Add(e.opts.TokenLifetime).Unix() - 1
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, managedIdentityToken{
		AccessToken: access,
		ExpiresOn:   strconv.FormatInt(expires, 10),
		Resource:    resource,
		TokenType:   "Bearer",
		ClientID:    id.app.ClientID,
	})
}

func identityList(ids []assignedIdentity) string {
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		names = append(names, id.app.ClientID+" in tenant "+id.tenant)
	}
	return strings.Join(names, ", ")
}

// writeManagedIdentityError writes App Service's error body:
// {"statusCode": 400, "message": "…", "correlationId": "…"}.
func writeManagedIdentityError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]any{
		"statusCode":    status,
		"message":       fmt.Sprintf(format, args...),
		"correlationId": w.Header().Get("request-id"),
	})
}
