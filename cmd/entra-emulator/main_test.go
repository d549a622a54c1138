package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// neverMigratedDoc is a tenant's fido2 document from before passkey
// profiles.
const neverMigratedDoc = `{"state":"disabled","isSelfServiceRegistrationAllowed":true,"isAttestationEnforced":false,` +
	`"keyRestrictions":{"isEnforced":false,"enforcementType":"block","aaGuids":[]},"defaultPasskeyProfile":null,"passkeyProfiles":[],` +
	`"includeTargets":[{"targetType":"group","id":"all_users","isRegistrationRequired":false}],"excludeTargets":[]}`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseBehavior(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	want := emulator.Behavior{NewProfileIDs: emulator.NewProfileIDsAssign, SamePatchReference: emulator.Refuse, AttestationWithSynced: emulator.Refuse}
	if err != nil || c.behavior != want {
		t.Errorf("defaults = %+v, %v, want %+v", c.behavior, err, want)
	}
	c, err = parseFlags([]string{"--new-profile-ids", "honour", "--same-patch-reference", "allow", "--attestation-with-synced", "allow"}, io.Discard)
	want = emulator.Behavior{NewProfileIDs: emulator.NewProfileIDsHonour, SamePatchReference: emulator.Allow, AttestationWithSynced: emulator.Allow}
	if err != nil || c.behavior != want {
		t.Errorf("parsed = %+v, %v, want %+v", c.behavior, err, want)
	}
	if c, err := parseFlags([]string{"--new-profile-ids", "reject"}, io.Discard); err != nil || c.behavior.NewProfileIDs != emulator.NewProfileIDsReject {
		t.Errorf("reject = %+v, %v", c.behavior, err)
	}
}

func TestParseTenants(t *testing.T) {
	docFile := writeFile(t, "never-migrated.json", neverMigratedDoc)
	badFile := writeFile(t, "bad.json", `{"state":`)
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, tenants []emulator.Tenant, demo bool)
		wantErr string
	}{
		{
			name: "tenants and groups",
			args: []string{"--tenant", "t1:c1:s:with:colons", "--tenant", "t2:c2:s2", "--group", "t1:g1:Admins: EMEA"},
			check: func(t *testing.T, tenants []emulator.Tenant, demo bool) {
				if demo || len(tenants) != 2 || tenants[0].ID != "t1" || tenants[0].Apps[0].ClientSecret != "s:with:colons" ||
					tenants[0].Groups[0].DisplayName != "Admins: EMEA" || len(tenants[1].Groups) != 0 {
					t.Errorf("tenants = %+v, demo %v", tenants, demo)
				}
				if roles := tenants[1].Apps[0].Roles; len(roles) != 2 || roles[0] != emulator.RolePolicyReadWrite {
					t.Errorf("roles = %v, want the read-write roles", roles)
				}
			},
		},
		{
			name: "demo tenant",
			args: nil,
			check: func(t *testing.T, tenants []emulator.Tenant, demo bool) {
				if !demo || len(tenants) != 1 || len(tenants[0].Apps) != 1 || tenants[0].Apps[0].ClientSecret == "" {
					t.Errorf("tenants = %+v, demo %v", tenants, demo)
				}
			},
		},
		{
			name: "managed identities",
			args: []string{"--tenant", "t1:c1:s", "--managed-identity", "t1:m1", "--managed-identity", "t2:m2", "--managed-identity-header", "h"},
			check: func(t *testing.T, tenants []emulator.Tenant, demo bool) {
				if demo || len(tenants) != 2 || len(tenants[0].Apps) != 2 || tenants[0].Apps[0].ManagedIdentity ||
					!tenants[0].Apps[1].ManagedIdentity || tenants[0].Apps[1].ClientID != "m1" || tenants[0].Apps[1].ClientSecret != "" ||
					tenants[1].ID != "t2" || !tenants[1].Apps[0].ManagedIdentity || len(tenants[1].Apps[0].Roles) != 2 {
					t.Errorf("tenants = %+v, demo %v", tenants, demo)
				}
			},
		},
		{name: "managed identity without the header", args: []string{"--managed-identity", "t1:m1"}, wantErr: "needs --managed-identity-header"},
		{name: "incomplete managed identity", args: []string{"--managed-identity", "t1", "--managed-identity-header", "h"}, wantErr: "want TENANT_ID:CLIENT_ID"},
		{name: "incomplete tenant", args: []string{"--tenant", "t1:c1"}, wantErr: "want TENANT_ID:CLIENT_ID:CLIENT_SECRET"},
		{name: "group of an unknown tenant", args: []string{"--tenant", "t1:c1:s", "--group", "t9:g:G"}, wantErr: "tenant t9 has no --tenant"},
		{name: "invalid fault", args: []string{"--throttle-ratio", "3"}, wantErr: "outside [0, 1]"},
		{
			name: "tenant documents",
			args: []string{"--tenant", "t1:c1:s", "--tenant", "t2:c2:s", "--tenant-document", "t2:" + docFile},
			check: func(t *testing.T, tenants []emulator.Tenant, demo bool) {
				if len(tenants[0].Fido2) != 0 || string(tenants[1].Fido2) != neverMigratedDoc {
					t.Errorf("documents = %q, %q", tenants[0].Fido2, tenants[1].Fido2)
				}
			},
		},
		{name: "document of a tenant without --tenant", args: []string{"--tenant", "t1:c1:s", "--tenant-document", "t9:" + docFile},
			wantErr: `--tenant-document "t9:` + docFile + `": tenant t9 has no --tenant or --managed-identity`},
		{name: "document without a tenant", args: []string{"--tenant-document", docFile}, wantErr: "want TENANT_ID:FILE"},
		{name: "two documents for a tenant", args: []string{"--tenant", "t1:c1:s", "--tenant-document", "t1:" + docFile, "--tenant-document", "t1:" + docFile},
			wantErr: "tenant t1 has a document already"},
		{name: "document file missing", args: []string{"--tenant", "t1:c1:s", "--tenant-document", "t1:" + docFile + ".missing"}, wantErr: "no such file"},
		{name: "document not JSON", args: []string{"--tenant", "t1:c1:s", "--tenant-document", "t1:" + badFile}, wantErr: "is not JSON"},
		{name: "bad --new-profile-ids", args: []string{"--new-profile-ids", "keep"}, wantErr: `--new-profile-ids "keep": want assign, honour or reject`},
		{name: "bad --same-patch-reference", args: []string{"--same-patch-reference", "yes"}, wantErr: `--same-patch-reference "yes": want refuse or allow`},
		{name: "bad --attestation-with-synced", args: []string{"--attestation-with-synced", "Allow"}, wantErr: `--attestation-with-synced "Allow": want refuse or allow`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, io.Discard)
			var tenants []emulator.Tenant
			var demo bool
			if err == nil {
				tenants, demo, err = parseTenants(c)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, tenants, demo)
		})
	}
}

var demoLine = regexp.MustCompile(`tenant (\S+)\s+client (\S+)\s+secret (\S+)`)

// start runs the command on a free loopback port until the test ends.
func start(t *testing.T, stateDir string, args ...string) (base, tenant, client, secret string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"--addr", "127.0.0.1:0", "--state-dir", stateDir}, args...), out, io.Discard)
	}()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("run did not return after cancel")
			return nil
		}
	}
	// The admin API line ends the banner; the demo tenant's line is in it
	// only when no tenant was given.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		banner := out.String()
		if m := regexp.MustCompile(`listening on (\S+)`).FindStringSubmatch(banner); m != nil && strings.Contains(banner, "admin API:") {
			if d := demoLine.FindStringSubmatch(banner); d != nil {
				return m[1], d[1], d[2], d[3], stop
			}
			return m[1], "", "", "", stop
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = stop()
	t.Fatalf("no banner; output: %s", out.String())
	return
}

func clientTrusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("ca.pem holds no certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// getFido2 signs in as the app, as docs/emulator.md shows with curl, and
// GETs the fido2 policy: its status and body.
func getFido2(t *testing.T, hc *http.Client, base, tenant, client, secret string) (int, string) {
	t.Helper()
	resp, err := hc.PostForm(base+"/"+tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {client}, "client_secret": {secret}, "scope": {base + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body)
}

// TestStandalone does with the server what docs/emulator.md tells a
// newcomer to do with curl: discovery, a token, the fido2 policy.
func TestStandalone(t *testing.T) {
	stateDir := t.TempDir()
	base, tenant, client, secret, stop := start(t, stateDir)
	caFile := filepath.Join(stateDir, emulator.CAFile)
	hc := clientTrusting(t, caFile)

	resp, err := hc.Get(base + "/" + tenant + "/v2.0/.well-known/openid-configuration")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("discovery: %v %v", resp, err)
	}
	resp.Body.Close()

	if status, body := getFido2(t, hc, base, tenant, client, secret); status != 200 ||
		!strings.Contains(body, `"defaultPasskeyProfile":"00000000-0000-0000-0000-000000000001"`) {
		t.Errorf("fido2: %d %s", status, body)
	}
	if err := stop(); err != nil {
		t.Errorf("run returned %v after shutdown", err)
	}

	// A restart reuses the CA, so clients configured with ca.pem still work.
	before, _ := os.ReadFile(caFile)
	base, tenant, _, _, stop = start(t, stateDir)
	after, _ := os.ReadFile(caFile)
	if !bytes.Equal(before, after) {
		t.Error("ca.pem changed across restarts")
	}
	resp, err = hc.Get(base + "/" + tenant + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Errorf("run returned %v after shutdown", err)
	}
}

// TestStandaloneTenantDocument starts a tenant from a --tenant-document
// and with an answer to an open question, and reads both back over Graph
// and the admin API.
func TestStandaloneTenantDocument(t *testing.T) {
	stateDir := t.TempDir()
	const tenant, client, secret = "e0e0e0e0-0000-4000-8000-00000000000e", "e1e1e1e1-0000-4000-8000-000000000001", "s3cret"
	base, _, _, _, stop := start(t, stateDir, "--tenant", tenant+":"+client+":"+secret,
		"--tenant-document", tenant+":"+writeFile(t, "doc.json", neverMigratedDoc), "--new-profile-ids", "honour")
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("run returned %v after shutdown", err)
		}
	}()
	hc := clientTrusting(t, filepath.Join(stateDir, emulator.CAFile))
	if status, body := getFido2(t, hc, base, tenant, client, secret); status != 200 ||
		!strings.Contains(body, `"defaultPasskeyProfile":null,"passkeyProfiles":[]`) {
		t.Errorf("fido2: %d %s", status, body)
	}
	resp, err := hc.Get(base + "/_emulator/tenants/" + tenant + "/behavior")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"newProfileIds":"honour"`) || !strings.Contains(string(body), `"samePatchReference":"refuse"`) {
		t.Errorf("behavior: %d %s", resp.StatusCode, body)
	}
}

func TestRunRefusesABadTenantDocument(t *testing.T) {
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--state-dir", t.TempDir(), "--tenant", "t1:c1:s",
		"--tenant-document", "t1:" + writeFile(t, "doc.json", `{"id":"Sms"}`)}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--tenant-document for t1: seed tenant t1: fido2 document: id is") {
		t.Errorf("run() = %v", err)
	}
}

// TestStandaloneManagedIdentity does what docs/emulator.md shows for a
// managed identity: a token from the App Service endpoint with the header
// from --managed-identity-header, then the fido2 policy with it.
func TestStandaloneManagedIdentity(t *testing.T) {
	stateDir := t.TempDir()
	const tenant, identity, header = "f0f0f0f0-0000-4000-8000-00000000000f", "f1f1f1f1-0000-4000-8000-000000000001", "host-header"
	base, _, _, _, stop := start(t, stateDir, "--managed-identity", tenant+":"+identity, "--managed-identity-header", header)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("run returned %v after shutdown", err)
		}
	}()
	hc := clientTrusting(t, filepath.Join(stateDir, emulator.CAFile))

	get := func(path, name, value string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(name, value)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	query := emulator.ManagedIdentityPath + "?api-version=2019-08-01&resource=" + url.QueryEscape(base)
	if status, body := get(query, "X-IDENTITY-HEADER", "wrong"); status != http.StatusUnauthorized {
		t.Errorf("wrong header: %d %s", status, body)
	}
	status, body := get(query, "X-IDENTITY-HEADER", header)
	var tok struct {
		AccessToken string `json:"access_token"`
		ClientID    string `json:"client_id"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || status != http.StatusOK || tok.AccessToken == "" || tok.ClientID != identity {
		t.Fatalf("managed identity token: %d %s (%v)", status, body, err)
	}
	status, body = get("/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2", "Authorization", "Bearer "+tok.AccessToken)
	if status != http.StatusOK || !strings.Contains(string(body), `"defaultPasskeyProfile"`) {
		t.Errorf("fido2 with the managed identity's token: %d %s", status, body)
	}
}

func TestParseGenerations(t *testing.T) {
	tenants := []emulator.Tenant{{ID: "t1"}}
	got, err := parseGenerations([]string{"t1:100000:50:0.25"}, tenants, false)
	want := emulator.UserGeneration{Count: 100000, Groups: 50, PasskeyShare: 0.25}
	if err != nil || len(got) != 1 || got[0].tenantID != "t1" || got[0].spec != want {
		t.Errorf("parseGenerations = %+v, %v, want t1 %+v", got, err, want)
	}
	for _, tt := range []struct {
		value   string
		demo    bool
		wantErr string
	}{
		{"t1:10:2", false, "want TENANT_ID:COUNT:GROUPS:PASSKEY_SHARE"},
		{"t9:10:2:0.5", false, "tenant t9 has no --tenant"},
		{"t1:10:2:0.5", true, "tenant t1 has no --tenant"},
		{"t1:ten:2:0.5", false, `invalid syntax`},
		{"t1:10:2:half", false, `invalid syntax`},
		{"t1:10:20:0.5", false, "groups 20"},
		{"t1:10:2:2", false, "passkeyShare 2"},
	} {
		if _, err := parseGenerations([]string{tt.value}, tenants, tt.demo); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("parseGenerations(%q) = %v, want an error with %q", tt.value, err, tt.wantErr)
		}
	}
}
