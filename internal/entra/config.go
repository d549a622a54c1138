package entra

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// Cloud names the Microsoft cloud a tenant lives in.
type Cloud string

const (
	CloudAzurePublic       Cloud = "AzurePublic"
	CloudAzureUSGovernment Cloud = "AzureUSGovernment"
	CloudAzureChina        Cloud = "AzureChina"
	// CloudCustom takes both endpoints from TenantConfig: a private cloud, or
	// the entra-emulator.
	CloudCustom Cloud = "Custom"
)

// CredentialType says how a client signs in to Entra.
type CredentialType string

const (
	CredentialWorkloadIdentity  CredentialType = "WorkloadIdentity"
	CredentialClientSecret      CredentialType = "ClientSecret"
	CredentialClientCertificate CredentialType = "ClientCertificate"
	CredentialManagedIdentity   CredentialType = "ManagedIdentity"
)

// Graph endpoints of the national clouds, from "Microsoft Graph national
// cloud deployments" (learn.microsoft.com/graph/deployments). US Government
// L5 (DoD) uses https://dod-graph.microsoft.us and needs CloudCustom.
const (
	usGovernmentGraphEndpoint = "https://graph.microsoft.us"
	chinaGraphEndpoint        = "https://microsoftgraph.chinacloudapi.cn"
)

// ErrInvalidConfig is wrapped by every error that comes from an unusable
// TenantConfig (a missing field, a certificate that does not parse, ...):
// the EntraTenant or its Secret must change before a retry can succeed.
var ErrInvalidConfig = errors.New("invalid tenant configuration")

// TenantConfig is everything needed to reach one tenant. It knows nothing
// of Kubernetes: the controller fills it from an EntraTenant and the bytes
// of the Secret it references.
type TenantConfig struct {
	// Name identifies the tenant in the Clients cache, in error messages and
	// to the Observer: the EntraTenant's name.
	Name string
	// TenantID is the directory (tenant) id.
	TenantID string

	// Cloud is the Microsoft cloud; empty means CloudAzurePublic.
	Cloud Cloud
	// AuthorityHost and GraphEndpoint are the sign-in and Graph origins,
	// https URLs, for CloudCustom only.
	AuthorityHost string
	GraphEndpoint string

	// Credential is how to sign in; empty means CredentialWorkloadIdentity.
	Credential CredentialType
	// ClientID is the application (client) id. Required for ClientSecret and
	// ClientCertificate; for WorkloadIdentity it defaults to AZURE_CLIENT_ID;
	// for ManagedIdentity it selects a user-assigned identity (empty: the
	// system-assigned one).
	ClientID string
	// Secret holds the client secret (ClientSecret) or a PEM bundle with
	// the certificate and its unencrypted private key (ClientCertificate).
	Secret SecretBytes
	// TokenFilePath is the service account token file for WorkloadIdentity;
	// empty means AZURE_FEDERATED_TOKEN_FILE.
	TokenFilePath string
}

// label names the tenant in messages and to the Observer: Name, or the
// tenant ID when a Client is made without one.
func (c TenantConfig) label() string {
	if c.Name == "" {
		return c.TenantID
	}
	return c.Name
}

// SecretBytes are credential bytes. They print as "[redacted]" with fmt,
// log/slog and encoding/json, so a TenantConfig can be logged safely.
type SecretBytes []byte

const redacted = "[redacted]"

// Format covers every fmt verb (%v, %s, %x, %#v, ...); String and
// MarshalText cover loggers that use those interfaces instead.
func (SecretBytes) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (SecretBytes) String() string               { return redacted }
func (SecretBytes) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// endpoints are where a tenant's clients send their requests.
type endpoints struct {
	cloud         cloud.Configuration
	graphEndpoint string
	// disableInstanceDiscovery skips MSAL's check of the authority host
	// against login.microsoftonline.com, which private clouds and the
	// emulator cannot answer (MSAL's AADInstanceDiscovery).
	disableInstanceDiscovery bool
}

// nationalClouds are the clouds with well-known endpoints.
var nationalClouds = map[Cloud]endpoints{
	CloudAzurePublic:       {cloud: cloud.AzurePublic, graphEndpoint: PublicGraphEndpoint},
	CloudAzureUSGovernment: {cloud: cloud.AzureGovernment, graphEndpoint: usGovernmentGraphEndpoint},
	CloudAzureChina:        {cloud: cloud.AzureChina, graphEndpoint: chinaGraphEndpoint},
}

// endpoints maps the configured cloud to the sign-in and Graph endpoints.
func (c TenantConfig) endpoints() (endpoints, error) {
	name := c.Cloud
	if name == "" {
		name = CloudAzurePublic
	}
	if name == CloudCustom {
		if err := checkHTTPSURL("authority host", c.AuthorityHost); err != nil {
			return endpoints{}, err
		}
		if err := checkHTTPSURL("Graph endpoint", c.GraphEndpoint); err != nil {
			return endpoints{}, err
		}
		return endpoints{
			cloud:                    cloud.Configuration{ActiveDirectoryAuthorityHost: c.AuthorityHost},
			graphEndpoint:            strings.TrimSuffix(c.GraphEndpoint, "/"),
			disableInstanceDiscovery: true,
		}, nil
	}
	ep, ok := nationalClouds[name]
	if !ok {
		return endpoints{}, fmt.Errorf("unknown cloud %q", c.Cloud)
	}
	if c.AuthorityHost != "" || c.GraphEndpoint != "" {
		return endpoints{}, fmt.Errorf("authority host and Graph endpoint are only for cloud %s", CloudCustom)
	}
	return ep, nil
}

func checkHTTPSURL(name, s string) error {
	if s == "" {
		return fmt.Errorf("cloud %s needs the %s", CloudCustom, name)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%s %q is not an https URL", name, s)
	}
	return nil
}
