package entra_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// TestCredentialsSignIn signs in with each credential type the emulator
// supports and reads the policy.
func TestCredentialsSignIn(t *testing.T) {
	env := newEnv(t)
	tokenFile := writeServiceAccountToken(t)

	tests := []struct {
		name string
		cfg  func(entra.TenantConfig) entra.TenantConfig
		env  map[string]string
	}{
		{"client secret", func(c entra.TenantConfig) entra.TenantConfig {
			// "kubectl create secret --from-file" keeps the file's newline.
			c.Secret = entra.SecretBytes(secret + "\n")
			return c
		}, nil},
		{"client certificate", func(c entra.TenantConfig) entra.TenantConfig {
			c.Credential, c.ClientID, c.Secret = entra.CredentialClientCertificate, certApp, env.certPEM(t)
			return c
		}, nil},
		{"workload identity with a token file", func(c entra.TenantConfig) entra.TenantConfig {
			c.Credential, c.ClientID, c.Secret, c.TokenFilePath = entra.CredentialWorkloadIdentity, wiApp, nil, tokenFile
			return c
		}, map[string]string{"AZURE_CLIENT_ID": "", "AZURE_FEDERATED_TOKEN_FILE": ""}},
		{"workload identity from the webhook's environment", func(c entra.TenantConfig) entra.TenantConfig {
			c.Credential, c.ClientID, c.Secret = "", "", nil // the defaults
			return c
		}, map[string]string{"AZURE_CLIENT_ID": wiApp, "AZURE_FEDERATED_TOKEN_FILE": tokenFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tokens := env.tokenCount()
			c := env.client(t, tt.cfg(env.config(rwApp)))
			cfg, err := c.GetFido2(ctx(t))
			if err != nil {
				t.Fatalf("GetFido2() = %v", err)
			}
			if cfg.ID == nil || *cfg.ID != "Fido2" || *cfg.DefaultPasskeyProfile != emulator.DefaultPasskeyProfileID {
				t.Errorf("GetFido2() = %+v", cfg)
			}
			if n := env.tokenCount() - tokens; n != 1 {
				t.Errorf("%d tokens issued, want 1", n)
			}
		})
	}
}

func TestPatchThroughClient(t *testing.T) {
	env := newEnv(t)
	c := env.client(t, env.config(rwApp))
	if err := c.PatchFido2(ctx(t), &entra.Fido2Configuration{State: ptr(entra.MethodStateEnabled)}); err != nil {
		t.Fatalf("PatchFido2() = %v", err)
	}
	got, err := c.GetFido2(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if *got.State != entra.MethodStateEnabled {
		t.Errorf("state after PATCH = %s", *got.State)
	}
	if v, _ := env.emu.Version(tenantID); v != 1 {
		t.Errorf("Version = %d, want 1", v)
	}
}

// TestInvalidConfig: a config that cannot work fails in NewClient, as
// ClassConfig, saying what is wrong and never quoting the secret.
func TestInvalidConfig(t *testing.T) {
	env := newEnv(t)
	const theSecret = "s3cr3t-value-that-must-not-leak"
	certOnly := strings.SplitAfter(string(env.certPEM(t)), "-----END CERTIFICATE-----\n")[0]
	encryptedKey := certOnly + "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"

	tests := []struct {
		name   string
		change func(*entra.TenantConfig)
		want   string
	}{
		{"no tenant ID", func(c *entra.TenantConfig) { c.TenantID = "" }, "no tenant ID"},
		{"unknown cloud", func(c *entra.TenantConfig) { c.Cloud = "Mars" }, `unknown cloud "Mars"`},
		{"custom cloud without Graph endpoint", func(c *entra.TenantConfig) { c.GraphEndpoint = "" }, "needs the Graph endpoint"},
		{"custom cloud over http", func(c *entra.TenantConfig) { c.AuthorityHost = "http://login.example.test" }, "is not an https URL"},
		{"endpoints for a national cloud", func(c *entra.TenantConfig) { c.Cloud = entra.CloudAzureChina }, "only for cloud Custom"},
		{"unknown credential type", func(c *entra.TenantConfig) { c.Credential = "Password" }, "Password credential: unknown type"},
		{"client secret without client ID", func(c *entra.TenantConfig) { c.ClientID = "" }, "ClientSecret credential: no client ID"},
		{"empty client secret", func(c *entra.TenantConfig) { c.Secret = nil }, "Secret's data is empty"},
		{"certificate that is not PEM", func(c *entra.TenantConfig) {
			c.Credential = entra.CredentialClientCertificate
		}, "no PEM block found"},
		{"certificate without key", func(c *entra.TenantConfig) {
			c.Credential, c.Secret = entra.CredentialClientCertificate, entra.SecretBytes(certOnly)
		}, "found no private key (the Secret must hold a PEM bundle with the certificate and its unencrypted private key)"},
		{"certificate with an encrypted key", func(c *entra.TenantConfig) {
			c.Credential, c.Secret = entra.CredentialClientCertificate, entra.SecretBytes(encryptedKey)
		}, "unencrypted private key"},
		{"workload identity without client ID", func(c *entra.TenantConfig) {
			c.Credential, c.ClientID, c.Secret = entra.CredentialWorkloadIdentity, "", nil
		}, "no client ID: set it in the EntraTenant's credentials, or run the pod with the workload identity webhook, which sets AZURE_CLIENT_ID"},
		{"workload identity without token file", func(c *entra.TenantConfig) {
			c.Credential, c.Secret = entra.CredentialWorkloadIdentity, nil
		}, "AZURE_FEDERATED_TOKEN_FILE is not set"},
		{"workload identity with a missing token file", func(c *entra.TenantConfig) {
			c.Credential, c.Secret, c.TokenFilePath = entra.CredentialWorkloadIdentity, nil, "/nonexistent/token"
		}, "service account token file: stat /nonexistent/token: no such file or directory"},
	}
	t.Setenv("AZURE_CLIENT_ID", "")
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := env.config(rwApp)
			cfg.Secret = entra.SecretBytes(theSecret)
			tt.change(&cfg)
			_, err := entra.NewClient(cfg, env.options())
			if err == nil {
				t.Fatal("NewClient() succeeded")
			}
			msg := err.Error()
			if !errors.Is(err, entra.ErrInvalidConfig) || entra.Classify(err) != entra.ClassConfig {
				t.Errorf("NewClient() = %v: not ErrInvalidConfig / ClassConfig", err)
			}
			if !strings.HasPrefix(msg, "tenant acme: invalid tenant configuration: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("NewClient() = %q, want it to contain %q", msg, tt.want)
			}
			if strings.Contains(msg, theSecret) {
				t.Errorf("error quotes the secret: %q", msg)
			}
		})
	}
}
