package main

import (
	"crypto/rsa"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/testcreds"
)

const (
	saIssuer  = "https://oidc.cluster.example"
	saSubject = "system:serviceaccount:ci:passkeyctl"
)

// TestExportSignsInLikeAnEntraTenant: each credential type, from its flag
// or from the AZURE_* variable azidentity users know, reaches a tenant
// whose app has only that credential; a missing or wrong credential is an
// error that says so.
func TestExportSignsInLikeAnEntraTenant(t *testing.T) {
	cert := testcreds.SelfSignedCert(t)
	certFile := testcreds.WriteFile(t, "app.pem", testcreds.CertificatePEM(t, cert))
	tokenFile := testcreds.WriteFile(t, "token",
		[]byte(testcreds.ServiceAccountToken(t, saIssuer, saSubject, emulator.DefaultFederatedAudience, time.Now().Add(time.Hour))))
	withSecret := emulator.App{ClientID: clientID, ClientSecret: secret, Roles: emulator.ReadWriteRoles}
	withCert := emulator.App{ClientID: clientID, Certificates: []*x509.Certificate{cert}, Roles: emulator.ReadWriteRoles}
	withFederation := emulator.App{ClientID: clientID, Roles: emulator.ReadWriteRoles, Federated: []emulator.FederatedCredential{
		{Issuer: saIssuer, Subject: saSubject, Keys: []*rsa.PublicKey{&testcreds.Key().PublicKey}},
	}}
	for _, tc := range []struct {
		name string
		app  emulator.App
		env  map[string]string
		args []string
		// wantErr is in stderr when export must fail.
		wantErr string
	}{
		{name: "client secret from AZURE_CLIENT_SECRET", app: withSecret, env: map[string]string{"AZURE_CLIENT_SECRET": secret}},
		{name: "client certificate from --client-certificate", app: withCert, args: []string{"--client-certificate", certFile}},
		{name: "client certificate from AZURE_CLIENT_CERTIFICATE_PATH", app: withCert, env: map[string]string{"AZURE_CLIENT_CERTIFICATE_PATH": certFile}},
		{name: "workload identity from --federated-token-file", app: withFederation, args: []string{"--federated-token-file", tokenFile}},
		{name: "workload identity from AZURE_FEDERATED_TOKEN_FILE", app: withFederation, env: map[string]string{"AZURE_FEDERATED_TOKEN_FILE": tokenFile}},
		{name: "--credential picks one when several are set", app: withCert,
			env: map[string]string{"AZURE_CLIENT_SECRET": "not this one"}, args: []string{"--credential", "ClientCertificate", "--client-certificate", certFile}},
		{name: "no credential", app: withSecret, wantErr: "no credential: set AZURE_CLIENT_SECRET"},
		{name: "a wrong secret", app: withSecret, env: map[string]string{"AZURE_CLIENT_SECRET": "wrong"}, wantErr: "signing in to Entra failed: 401 invalid_client: AADSTS7000215"},
		{name: "a certificate the app does not have", app: withSecret, args: []string{"--client-certificate", certFile}, wantErr: "signing in to Entra failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenantWithApp(t, emulator.Options{}, tc.app)
			tn.env = map[string]string{"AZURE_TENANT_ID": tenantID}
			for k, v := range tc.env {
				tn.env[k] = v
			}
			code, out, errOut := tn.run(t, "", append(append([]string{"export"}, tn.flags...), tc.args...)...)
			switch {
			case tc.wantErr == "" && (code != exitOK || !strings.Contains(out, "displayName: Security keys")):
				t.Errorf("export exited %d: %s\n%s", code, errOut, out)
			case tc.wantErr != "" && (code != exitError || !strings.Contains(errOut, tc.wantErr)):
				t.Errorf("export exited %d with %q, want 1 with %q", code, errOut, tc.wantErr)
			}
		})
	}
}

// TestExportWithManagedIdentity signs in as an App Service host's managed
// identity: azidentity reads IDENTITY_ENDPOINT and IDENTITY_HEADER from the
// process environment, so they are set with t.Setenv (and the test is not
// parallel). --client-id selects the user-assigned identity.
func TestExportWithManagedIdentity(t *testing.T) {
	const header = "passkeyctl-test-identity-header"
	for _, tc := range []struct {
		name, identityHeader string
		// wantErr is in stderr when export must fail.
		wantErr string
	}{
		{name: "the host's header", identityHeader: header},
		{name: "another header", identityHeader: "not the host's",
			wantErr: "signing in to Entra failed: 401 Unauthorized: The X-IDENTITY-HEADER header does not match this host's IDENTITY_HEADER."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTenantWithApp(t, emulator.Options{ManagedIdentityHeader: header},
				emulator.App{ClientID: clientID, ManagedIdentity: true, Roles: emulator.ReadWriteRoles})
			graphURL := tn.flags[slices.Index(tn.flags, "--graph-endpoint")+1]
			t.Setenv("IDENTITY_ENDPOINT", graphURL+emulator.ManagedIdentityPath)
			t.Setenv("IDENTITY_HEADER", tc.identityHeader)
			t.Setenv("IDENTITY_SERVER_THUMBPRINT", "") // set, MSAL would choose Service Fabric
			tn.env = map[string]string{"AZURE_TENANT_ID": tenantID}

			code, out, errOut := tn.run(t, "", append([]string{"export", "--credential", "ManagedIdentity"}, tn.flags...)...)
			if tc.wantErr != "" {
				if code != exitError || !strings.Contains(errOut, tc.wantErr) {
					t.Errorf("export exited %d with %q, want 1 with %q", code, errOut, tc.wantErr)
				}
				return
			}
			if code != exitOK || !strings.Contains(out, "displayName: Security keys") {
				t.Fatalf("export exited %d: %s\n%s", code, errOut, out)
			}
			stats := tn.emu.Stats()
			if n := stats.Count(tenantID, "GET", emulator.ManagedIdentityPath, 200); n != 1 {
				t.Errorf("%d managed identity tokens issued, want 1", n)
			}
			if n := stats.Count(tenantID, "POST", "/"+tenantID+"/oauth2/v2.0/token", emulator.AnyStatus); n != 0 {
				t.Errorf("%d requests to the OAuth token endpoint, want 0", n)
			}
		})
	}
}
