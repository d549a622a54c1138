// Package emulator is a local stand-in for Microsoft Entra ID and the part of
// Microsoft Graph the passkey operator uses: OIDC discovery and a token
// endpoint that the unmodified azidentity credentials accept, and Graph
// v1.0's passkey (FIDO2) policy and groups with Entra's validation rules and
// error bodies. It serves several tenants, injects faults and counts
// requests.
//
// Emulator is an http.Handler; serve it over TLS (httptest.NewTLSServer in
// tests, cmd/entra-emulator standalone). docs/emulator.md describes what it
// enforces and where each rule comes from.
package emulator

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure an Emulator. The zero value is usable.
type Options struct {
	// Logger receives one line per request; nil logs nothing.
	Logger *slog.Logger
	// SigningKey signs access tokens; a new 2048-bit key when nil.
	SigningKey *rsa.PrivateKey
	// TokenLifetime of issued access tokens; one hour when zero.
	TokenLifetime time.Duration
	// DefaultFault is the fault setting of every tenant when it is created.
	DefaultFault Fault
	// Now is the emulator's clock (token times, expiry, dates); time.Now
	// when nil. Tests move it forward to expire tokens.
	Now func() time.Time
	// Seed makes ratio-based faults reproducible; random when zero.
	Seed uint64
	// ManagedIdentityHeader, when set, serves the managed identity endpoint
	// (ManagedIdentityPath) to callers that send it in X-IDENTITY-HEADER:
	// the value of IDENTITY_HEADER on an App Service host. Apps marked
	// ManagedIdentity get their tokens there.
	ManagedIdentityHeader string
	// Behavior answers, for every tenant, the questions about Entra that
	// the evidence leaves open (new profile ids, references to profiles
	// created in the same PATCH, attestation with synced passkeys); empty
	// fields take the built-in defaults. SetBehavior overrides it per tenant.
	Behavior Behavior
}

// Emulator is the Entra and Graph emulator. Its methods are safe for
// concurrent use.
type Emulator struct {
	opts     Options
	now      func() time.Time
	key      *rsa.PrivateKey
	kid      string
	identity *http.ServeMux
	admin    *http.ServeMux
	mds      *mdsService // the MDS3 stand-in (mds.go)

	mu      sync.Mutex // guards everything below
	tenants map[string]*tenant
	stats   map[RequestCount]int // keyed with Count zero
	rng     *mrand.Rand
}

// New returns an Emulator with no tenants.
func New(opts Options) (*Emulator, error) {
	if err := opts.DefaultFault.Validate(); err != nil {
		return nil, fmt.Errorf("default fault: %w", err)
	}
	if err := opts.Behavior.Validate(); err != nil {
		return nil, fmt.Errorf("behavior: %w", err)
	}
	key := opts.SigningKey
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("generate token signing key: %w", err)
		}
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	seed := opts.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	e := &Emulator{
		opts:    opts,
		now:     now,
		key:     key,
		kid:     keyID(&key.PublicKey),
		tenants: map[string]*tenant{},
		stats:   map[RequestCount]int{},
		rng:     mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	e.identity = e.identityRoutes()
	e.admin = e.adminRoutes()
	if err := e.serveMDS(); err != nil {
		return nil, err
	}
	return e, nil
}

// requestInfo travels with a request so handlers can name the tenant the
// request belongs to, for the stats and the log.
type requestInfo struct {
	tenant string
	// version is the policy version a fido2 request read or wrote, for the
	// request log (requestlog.go).
	version uint64
}

type requestInfoKey struct{}

// setTenant records which tenant a request belongs to.
func setTenant(r *http.Request, tenantID string) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.tenant = tenantID
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// ServeHTTP gives every response request-id and client-request-id headers,
// dispatches to the identity, Graph or admin handlers, counts the request
// and logs it.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newUUID()
	clientRequestID := r.Header.Get("client-request-id")
	if clientRequestID == "" {
		clientRequestID = requestID
	}
	w.Header().Set("request-id", requestID)
	w.Header().Set("client-request-id", clientRequestID)

	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	rec := &statusRecorder{ResponseWriter: w}
	isAdmin := strings.HasPrefix(r.URL.Path, "/_emulator/")

	// Deferred so that a dropped connection (a panic with
	// http.ErrAbortHandler) is counted and logged too, with status 0.
	defer func() {
		if !isAdmin {
			e.countRequest(RequestCount{Tenant: info.tenant, Method: r.Method, Path: r.URL.Path, Status: rec.status})
		}
		if info.tenant != "" && strings.HasPrefix(r.URL.Path, "/v1.0/") {
			e.recordRequest(info.tenant, RequestRecord{Method: r.Method, Path: r.URL.Path, Status: rec.status,
				Start: start, End: time.Now(), Version: info.version})
		}
		if e.opts.Logger != nil {
			e.opts.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"tenant", info.tenant, "duration", time.Since(start).Round(time.Microsecond), "request-id", requestID)
		}
	}()

	switch {
	case isAdmin:
		e.serveAdmin(rec, r)
	case strings.HasPrefix(r.URL.Path, "/v1.0/"):
		e.serveGraph(rec, r)
	default:
		e.identity.ServeHTTP(rec, r)
	}
}

// RequestCount is one line of the request statistics.
type RequestCount struct {
	Tenant string `json:"tenant"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	Count  int    `json:"count"`
}

// Stats counts the requests served (admin requests excluded), by tenant,
// method, path and status. A dropped connection has status 0.
type Stats struct {
	Requests []RequestCount `json:"requests"`
}

// AnyStatus makes Stats.Count match every status.
const AnyStatus = -1

// Count returns how many requests matched; an empty tenant, method or path
// and AnyStatus match anything (status 0 matches dropped connections).
func (s Stats) Count(tenant, method, path string, status int) int {
	n := 0
	for _, c := range s.Requests {
		if (tenant == "" || c.Tenant == tenant) && (method == "" || c.Method == method) &&
			(path == "" || c.Path == path) && (status == AnyStatus || c.Status == status) {
			n += c.Count
		}
	}
	return n
}

func (e *Emulator) countRequest(key RequestCount) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats[key]++
}

// Stats returns the request counts, sorted.
func (e *Emulator) Stats() Stats { return e.StatsOf("", "", "") }

// StatsOf is Stats for the requests of one tenant, method or path; an empty
// one matches anything, as in Stats.Count. A caller polling one count of a
// thousand tenants then neither gets nor sorts all the others.
func (e *Emulator) StatsOf(tenant, method, path string) Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := Stats{Requests: []RequestCount{}}
	for k, n := range e.stats {
		if (tenant == "" || k.Tenant == tenant) && (method == "" || k.Method == method) && (path == "" || k.Path == path) {
			k.Count = n
			out.Requests = append(out.Requests, k)
		}
	}
	slices.SortFunc(out.Requests, func(a, b RequestCount) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Method, b.Method), cmp.Compare(a.Status, b.Status))
	})
	return out
}

// ResetStats forgets all request counts.
func (e *Emulator) ResetStats() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.stats)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
