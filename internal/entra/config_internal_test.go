package entra

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// TestCloudEndpoints pins each cloud's sign-in and Graph endpoints (from
// "Microsoft Graph national cloud deployments") and checks that the
// client's adapter uses them. Nothing is sent.
func TestCloudEndpoints(t *testing.T) {
	tests := []struct {
		cloud                       Cloud
		authority, graph            string // set for CloudCustom
		wantAuthority, wantGraph    string
		wantNoInstanceDiscovery     bool
		wantGraphBaseURL, wantScope string
	}{
		{cloud: "", wantAuthority: "https://login.microsoftonline.com/", wantGraph: "https://graph.microsoft.com"},
		{cloud: CloudAzurePublic, wantAuthority: "https://login.microsoftonline.com/", wantGraph: "https://graph.microsoft.com"},
		{cloud: CloudAzureUSGovernment, wantAuthority: "https://login.microsoftonline.us/", wantGraph: "https://graph.microsoft.us"},
		{cloud: CloudAzureChina, wantAuthority: "https://login.chinacloudapi.cn/", wantGraph: "https://microsoftgraph.chinacloudapi.cn"},
		{
			cloud: CloudCustom, authority: "https://login.example.test/", graph: "https://graph.example.test:8443/",
			wantAuthority: "https://login.example.test/", wantGraph: "https://graph.example.test:8443", wantNoInstanceDiscovery: true,
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.cloud), func(t *testing.T) {
			cfg := TenantConfig{
				Name: "t", TenantID: "d0d0d0d0-0000-4000-8000-00000000000d", Cloud: tt.cloud,
				AuthorityHost: tt.authority, GraphEndpoint: tt.graph,
				Credential: CredentialClientSecret, ClientID: "e1e1e1e1-0000-4000-8000-000000000001", Secret: SecretBytes("s"),
			}
			ep, err := cfg.endpoints()
			if err != nil {
				t.Fatalf("endpoints() = %v", err)
			}
			if ep.cloud.ActiveDirectoryAuthorityHost != tt.wantAuthority || ep.graphEndpoint != tt.wantGraph ||
				ep.disableInstanceDiscovery != tt.wantNoInstanceDiscovery {
				t.Errorf("endpoints() = authority %q, graph %q, no instance discovery %v",
					ep.cloud.ActiveDirectoryAuthorityHost, ep.graphEndpoint, ep.disableInstanceDiscovery)
			}
			c, err := NewClient(cfg, ClientOptions{})
			if err != nil {
				t.Fatalf("NewClient() = %v", err)
			}
			if got := c.adapter.(*msgraphgocore.GraphRequestAdapterBase).GetBaseUrl(); got != tt.wantGraph+"/v1.0" {
				t.Errorf("adapter base URL = %q, want %q", got, tt.wantGraph+"/v1.0")
			}
		})
	}
}

// TestManagedIdentityOptions checks the options and that the credential is
// built without a managed identity host (here MSAL falls back to IMDS);
// signing in is tested against the emulator's App Service endpoint in
// managed_identity_test.go.
func TestManagedIdentityOptions(t *testing.T) {
	transport := &http.Client{}
	co := azcore.ClientOptions{Transport: transport}

	userAssigned := managedIdentityOptions(TenantConfig{ClientID: "e7e7e7e7-0000-4000-8000-000000000007"}, co)
	if userAssigned.ID != azidentity.ClientID("e7e7e7e7-0000-4000-8000-000000000007") {
		t.Errorf("user-assigned: ID = %#v, want the client ID", userAssigned.ID)
	}
	if userAssigned.Transport != transport {
		t.Error("user-assigned: the HTTP client is not used")
	}
	if systemAssigned := managedIdentityOptions(TenantConfig{}, co); systemAssigned.ID != nil {
		t.Errorf("system-assigned: ID = %#v, want nil", systemAssigned.ID)
	}

	for _, clientID := range []string{"", "e7e7e7e7-0000-4000-8000-000000000007"} {
		cfg := TenantConfig{Name: "t", TenantID: "d0d0d0d0-0000-4000-8000-00000000000d", Credential: CredentialManagedIdentity, ClientID: clientID}
		cred, err := newCredential(cfg, nationalClouds[CloudAzurePublic], nil)
		if err != nil {
			t.Fatalf("newCredential(client ID %q) = %v", clientID, err)
		}
		if _, ok := cred.(*azidentity.ManagedIdentityCredential); !ok {
			t.Errorf("newCredential(client ID %q) = %T", clientID, cred)
		}
		if _, err := NewClient(cfg, ClientOptions{}); err != nil {
			t.Errorf("NewClient(client ID %q) = %v", clientID, err)
		}
	}
}

// TestFingerprintCoversEveryField changes each field of TenantConfig in
// turn: each change must change the fingerprint, or Clients would keep a
// client built from an older config. A new field of another kind fails
// here until it is handled.
func TestFingerprintCoversEveryField(t *testing.T) {
	base := TenantConfig{
		Name: "n", TenantID: "t", Cloud: CloudCustom, AuthorityHost: "a", GraphEndpoint: "g",
		Credential: CredentialClientSecret, ClientID: "c", Secret: SecretBytes("s"), TokenFilePath: "f",
	}
	want := base.fingerprint()
	if base.fingerprint() != want {
		t.Fatal("fingerprint is not stable")
	}
	typ := reflect.TypeFor[TenantConfig]()
	for i := range typ.NumField() {
		changed := base
		field := reflect.ValueOf(&changed).Elem().Field(i)
		switch field.Kind() {
		case reflect.String:
			field.SetString(field.String() + "x")
		case reflect.Slice:
			field.SetBytes(append(bytes.Clone(field.Bytes()), 'x'))
		default:
			t.Fatalf("field %s: kind %s not handled", typ.Field(i).Name, field.Kind())
		}
		if changed.fingerprint() == want {
			t.Errorf("changing %s does not change the fingerprint", typ.Field(i).Name)
		}
	}
	// Length prefixes: bytes moved from one field to the next count.
	moved := base
	moved.Name, moved.TenantID = "nt", ""
	if moved.fingerprint() == want {
		t.Error(`Name "n" + TenantID "t" hashes like Name "nt" + TenantID ""`)
	}
}

// TestSecretNeverPrinted formats a TenantConfig every way a log line or an
// error message might.
func TestSecretNeverPrinted(t *testing.T) {
	const theSecret = "hunter2-hunter2"
	cfg := TenantConfig{Name: "n", TenantID: "t", Credential: CredentialClientSecret, ClientID: "c", Secret: SecretBytes(theSecret)}

	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		fmt.Fprintf(&out, verb+"\n", cfg)
		fmt.Fprintf(&out, verb+"\n", cfg.Secret)
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(j)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "cfg", cfg, "secret", cfg.Secret)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "cfg", cfg, "secret", cfg.Secret)

	got := out.String()
	leaks := []string{
		theSecret, fmt.Sprintf("%x", theSecret), fmt.Sprintf("%X", theSecret),
		base64.StdEncoding.EncodeToString([]byte(theSecret)), fmt.Sprintf("%d", []byte(theSecret))[1:12],
	}
	for _, leak := range leaks {
		if strings.Contains(got, leak) {
			t.Errorf("output contains the secret (as %q):\n%s", leak, got)
		}
	}
	if !strings.Contains(got, "[redacted]") {
		t.Errorf("output does not say the secret was redacted:\n%s", got)
	}
}
