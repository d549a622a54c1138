package entra_test

import (
	"crypto/rsa"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/testcreds"
)

// More apps of the tenant the tests in fido2_client_test.go use.
const (
	groupApp = "e3e3e3e3-0000-4000-8000-000000000003" // policy read-write and Group.Read.All
	bareApp  = "e4e4e4e4-0000-4000-8000-000000000004" // no permissions
	certApp  = "e5e5e5e5-0000-4000-8000-000000000005" // signs in with a certificate
	wiApp    = "e6e6e6e6-0000-4000-8000-000000000006" // signs in with a federated service account token

	saIssuer  = "https://kubernetes.default.svc.cluster.local"
	saSubject = "system:serviceaccount:passkey-operator-system:controller-manager"

	tenantName = "acme"
)

// testEnv is an emulator served over TLS in-process, with one tenant and
// an app for each way of signing in.
type testEnv struct {
	emu   *emulator.Emulator
	srv   *httptest.Server
	clock *offsetClock
	cert  *x509.Certificate
}

// offsetClock is the emulator's clock: real time plus an offset tests move.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func newEnv(t *testing.T) *testEnv { return newEnvWithHandler(t, nil) }

// newEnvWithHandler serves the emulator through wrap (nil: directly), for
// tests that look at the requests themselves.
func newEnvWithHandler(t *testing.T, wrap func(http.Handler) http.Handler) *testEnv {
	t.Helper()
	env := &testEnv{clock: &offsetClock{}}
	emu, err := emulator.New(emulator.Options{SigningKey: testcreds.Key(), Now: env.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	env.emu = emu
	env.cert = testcreds.SelfSignedCert(t)
	federated := emulator.FederatedCredential{Issuer: saIssuer, Subject: saSubject, Keys: []*rsa.PublicKey{&testcreds.Key().PublicKey}}
	if err := emu.Seed(emulator.Tenant{
		ID: tenantID,
		Apps: []emulator.App{
			{ClientID: rwApp, ClientSecret: secret, Roles: []string{emulator.RolePolicyReadWrite}},
			{ClientID: roApp, ClientSecret: secret, Roles: []string{emulator.RolePolicyRead}},
			{ClientID: groupApp, ClientSecret: secret, Roles: emulator.ReadWriteRoles},
			{ClientID: bareApp, ClientSecret: secret},
			{ClientID: certApp, Certificates: []*x509.Certificate{env.cert}, Roles: []string{emulator.RolePolicyRead}},
			{ClientID: wiApp, Federated: []emulator.FederatedCredential{federated}, Roles: []string{emulator.RolePolicyRead}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = emu
	if wrap != nil {
		h = wrap(emu)
	}
	env.srv = httptest.NewTLSServer(h)
	t.Cleanup(env.srv.Close)
	return env
}

// config is a TenantConfig that reaches the emulator as a custom cloud
// with clientID's secret.
func (env *testEnv) config(clientID string) entra.TenantConfig {
	return entra.TenantConfig{
		Name:          tenantName,
		TenantID:      tenantID,
		Cloud:         entra.CloudCustom,
		AuthorityHost: env.srv.URL,
		GraphEndpoint: env.srv.URL,
		Credential:    entra.CredentialClientSecret,
		ClientID:      clientID,
		Secret:        entra.SecretBytes(secret),
	}
}

// options trust the emulator's certificate, as a CA bundle would.
func (env *testEnv) options() entra.ClientOptions {
	return entra.ClientOptions{HTTPClient: env.srv.Client()}
}

func (env *testEnv) client(t *testing.T, cfg entra.TenantConfig) *entra.Client {
	t.Helper()
	c, err := entra.NewClient(cfg, env.options())
	if err != nil {
		t.Fatalf("NewClient() = %v", err)
	}
	return c
}

// tokenCount is how many access tokens the emulator issued.
func (env *testEnv) tokenCount() int {
	return env.emu.Stats().Count(tenantID, http.MethodPost, "/"+tenantID+"/oauth2/v2.0/token", http.StatusOK)
}

// certPEM is what a ClientCertificate Secret holds.
func (env *testEnv) certPEM(t *testing.T) []byte {
	t.Helper()
	return testcreds.CertificatePEM(t, env.cert)
}

// writeServiceAccountToken writes what the kubelet projects for workload
// identity: a token from the cluster's issuer for Entra's audience.
func writeServiceAccountToken(t *testing.T) string {
	t.Helper()
	token := testcreds.ServiceAccountToken(t, saIssuer, saSubject, emulator.DefaultFederatedAudience, time.Now().Add(time.Hour))
	return testcreds.WriteFile(t, "token", []byte(token))
}
