package emulator

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// The Graph half: /v1.0 on the same origin as the identity endpoints. The
// tenant is the access token's tid.

const maxRequestBody = 1 << 20

// Graph paths, lower-cased: Graph matches path segments case-insensitively.
const (
	pathAuthMethodsPolicy = "policies/authenticationmethodspolicy"
	pathFido2             = "policies/authenticationmethodspolicy/authenticationmethodconfigurations/fido2"
	pathGroups            = "groups"
	// pathRegistrationDetails is the authentication methods registration
	// report (reports.go).
	pathRegistrationDetails = "reports/authenticationmethods/userregistrationdetails"
)

// caller is the authenticated app of a Graph request.
type caller struct {
	tenantID string
	appID    string
	roles    []string
}

func (c caller) hasAnyRole(roles ...string) bool {
	return slices.ContainsFunc(c.roles, func(r string) bool { return slices.Contains(roles, r) })
}

func (e *Emulator) serveGraph(w http.ResponseWriter, r *http.Request) {
	who, gerr := e.authenticate(r)
	if gerr != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="`+graphAppID+`"`)
		writeGraphError(w, e.now(), gerr)
		return
	}
	setTenant(r, who.tenantID)
	if e.injectFault(w, r, who.tenantID) {
		return
	}

	path := strings.ToLower(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1.0"), "/"))
	// Ids as sent: lower-casing is only for matching the route.
	sent := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1.0"), "/"), "/")
	switch {
	case path == pathFido2:
		e.serveFido2(w, r, who)
	case path == pathAuthMethodsPolicy:
		e.serveAuthMethodsPolicy(w, r, who)
	case path == pathGroups:
		e.serveGroupList(w, r, who)
	case path == pathRegistrationDetails:
		e.serveRegistrationDetails(w, r, who)
	case routeMatches(path, "groups/*"):
		e.serveGroup(w, r, who, sent[1])
	case routeMatches(path, "groups/*/transitivemembers/microsoft.graph.user"):
		e.serveGroupUsers(w, r, who, sent[1])
	case routeMatches(path, "users/*"):
		e.serveUser(w, r, who, sent[1])
	case routeMatches(path, "users/*/transitivememberof/microsoft.graph.group"):
		e.serveUserGroups(w, r, who, sent[1])
	default:
		segment := path
		if i := strings.LastIndex(path, "/"); i >= 0 {
			segment = path[i+1:]
		}
		writeGraphError(w, e.now(), &graphError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "Resource not found for the segment '" + segment + "'."})
	}
}

// routeMatches reports whether a lower-cased Graph path has the segments of
// pattern, where "*" stands for any one non-empty segment (an id).
func routeMatches(path, pattern string) bool {
	got, want := strings.Split(path, "/"), strings.Split(pattern, "/")
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if got[i] != want[i] && (want[i] != "*" || got[i] == "") {
			return false
		}
	}
	return true
}

// authenticate validates the bearer token like Graph: signed by this
// emulator, unexpired, for Graph, for a tenant that exists.
func (e *Emulator) authenticate(r *http.Request) (caller, *graphError) {
	unauthorized := func(msg string) *graphError {
		return &graphError{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken", Message: msg}
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		return caller{}, unauthorized("Access token is empty.")
	}
	tok, err := parseJWT(raw)
	if err != nil {
		return caller{}, unauthorized("IDX14100: JWT is not well formed. " + err.Error() + ".")
	}
	if tok.Header.Alg != "RS256" || tok.verify(&e.key.PublicKey) != nil {
		return caller{}, unauthorized("Access token validation failure. Invalid signature.")
	}
	var claims accessClaims
	if err := json.Unmarshal(tok.Payload, &claims); err != nil {
		return caller{}, unauthorized("IDX14100: JWT is not well formed. " + err.Error() + ".")
	}
	rc := registeredClaims{ExpiresAt: claims.ExpiresAt, NotBefore: claims.NotBefore}
	if err := rc.checkTime(e.now()); err != nil {
		return caller{}, unauthorized("Lifetime validation failed, the token is expired.")
	}
	if !isGraphAudience(claims.Audience, r.Host) {
		return caller{}, unauthorized("Access token validation failure. Invalid audience.")
	}
	if err := e.withTenant(claims.TenantID, func(*tenant) error { return nil }); err != nil {
		return caller{}, unauthorized("Access token validation failure. Invalid tenant.")
	}
	return caller{tenantID: normalizeID(claims.TenantID), appID: claims.AppID, roles: claims.Roles}, nil
}

// policyReadRoles may read the policy: Policy.Read.All besides the
// authentication-method ones (get page, permissions table).
var policyReadRoles = []string{RolePolicyRead, RolePolicyReadAll, RolePolicyReadWrite}

// policyAccessDenied is Graph's answer when the app lacks the policy
// permission the operation needs.
func policyAccessDenied() *graphError {
	return &graphError{Status: http.StatusForbidden, Code: "accessDenied", Message: "Request Authorization failed"}
}

func methodNotAllowed(r *http.Request) *graphError {
	return &graphError{Status: http.StatusMethodNotAllowed, Code: "Request_BadRequest",
		Message: "The HTTP method '" + r.Method + "' is not allowed for the requested resource."}
}

func (e *Emulator) serveFido2(w http.ResponseWriter, r *http.Request, who caller) {
	switch r.Method {
	case http.MethodGet:
		if !who.hasAnyRole(policyReadRoles...) {
			writeGraphError(w, e.now(), policyAccessDenied())
			return
		}
		var doc jsonObject
		var version uint64
		if err := e.withTenant(who.tenantID, func(tn *tenant) error {
			doc, version = tn.doc.clone(), tn.version
			return nil
		}); err != nil {
			writeGraphError(w, e.now(), tenantGone(err))
			return
		}
		setVersion(r, version)
		context := origin(r) + "/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity"
		writeJSON(w, http.StatusOK, renderFido2(doc, origin(r), context))
	case http.MethodPatch:
		if !who.hasAnyRole(RolePolicyReadWrite) {
			writeGraphError(w, e.now(), policyAccessDenied())
			return
		}
		e.patchFido2(w, r, who)
	case http.MethodDelete:
		if !who.hasAnyRole(RolePolicyReadWrite) {
			writeGraphError(w, e.now(), policyAccessDenied())
			return
		}
		err := e.withTenant(who.tenantID, func(tn *tenant) error {
			tn.doc = defaultDocument()
			tn.version++
			tn.lastModified = e.now()
			return nil
		})
		if err != nil {
			writeGraphError(w, e.now(), tenantGone(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeGraphError(w, e.now(), methodNotAllowed(r))
	}
}

// readRequestBody reads a Graph request body, gunzipping it when the client
// compressed it: the Graph SDKs' compression middleware gzips every request
// body, and Graph accepts that.
func readRequestBody(w http.ResponseWriter, r *http.Request) ([]byte, *graphError) {
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxRequestBody)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			// What Graph answers to a body labelled gzip that is not.
			return nil, odataError("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxRequestBody+1)
	default:
		return nil, &graphError{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType",
			Message: "Content-Encoding '" + enc + "' is not supported."}
	}
	data, err := io.ReadAll(body)
	if err != nil || len(data) > maxRequestBody {
		return nil, &graphError{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge",
			Message: "The request body is larger than the 1 MiB the emulator accepts."}
	}
	return data, nil
}

func (e *Emulator) patchFido2(w http.ResponseWriter, r *http.Request, who caller) {
	body, gerr := readRequestBody(w, r)
	if gerr != nil {
		writeGraphError(w, e.now(), gerr)
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		writeGraphError(w, e.now(), odataError("Empty Payload. JSON content expected."))
		return
	}
	version, gerr := e.applyPatch(who.tenantID, body, false, nil)
	if gerr != nil {
		writeGraphError(w, e.now(), gerr)
		return
	}
	setVersion(r, version)
	w.WriteHeader(http.StatusNoContent)
}

// tenantGone reports a tenant that disappeared between authentication and
// the operation; with the Go API only able to add tenants it cannot happen,
// but the handlers must answer something.
func tenantGone(err error) *graphError {
	return &graphError{Status: http.StatusNotFound, Code: "Request_ResourceNotFound", Message: err.Error()}
}

func (e *Emulator) serveAuthMethodsPolicy(w http.ResponseWriter, r *http.Request, who caller) {
	if r.Method != http.MethodGet {
		writeGraphError(w, e.now(), methodNotAllowed(r))
		return
	}
	if !who.hasAnyRole(policyReadRoles...) {
		writeGraphError(w, e.now(), policyAccessDenied())
		return
	}
	var doc jsonObject
	var modified string
	if err := e.withTenant(who.tenantID, func(tn *tenant) error {
		doc = tn.doc.clone()
		modified = tn.lastModified.UTC().Format("2006-01-02T15:04:05.0000000Z")
		return nil
	}); err != nil {
		writeGraphError(w, e.now(), tenantGone(err))
		return
	}
	// Only the fido2 configuration is emulated; the policy lists just it.
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context":       origin(r) + "/v1.0/$metadata#authenticationMethodsPolicy",
		"id":                   "authenticationMethodsPolicy",
		"displayName":          "Authentication Methods Policy",
		"description":          "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
		"lastModifiedDateTime": modified,
		"policyVersion":        "1.5",
		"policyMigrationState": "migrationComplete",
		"authenticationMethodConfigurations@odata.context": origin(r) + "/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
		"authenticationMethodConfigurations":               []jsonObject{renderFido2(doc, origin(r), "")},
	})
}

// groupResource is a group as Graph returns it (the properties the emulator
// knows of).
type groupResource struct {
	Context         string   `json:"@odata.context,omitempty"`
	Type            string   `json:"@odata.type,omitempty"`
	ID              string   `json:"id"`
	DisplayName     string   `json:"displayName"`
	Description     *string  `json:"description"`
	GroupTypes      []string `json:"groupTypes"`
	MailEnabled     bool     `json:"mailEnabled"`
	SecurityEnabled bool     `json:"securityEnabled"`
}

func newGroupResource(g Group, context string) groupResource {
	return groupResource{Context: context, ID: g.ID, DisplayName: g.DisplayName, GroupTypes: []string{}, SecurityEnabled: true}
}

// directoryAccessDenied is the directory's answer to a caller without a
// permission to read groups or users.
func directoryAccessDenied() *graphError {
	return &graphError{Status: http.StatusForbidden, Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."}
}

// resourceNotFound is the directory's answer for an id (or
// userPrincipalName) no object has.
func resourceNotFound(id string) *graphError {
	return &graphError{Status: http.StatusNotFound, Code: "Request_ResourceNotFound",
		Message: "Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."}
}

var groupReadRoles = []string{RoleGroupMemberRead, RoleGroupRead, RoleGroupReadWrite, RoleDirectoryRead, RoleDirectoryWrite}

// readAllowed answers a request that is not a GET, or whose caller has none
// of roles (with denied), and reports whether the request may go on.
func (e *Emulator) readAllowed(w http.ResponseWriter, r *http.Request, who caller, denied *graphError, roles ...string) bool {
	switch {
	case r.Method != http.MethodGet:
		writeGraphError(w, e.now(), methodNotAllowed(r))
	case !who.hasAnyRole(roles...):
		writeGraphError(w, e.now(), denied)
	default:
		return true
	}
	return false
}

// readTenant runs fn on a tenant under the lock and returns fn's refusal.
func (e *Emulator) readTenant(tenantID string, fn func(*tenant) *graphError) *graphError {
	var gerr *graphError
	if err := e.withTenant(tenantID, func(tn *tenant) error {
		gerr = fn(tn)
		return nil
	}); err != nil {
		return tenantGone(err)
	}
	return gerr
}

func (e *Emulator) serveGroup(w http.ResponseWriter, r *http.Request, who caller, id string) {
	if !e.readAllowed(w, r, who, directoryAccessDenied(), groupReadRoles...) {
		return
	}
	var g Group
	gerr := e.readTenant(who.tenantID, func(tn *tenant) *graphError {
		var found bool
		if g, found = tn.groups[normalizeID(id)]; !found {
			return resourceNotFound(id)
		}
		return nil
	})
	if gerr != nil {
		writeGraphError(w, e.now(), gerr)
		return
	}
	writeJSON(w, http.StatusOK, newGroupResource(g, origin(r)+"/v1.0/$metadata#groups/$entity"))
}

// unsupportedFilter refuses a $filter the emulator does not evaluate;
// supported says which ones it does.
func unsupportedFilter(supported string) *graphError {
	return &graphError{Status: http.StatusBadRequest, Code: "Request_UnsupportedQuery",
		Message: "Unsupported or invalid query filter clause specified; the emulator supports only " + supported + "."}
}

// displayNameFilter matches the one $filter the emulator supports:
// displayName eq '<value>', with ” escaping a quote as in OData.
var displayNameFilter = regexp.MustCompile(`^\s*displayName\s+eq\s+'((?:[^']|'')*)'\s*$`)

func (e *Emulator) serveGroupList(w http.ResponseWriter, r *http.Request, who caller) {
	if !e.readAllowed(w, r, who, directoryAccessDenied(), groupReadRoles...) {
		return
	}
	match := func(Group) bool { return true }
	if filter := r.URL.Query().Get("$filter"); filter != "" {
		m := displayNameFilter.FindStringSubmatch(filter)
		if m == nil {
			writeGraphError(w, e.now(), unsupportedFilter("displayName eq '<value>'"))
			return
		}
		want := strings.ReplaceAll(m[1], "''", "'")
		// Directory string comparisons ignore case.
		match = func(g Group) bool { return strings.EqualFold(g.DisplayName, want) }
	}
	var groups []Group
	_ = e.withTenant(who.tenantID, func(tn *tenant) error {
		for _, g := range tn.groups {
			if match(g) {
				groups = append(groups, g)
			}
		}
		return nil
	})
	slices.SortFunc(groups, func(a, b Group) int { return strings.Compare(a.ID, b.ID) })
	value := make([]groupResource, 0, len(groups))
	for _, g := range groups {
		value = append(value, newGroupResource(g, ""))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": origin(r) + "/v1.0/$metadata#groups",
		"value":          value,
	})
}
