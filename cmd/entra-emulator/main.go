// Command entra-emulator serves a local Microsoft Entra ID and the passkey
// part of Microsoft Graph over HTTPS, for demos and tests. See
// docs/emulator.md.
//
//	go run ./cmd/entra-emulator --state-dir /tmp/emu
//	curl --cacert /tmp/emu/ca.pem https://127.0.0.1:8443/<tenant>/v2.0/.well-known/openid-configuration
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "entra-emulator:", err)
		os.Exit(1)
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type config struct {
	addr     string
	stateDir string
	tenants  listFlag
	groups   listFlag
	hosts    listFlag
	fault    emulator.Fault
	latency  time.Duration
	// managedIdentities are TENANT_ID:CLIENT_ID values; identityHeader is
	// the IDENTITY_HEADER their processes send.
	managedIdentities listFlag
	identityHeader    string
	// documents are TENANT_ID:FILE values: a tenant's starting fido2
	// document.
	documents listFlag
	// generate are TENANT_ID:COUNT:GROUPS:PASSKEY_SHARE values: synthetic
	// users for a tenant.
	generate listFlag
	// behavior answers the questions about Entra no evidence settles.
	behavior                                         emulator.Behavior
	newProfileIDs, samePatchRef, attestationWithSync string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("entra-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8443", "address to serve HTTPS on")
	fs.StringVar(&c.stateDir, "state-dir", filepath.Join(os.TempDir(), "entra-emulator"),
		"directory for ca.pem (the CA of the serving certificate) and keys; created on first start, reused after")
	fs.Var(&c.tenants, "tenant", "TENANT_ID:CLIENT_ID:CLIENT_SECRET: a tenant and an app with read-write roles (repeatable)")
	fs.Var(&c.groups, "group", "TENANT_ID:GROUP_ID:DISPLAY_NAME: a group in a tenant (repeatable)")
	fs.Var(&c.hosts, "san", "extra DNS name or IP address for the serving certificate (repeatable)")
	fs.Var(&c.managedIdentities, "managed-identity",
		"TENANT_ID:CLIENT_ID: a managed identity with read-write roles, served at "+emulator.ManagedIdentityPath+" (repeatable; needs --managed-identity-header)")
	fs.StringVar(&c.identityHeader, "managed-identity-header", "",
		"serve the App Service managed identity endpoint "+emulator.ManagedIdentityPath+" to callers sending this X-IDENTITY-HEADER (their IDENTITY_HEADER)")
	fs.Var(&c.documents, "tenant-document",
		"TENANT_ID:FILE: start the tenant with this Graph fido2 document, stored exactly as given (any state a real tenant holds, e.g. never migrated to passkey profiles); repeatable")
	fs.Var(&c.generate, "generate-users",
		"TENANT_ID:COUNT:GROUPS:PASSKEY_SHARE: add COUNT synthetic users spread over GROUPS groups, the fraction PASSKEY_SHARE with a passkey (repeatable; the tenant needs a --tenant or --managed-identity)")
	fs.StringVar(&c.newProfileIDs, "new-profile-ids", string(emulator.NewProfileIDsAssign),
		"what a PATCH gets for an id it gives a new passkey profile: assign (a new GUID instead), honour (kept) or reject (400) — unknown in Entra")
	fs.StringVar(&c.samePatchRef, "same-patch-reference", string(emulator.Refuse),
		"whether an include target may name a profile created in the same PATCH: refuse (400) or allow — unknown in Entra")
	fs.StringVar(&c.attestationWithSync, "attestation-with-synced", string(emulator.Refuse),
		"whether a PATCH may newly make a profile enforce attestation while allowing synced passkeys: refuse (400) or allow — unknown in Entra")
	fs.DurationVar(&c.latency, "latency", 0, "latency added to every Graph response")
	fs.IntVar(&c.fault.ThrottleEvery, "throttle-every", 0, "answer every Nth Graph request of a tenant with 429")
	fs.Float64Var(&c.fault.ThrottleRatio, "throttle-ratio", 0, "answer this fraction of Graph requests with 429")
	fs.IntVar(&c.fault.UnavailableEvery, "unavailable-every", 0, "answer every Nth Graph request of a tenant with 503")
	fs.Float64Var(&c.fault.UnavailableRatio, "unavailable-ratio", 0, "answer this fraction of Graph requests with 503")
	fs.IntVar(&c.fault.DropEvery, "drop-every", 0, "drop the connection of every Nth Graph request of a tenant")
	fs.Float64Var(&c.fault.DropRatio, "drop-ratio", 0, "drop the connection of this fraction of Graph requests")
	fs.IntVar(&c.fault.RetryAfterSeconds, "retry-after", 1, "Retry-After seconds sent with 429 and 503")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c.fault.LatencyMS = int(c.latency / time.Millisecond)
	if len(c.managedIdentities) > 0 && c.identityHeader == "" {
		return c, errors.New("--managed-identity needs --managed-identity-header: without it there is no managed identity endpoint")
	}
	var err error
	if c.behavior.NewProfileIDs, err = emulator.ParseNewProfileIDs(c.newProfileIDs); err != nil {
		return c, fmt.Errorf("--new-profile-ids %w", err)
	}
	if c.behavior.SamePatchReference, err = emulator.ParseVerdict(c.samePatchRef); err != nil {
		return c, fmt.Errorf("--same-patch-reference %w", err)
	}
	if c.behavior.AttestationWithSynced, err = emulator.ParseVerdict(c.attestationWithSync); err != nil {
		return c, fmt.Errorf("--attestation-with-synced %w", err)
	}
	return c, c.fault.Validate()
}

// parseTenants turns --tenant and --group values into seeds. With no
// --tenant it makes one demo tenant with random ids and secret.
func parseTenants(c config) ([]emulator.Tenant, bool, error) {
	byID := map[string]*emulator.Tenant{}
	var order []string
	get := func(id string) *emulator.Tenant {
		if t, ok := byID[id]; ok {
			return t
		}
		byID[id] = &emulator.Tenant{ID: id}
		order = append(order, id)
		return byID[id]
	}
	for _, v := range c.tenants {
		parts := strings.SplitN(v, ":", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, false, fmt.Errorf("--tenant %q: want TENANT_ID:CLIENT_ID:CLIENT_SECRET", v)
		}
		t := get(parts[0])
		t.Apps = append(t.Apps, emulator.App{ClientID: parts[1], ClientSecret: parts[2], Roles: emulator.ReadWriteRoles})
	}
	for _, v := range c.managedIdentities {
		parts := strings.Split(v, ":")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return nil, false, fmt.Errorf("--managed-identity %q: want TENANT_ID:CLIENT_ID", v)
		}
		t := get(parts[0])
		t.Apps = append(t.Apps, emulator.App{ClientID: parts[1], ManagedIdentity: true, Roles: emulator.ReadWriteRoles})
	}
	demo := len(order) == 0
	if demo {
		t := get(randomUUID())
		t.Apps = append(t.Apps, emulator.App{ClientID: randomUUID(), ClientSecret: randomSecret(), Roles: emulator.ReadWriteRoles})
	}
	for _, v := range c.groups {
		parts := strings.SplitN(v, ":", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, false, fmt.Errorf("--group %q: want TENANT_ID:GROUP_ID:DISPLAY_NAME", v)
		}
		if _, ok := byID[parts[0]]; !ok && !demo {
			return nil, false, fmt.Errorf("--group %q: tenant %s has no --tenant", v, parts[0])
		}
		t := get(parts[0])
		t.Groups = append(t.Groups, emulator.Group{ID: parts[1], DisplayName: parts[2]})
	}
	for _, v := range c.documents {
		tenantID, file, ok := strings.Cut(v, ":")
		if !ok || tenantID == "" || file == "" {
			return nil, false, fmt.Errorf("--tenant-document %q: want TENANT_ID:FILE", v)
		}
		t, known := byID[tenantID]
		if !known || demo {
			return nil, false, fmt.Errorf("--tenant-document %q: tenant %s has no --tenant or --managed-identity", v, tenantID)
		}
		if len(t.Fido2) > 0 {
			return nil, false, fmt.Errorf("--tenant-document %q: tenant %s has a document already", v, tenantID)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, false, fmt.Errorf("--tenant-document %q: %w", v, err)
		}
		if !json.Valid(data) {
			return nil, false, fmt.Errorf("--tenant-document %q: %s is not JSON", v, file)
		}
		t.Fido2 = data
	}
	out := make([]emulator.Tenant, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, demo, nil
}

// generation is a --generate-users value.
type generation struct {
	tenantID string
	spec     emulator.UserGeneration
}

// parseGenerations reads --generate-users values for tenants given with
// --tenant or --managed-identity.
func parseGenerations(values []string, tenants []emulator.Tenant, demo bool) ([]generation, error) {
	var out []generation
	for _, v := range values {
		parts := strings.Split(v, ":")
		if len(parts) != 4 {
			return nil, fmt.Errorf("--generate-users %q: want TENANT_ID:COUNT:GROUPS:PASSKEY_SHARE", v)
		}
		known := slices.ContainsFunc(tenants, func(t emulator.Tenant) bool { return t.ID == parts[0] })
		if !known || demo {
			return nil, fmt.Errorf("--generate-users %q: tenant %s has no --tenant or --managed-identity", v, parts[0])
		}
		g := generation{tenantID: parts[0]}
		var err error
		if g.spec.Count, err = strconv.Atoi(parts[1]); err == nil {
			if g.spec.Groups, err = strconv.Atoi(parts[2]); err == nil {
				g.spec.PasskeyShare, err = strconv.ParseFloat(parts[3], 64)
			}
		}
		if err == nil {
			err = g.spec.Validate()
		}
		if err != nil {
			return nil, fmt.Errorf("--generate-users %q: %w", v, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// run serves until ctx is done, then shuts down gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	tenants, demo, err := parseTenants(c)
	if err != nil {
		return err
	}
	generations, err := parseGenerations(c.generate, tenants, demo)
	if err != nil {
		return err
	}

	ca, err := emulator.LoadOrCreateCA(c.stateDir)
	if err != nil {
		return err
	}
	signingKey, err := emulator.LoadOrCreateSigningKey(c.stateDir)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", c.addr, err)
	}
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, c.hosts...)
	if host != "" && host != "0.0.0.0" && host != "::" {
		hosts = append(hosts, host)
	}
	cert, err := ca.ServerCertificate(hosts)
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	emu, err := emulator.New(emulator.Options{Logger: logger, SigningKey: signingKey, DefaultFault: c.fault,
		ManagedIdentityHeader: c.identityHeader, Behavior: c.behavior})
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if err := emu.Seed(t); err != nil {
			if len(t.Fido2) > 0 {
				return fmt.Errorf("--tenant-document for %s: %w", t.ID, err)
			}
			return err
		}
	}
	for _, g := range generations {
		if err := emu.GenerateUsers(g.tenantID, g.spec); err != nil {
			return fmt.Errorf("--generate-users for %s: %w", g.tenantID, err)
		}
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           emu,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	// The listener's port, not the flag's: --addr may say port 0.
	urlHost := host
	if urlHost == "" || urlHost == "0.0.0.0" || urlHost == "::" {
		urlHost = "127.0.0.1"
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "https://" + net.JoinHostPort(urlHost, port)
	printBanner(stdout, base, filepath.Join(c.stateDir, emulator.CAFile), tenants, demo)
	fmt.Fprintf(stdout, "  open questions: --new-profile-ids %s --same-patch-reference %s --attestation-with-synced %s\n",
		c.behavior.NewProfileIDs, c.behavior.SamePatchReference, c.behavior.AttestationWithSynced)
	for _, g := range generations {
		fmt.Fprintf(stdout, "  tenant %s  %d generated users in %d groups, %v with a passkey\n", g.tenantID, g.spec.Count, g.spec.Groups, g.spec.PasskeyShare)
	}
	if c.identityHeader != "" {
		fmt.Fprintf(stdout, "  managed identity: IDENTITY_ENDPOINT=%s%s IDENTITY_HEADER=<--managed-identity-header>\n", base, emulator.ManagedIdentityPath)
	}

	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func printBanner(w io.Writer, base, caPath string, tenants []emulator.Tenant, demo bool) {
	fmt.Fprintf(w, "entra-emulator listening on %s\n", base)
	fmt.Fprintf(w, "  authority host: %s   graph endpoint: %s   CA: %s\n", base, base, caPath)
	if demo {
		fmt.Fprintln(w, "  no --tenant given; created a demo tenant:")
	}
	for _, t := range tenants {
		for _, a := range t.Apps {
			fmt.Fprintf(w, "  tenant %s  client %s", t.ID, a.ClientID)
			if a.ManagedIdentity {
				fmt.Fprint(w, " (managed identity)")
			}
			if demo {
				fmt.Fprintf(w, "  secret %s", a.ClientSecret)
			}
			fmt.Fprintf(w, "  roles %s\n", strings.Join(a.Roles, ","))
		}
		for _, g := range t.Groups {
			fmt.Fprintf(w, "  tenant %s  group %s %q\n", t.ID, g.ID, g.DisplayName)
		}
		if len(t.Fido2) > 0 {
			fmt.Fprintf(w, "  tenant %s  fido2 document from --tenant-document\n", t.ID)
		}
	}
	fmt.Fprintf(w, "  admin API: %s/_emulator/stats (loopback only)\n", base)
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func randomSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
