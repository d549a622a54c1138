package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// connection is how a command signs in to the tenant: the same credential
// types as an EntraTenant, from flags or the AZURE_* variables azidentity
// users know. A client secret is read from AZURE_CLIENT_SECRET only, never
// from a flag, so it stays out of shell history and process lists.
type connection struct {
	tenantID, clientID      string
	credential              string
	certificateFile         string
	tokenFile               string
	cloud                   string
	authorityHost, graphURL string
	caFile                  string
	getenv                  func(string) string
}

func (c *connection) register(fs *flag.FlagSet, getenv func(string) string) {
	c.getenv = getenv
	fs.StringVar(&c.tenantID, "tenant-id", getenv("AZURE_TENANT_ID"), "Directory (tenant) ID (default $AZURE_TENANT_ID)")
	fs.StringVar(&c.clientID, "client-id", getenv("AZURE_CLIENT_ID"), "application (client) ID to sign in as (default $AZURE_CLIENT_ID)")
	fs.StringVar(&c.credential, "credential", "",
		"ClientSecret ($AZURE_CLIENT_SECRET), ClientCertificate, WorkloadIdentity or ManagedIdentity (default: the first whose variables are set)")
	fs.StringVar(&c.certificateFile, "client-certificate", getenv("AZURE_CLIENT_CERTIFICATE_PATH"),
		"PEM file with the certificate and its private key, for ClientCertificate (default $AZURE_CLIENT_CERTIFICATE_PATH)")
	fs.StringVar(&c.tokenFile, "federated-token-file", getenv("AZURE_FEDERATED_TOKEN_FILE"),
		"token file for WorkloadIdentity (default $AZURE_FEDERATED_TOKEN_FILE)")
	fs.StringVar(&c.cloud, "cloud", "", "AzurePublic (the default), AzureUSGovernment, AzureChina, or Custom (with --authority-host and --graph-endpoint)")
	fs.StringVar(&c.authorityHost, "authority-host", getenv("AZURE_AUTHORITY_HOST"), "sign-in endpoint of a custom cloud (default $AZURE_AUTHORITY_HOST)")
	fs.StringVar(&c.graphURL, "graph-endpoint", "", "Microsoft Graph endpoint of a custom cloud")
	fs.StringVar(&c.caFile, "ca-file", "", "PEM file of extra certificate authorities to trust (a private cloud, the entra-emulator)")
}

// cloudFrom takes the cloud an EntraTenant declares, as the operator
// would, unless --cloud, --authority-host, --graph-endpoint or
// AZURE_AUTHORITY_HOST says otherwise.
func (c *connection) cloudFrom(cloud *passkeysv1alpha1.Cloud) {
	if cloud == nil || c.cloud != "" || c.authorityHost != "" || c.graphURL != "" {
		return
	}
	c.cloud, c.authorityHost, c.graphURL = string(cloud.Name), cloud.AuthorityHost, cloud.GraphEndpoint
}

// credentialType is --credential, or the first credential whose
// environment is set.
func (c *connection) credentialType() (entra.CredentialType, error) {
	switch {
	case c.credential != "":
		return entra.CredentialType(c.credential), nil
	case c.getenv("AZURE_CLIENT_SECRET") != "":
		return entra.CredentialClientSecret, nil
	case c.certificateFile != "":
		return entra.CredentialClientCertificate, nil
	case c.tokenFile != "":
		return entra.CredentialWorkloadIdentity, nil
	}
	return "", errors.New("no credential: set AZURE_CLIENT_SECRET, --client-certificate or --federated-token-file, or say --credential ManagedIdentity")
}

// client signs in with the operator's own Graph client.
func (c *connection) client() (*entra.Client, entra.TenantConfig, error) {
	credential, err := c.credentialType()
	if err != nil {
		return nil, entra.TenantConfig{}, err
	}
	cfg := entra.TenantConfig{
		TenantID: c.tenantID, ClientID: c.clientID, Credential: credential, // no Name: messages then say the tenant id
		Cloud: entra.Cloud(c.cloud), AuthorityHost: c.authorityHost, GraphEndpoint: c.graphURL,
		TokenFilePath: c.tokenFile,
	}
	if cfg.Cloud == "" {
		cfg.Cloud = entra.CloudAzurePublic
		if c.authorityHost != "" || c.graphURL != "" {
			cfg.Cloud = entra.CloudCustom
		}
	}
	switch credential {
	case entra.CredentialClientSecret:
		cfg.Secret = entra.SecretBytes(c.getenv("AZURE_CLIENT_SECRET"))
	case entra.CredentialClientCertificate:
		pem, err := os.ReadFile(c.certificateFile)
		if err != nil {
			return nil, cfg, fmt.Errorf("reading the client certificate: %w", err)
		}
		cfg.Secret = entra.SecretBytes(pem)
	}
	opts := entra.ClientOptions{}
	if c.caFile != "" {
		httpClient, err := trusting(c.caFile)
		if err != nil {
			return nil, cfg, err
		}
		opts.HTTPClient = httpClient
	}
	client, err := entra.NewClient(cfg, opts)
	return client, cfg, err
}

// trusting is an HTTP client that trusts the system's authorities and
// those in caFile.
func trusting(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading --ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: transport}, nil
}
