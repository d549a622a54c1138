package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// testKey is one RSA key shared by the tests, because generating keys is
// the slowest thing they would otherwise do.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testEnv is an emulator served over TLS in-process.
type testEnv struct {
	t   *testing.T
	emu *Emulator
	srv *httptest.Server
}

func newTestEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	if opts.SigningKey == nil {
		opts.SigningKey = testKey()
	}
	emu, err := New(opts)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	srv := httptest.NewTLSServer(emu)
	t.Cleanup(srv.Close)
	return &testEnv{t: t, emu: emu, srv: srv}
}

func (env *testEnv) URL() string { return env.srv.URL }

func (env *testEnv) mustSeed(t Tenant) {
	env.t.Helper()
	if err := env.emu.Seed(t); err != nil {
		env.t.Fatalf("Seed() = %v", err)
	}
}

// seed creates a tenant with the app appRW holding a secret and the roles.
func (env *testEnv) seed(tenantID, secret string, roles ...string) {
	env.t.Helper()
	env.mustSeed(Tenant{ID: tenantID, Apps: []App{{ClientID: appRW, ClientSecret: secret, Roles: roles}}})
}

// clientOptions point azidentity at the emulator, as the operator does
// with a custom cloud.
func (env *testEnv) clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: env.URL()},
		Transport: env.srv.Client(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

// token gets an access token with a plain form POST.
func (env *testEnv) token(tenantID, clientID, secret string) string {
	env.t.Helper()
	resp, body := env.postForm("/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {env.URL() + "/.default"},
	})
	if resp.StatusCode != http.StatusOK {
		env.t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		env.t.Fatalf("token response: %v", err)
	}
	return tr.AccessToken
}

func (env *testEnv) postForm(path string, form url.Values) (*http.Response, []byte) {
	env.t.Helper()
	resp, err := env.srv.Client().PostForm(env.URL()+path, form)
	if err != nil {
		env.t.Fatalf("POST %s: %v", path, err)
	}
	return resp, readBody(env.t, resp)
}

// do sends a request with an optional bearer token and JSON body.
func (env *testEnv) do(method, path, token, body string) (*http.Response, []byte) {
	env.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.URL()+path, r)
	if err != nil {
		env.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		env.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, readBody(env.t, resp)
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b
}

// graphErrorBody is Graph's error body, to check error shapes.
type graphErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Message         string `json:"message"`
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// expectGraphError checks status, code, message (substring) and that the
// body's request ids match the response headers.
func expectGraphError(t *testing.T, resp *http.Response, body []byte, status int, code, msg string) {
	t.Helper()
	var ge graphErrorBody
	if err := json.Unmarshal(body, &ge); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if resp.StatusCode != status || ge.Error.Code != code || !strings.Contains(ge.Error.Message, msg) {
		t.Errorf("got %d %s %q, want %d %s containing %q", resp.StatusCode, ge.Error.Code, ge.Error.Message, status, code, msg)
	}
	if ge.Error.InnerError.RequestID == "" || ge.Error.InnerError.RequestID != resp.Header.Get("request-id") ||
		ge.Error.InnerError.ClientRequestID != resp.Header.Get("client-request-id") {
		t.Errorf("innerError %+v does not carry the response's request ids (%q, %q)", ge.Error.InnerError,
			resp.Header.Get("request-id"), resp.Header.Get("client-request-id"))
	}
	if _, err := time.Parse(graphDateLayout, ge.Error.InnerError.Date); err != nil {
		t.Errorf("innerError.date %q: %v", ge.Error.InnerError.Date, err)
	}
	if m := ge.Error.InnerError.Message; m != "" && m != ge.Error.Message {
		t.Errorf("innerError.message %q differs from message %q", m, ge.Error.Message)
	}
}

// expectPolicyError is expectGraphError for a refusal of the passkey policy
// service, whose bodies repeat the message in innerError.message.
func expectPolicyError(t *testing.T, resp *http.Response, body []byte, code, msg string) {
	t.Helper()
	expectGraphError(t, resp, body, http.StatusBadRequest, code, msg)
	var ge graphErrorBody
	_ = json.Unmarshal(body, &ge)
	if ge.Error.InnerError.Message != ge.Error.Message {
		t.Errorf("innerError.message = %q, want the message %q", ge.Error.InnerError.Message, ge.Error.Message)
	}
}
