package emulator

import (
	"cmp"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The admin API under /_emulator/: not Graph, no authentication, loopback
// callers only. Its paths and the stats shape are an interface.
//
//	GET    /_emulator/stats                       request counts (?tenant=, ?method=, ?path= keep those only)
//	DELETE /_emulator/stats                       forget request counts
//	GET    /_emulator/tenants                     tenants with versions
//	POST   /_emulator/tenants                     seed a tenant (body: tenantJSON); again: an app given replaces its
//	                                              roles and credentials (consent granted, a new secret), for new tokens only
//	GET    /_emulator/tenants/{tenant}            one tenant: version, fault, behaviour, apps, groups, stored policy
//	POST   /_emulator/tenants/{tenant}/reset      default policy, version 0
//	PUT    /_emulator/tenants/{tenant}/fault      set faults (body: Fault)
//	DELETE /_emulator/tenants/{tenant}/fault      clear faults
//	GET    /_emulator/tenants/{tenant}/behavior   answers to the open questions (Behavior)
//	PUT    /_emulator/tenants/{tenant}/behavior   set them (body: Behavior; empty fields: defaults)
//	DELETE /_emulator/tenants/{tenant}/behavior   back to the emulator's defaults
//	GET    /_emulator/tenants/{tenant}/fido2      the stored policy (raw) and its version
//	PUT    /_emulator/tenants/{tenant}/fido2      store a Graph fido2 document as given (PutFido2)
//	PATCH  /_emulator/tenants/{tenant}/fido2      edit the policy as the portal would (Graph PATCH body; If-Match: version)
//	GET    /_emulator/tenants/{tenant}/requests   the tenant's Graph requests with times and versions
//	POST   /_emulator/tenants/{tenant}/users/generate  add synthetic users and groups (body: UserGeneration)

func (e *Emulator) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_emulator/stats", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		writeJSON(w, http.StatusOK, e.StatsOf(q.Get("tenant"), q.Get("method"), q.Get("path")))
	})
	mux.HandleFunc("DELETE /_emulator/stats", func(w http.ResponseWriter, r *http.Request) {
		e.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/tenants", e.adminListTenants)
	mux.HandleFunc("POST /_emulator/tenants", e.adminSeed)
	mux.HandleFunc("GET /_emulator/tenants/{tenant}", e.adminGetTenant)
	mux.HandleFunc("POST /_emulator/tenants/{tenant}/reset", func(w http.ResponseWriter, r *http.Request) {
		adminReply(w, e.Reset(r.PathValue("tenant")), http.StatusNoContent, nil)
	})
	mux.HandleFunc("PUT /_emulator/tenants/{tenant}/fault", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := readJSON(r, &f); err != nil {
			adminReply(w, err, 0, nil)
			return
		}
		adminReply(w, e.SetFault(r.PathValue("tenant"), f), http.StatusNoContent, nil)
	})
	mux.HandleFunc("DELETE /_emulator/tenants/{tenant}/fault", func(w http.ResponseWriter, r *http.Request) {
		adminReply(w, e.SetFault(r.PathValue("tenant"), Fault{}), http.StatusNoContent, nil)
	})
	mux.HandleFunc("GET /_emulator/tenants/{tenant}/fido2", func(w http.ResponseWriter, r *http.Request) {
		doc, v, err := e.Fido2JSON(r.PathValue("tenant"))
		adminReply(w, err, http.StatusOK, map[string]any{"version": v, "document": doc})
	})
	mux.HandleFunc("PUT /_emulator/tenants/{tenant}/fido2", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
		if err == nil {
			err = e.PutFido2(r.PathValue("tenant"), body)
		}
		var v uint64
		if err == nil {
			v, err = e.Version(r.PathValue("tenant"))
		}
		adminReply(w, err, http.StatusOK, map[string]any{"version": v})
	})
	mux.HandleFunc("PATCH /_emulator/tenants/{tenant}/fido2", e.adminPortalPatch)
	mux.HandleFunc("GET /_emulator/tenants/{tenant}/requests", func(w http.ResponseWriter, r *http.Request) {
		requests, err := e.Requests(r.PathValue("tenant"))
		adminReply(w, err, http.StatusOK, map[string]any{"requests": requests})
	})
	mux.HandleFunc("GET /_emulator/tenants/{tenant}/behavior", func(w http.ResponseWriter, r *http.Request) {
		b, err := e.Behavior(r.PathValue("tenant"))
		adminReply(w, err, http.StatusOK, b)
	})
	mux.HandleFunc("PUT /_emulator/tenants/{tenant}/behavior", func(w http.ResponseWriter, r *http.Request) {
		var b Behavior
		if err := readJSON(r, &b); err != nil {
			adminReply(w, err, 0, nil)
			return
		}
		adminReply(w, e.SetBehavior(r.PathValue("tenant"), b), http.StatusNoContent, nil)
	})
	mux.HandleFunc("DELETE /_emulator/tenants/{tenant}/behavior", func(w http.ResponseWriter, r *http.Request) {
		adminReply(w, e.SetBehavior(r.PathValue("tenant"), Behavior{}), http.StatusNoContent, nil)
	})
	mux.HandleFunc("POST /_emulator/tenants/{tenant}/users/generate", func(w http.ResponseWriter, r *http.Request) {
		var g UserGeneration
		if err := readJSON(r, &g); err != nil {
			adminReply(w, err, 0, nil)
			return
		}
		adminReply(w, e.GenerateUsers(r.PathValue("tenant"), g), http.StatusNoContent, nil)
	})

	return mux
}

// serveAdmin refuses callers that are not on a loopback address.
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "the admin API answers loopback callers only"})
		return
	}
	e.admin.ServeHTTP(w, r)
}

// tenantJSON is the admin API's wire form of Tenant.
type tenantJSON struct {
	TenantID string    `json:"tenantId"`
	Apps     []appJSON `json:"apps,omitempty"`
	Groups   []Group   `json:"groups,omitempty"`
	Users    []User    `json:"users,omitempty"`
	// Premium: Tenant.Premium.
	Premium *bool `json:"premium,omitempty"`
	// Fido2 is the tenant's passkey policy (Tenant.Fido2).
	Fido2 json.RawMessage `json:"fido2,omitempty"`
	// Behavior sets the tenant's answers to the open questions.
	Behavior *Behavior `json:"behavior,omitempty"`
}

type appJSON struct {
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret,omitempty"`
	Roles        []string `json:"roles"`
	// CertificatesPEM are PEM-encoded X.509 certificates.
	CertificatesPEM []string        `json:"certificatesPem,omitempty"`
	Federated       []federatedJSON `json:"federatedCredentials,omitempty"`
	// ManagedIdentity: see App.ManagedIdentity.
	ManagedIdentity bool `json:"managedIdentity,omitempty"`
}

type federatedJSON struct {
	Issuer   string `json:"issuer"`
	Subject  string `json:"subject"`
	Audience string `json:"audience,omitempty"`
	// JWKS holds the issuer's signing keys as a JSON Web Key Set.
	JWKS json.RawMessage `json:"jwks"`
}

func (a appJSON) app() (App, error) {
	app := App{ClientID: a.ClientID, ClientSecret: a.ClientSecret, Roles: a.Roles, ManagedIdentity: a.ManagedIdentity}
	for _, p := range a.CertificatesPEM {
		block, _ := pem.Decode([]byte(p))
		if block == nil || block.Type != "CERTIFICATE" {
			return App{}, fmt.Errorf("app %s: certificatesPem holds something other than a PEM certificate", a.ClientID)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return App{}, fmt.Errorf("app %s: %w", a.ClientID, err)
		}
		app.Certificates = append(app.Certificates, cert)
	}
	for _, f := range a.Federated {
		keys, err := ParseJWKS(f.JWKS)
		if err != nil {
			return App{}, fmt.Errorf("app %s: federated credential %s: %w", a.ClientID, f.Issuer, err)
		}
		app.Federated = append(app.Federated, FederatedCredential{Issuer: f.Issuer, Subject: f.Subject, Audience: f.Audience, Keys: keys})
	}
	return app, nil
}

func (e *Emulator) adminSeed(w http.ResponseWriter, r *http.Request) {
	var in tenantJSON
	if err := readJSON(r, &in); err != nil {
		adminReply(w, err, 0, nil)
		return
	}
	if in.Behavior != nil {
		if err := in.Behavior.Validate(); err != nil {
			adminReply(w, err, 0, nil)
			return
		}
	}
	t := Tenant{ID: in.TenantID, Groups: in.Groups, Users: in.Users, Premium: in.Premium, Fido2: in.Fido2}
	for _, a := range in.Apps {
		app, err := a.app()
		if err != nil {
			adminReply(w, err, 0, nil)
			return
		}
		t.Apps = append(t.Apps, app)
	}
	if err := e.Seed(t); err != nil {
		adminReply(w, err, 0, nil)
		return
	}
	if in.Behavior != nil {
		if err := e.SetBehavior(t.ID, *in.Behavior); err != nil {
			adminReply(w, err, 0, nil)
			return
		}
	}
	w.WriteHeader(http.StatusCreated)
}

// tenantSummary is what the admin API shows of a tenant: never secrets.
type tenantSummary struct {
	TenantID string       `json:"tenantId"`
	Version  uint64       `json:"version"`
	Fault    Fault        `json:"fault"`
	Behavior *Behavior    `json:"behavior,omitempty"`
	Apps     []appSummary `json:"apps,omitempty"`
	Groups   []Group      `json:"groups,omitempty"`
	// Premium and Users are shown in detail only; users are counted, not
	// listed: a tenant may hold 100,000.
	Premium *bool `json:"premium,omitempty"`
	Users   *int  `json:"users,omitempty"`
	// Fido2 is the stored passkey policy, raw (as Fido2JSON returns it).
	Fido2 json.RawMessage `json:"fido2,omitempty"`
}

type appSummary struct {
	ClientID             string   `json:"clientId"`
	Roles                []string `json:"roles"`
	HasSecret            bool     `json:"hasSecret"`
	Certificates         int      `json:"certificates"`
	FederatedCredentials int      `json:"federatedCredentials"`
	ManagedIdentity      bool     `json:"managedIdentity,omitempty"`
}

func (e *Emulator) summarize(tn *tenant, detail bool) tenantSummary {
	s := tenantSummary{TenantID: tn.id, Version: tn.version, Fault: tn.fault}
	if !detail {
		return s
	}
	b := e.effectiveBehavior(tn)
	s.Behavior = &b
	s.Fido2 = tn.doc.bytes()
	premium, users := tn.premium, len(tn.directory.users)
	s.Premium, s.Users = &premium, &users
	for _, a := range tn.apps {
		s.Apps = append(s.Apps, appSummary{ClientID: a.ClientID, Roles: a.Roles, HasSecret: a.ClientSecret != "",
			Certificates: len(a.Certificates), FederatedCredentials: len(a.Federated), ManagedIdentity: a.ManagedIdentity})
	}
	slices.SortFunc(s.Apps, func(a, b appSummary) int { return cmp.Compare(a.ClientID, b.ClientID) })
	for _, g := range tn.groups {
		s.Groups = append(s.Groups, g)
	}
	slices.SortFunc(s.Groups, func(a, b Group) int { return cmp.Compare(a.ID, b.ID) })
	return s
}

func (e *Emulator) adminListTenants(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	out := make([]tenantSummary, 0, len(e.tenants))
	for _, tn := range e.tenants {
		out = append(out, e.summarize(tn, false))
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b tenantSummary) int { return cmp.Compare(a.TenantID, b.TenantID) })
	writeJSON(w, http.StatusOK, map[string]any{"tenants": out})
}

func (e *Emulator) adminGetTenant(w http.ResponseWriter, r *http.Request) {
	var s tenantSummary
	err := e.withTenant(r.PathValue("tenant"), func(tn *tenant) error {
		s = e.summarize(tn, true)
		return nil
	})
	adminReply(w, err, http.StatusOK, s)
}

func (e *Emulator) adminPortalPatch(w http.ResponseWriter, r *http.Request) {
	body, gerr := readRequestBody(w, r)
	if gerr != nil {
		writeGraphError(w, e.now(), gerr)
		return
	}
	var v uint64
	ifVersion, gerr := ifMatchVersion(r)
	if gerr == nil {
		v, gerr = e.applyPatch(r.PathValue("tenant"), body, true, ifVersion)
	}
	if gerr != nil {
		writeGraphError(w, e.now(), gerr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": v})
}

// ifMatchVersion reads the policy version a portal edit may apply to from
// If-Match (a plain or quoted number); nil when the header is absent.
func ifMatchVersion(r *http.Request) (*uint64, *graphError) {
	h := strings.Trim(strings.TrimSpace(r.Header.Get("If-Match")), `"`)
	if h == "" {
		return nil, nil
	}
	v, err := strconv.ParseUint(h, 10, 64)
	if err != nil {
		return nil, &graphError{Status: http.StatusBadRequest, Code: "BadRequest",
			Message: "If-Match must be a policy version, a number: " + err.Error()}
	}
	return &v, nil
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	return nil
}

// adminReply writes err as {"error": ...} (404 for an unknown tenant, else
// 400: every other failure is a request the caller got wrong), or v (or no
// body when v is nil) with okStatus.
func adminReply(w http.ResponseWriter, err error, okStatus int, v any) {
	switch {
	case errors.Is(err, ErrUnknownTenant):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case v == nil:
		w.WriteHeader(okStatus)
	default:
		writeJSON(w, okStatus, v)
	}
}
