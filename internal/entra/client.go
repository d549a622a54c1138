package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
)

// The application permissions a 403 asks for, per operation.
const (
	permissionPolicyRead      = "Policy.Read.AuthenticationMethod"
	permissionPolicyReadWrite = "Policy.ReadWrite.AuthenticationMethod"
	permissionGroupRead       = "Group.Read.All"
	permissionUserRead        = "User.Read.All"
	permissionMembershipRead  = "GroupMember.Read.All"
	permissionReportRead      = "AuditLog.Read.All"
)

// ClientOptions are the settings shared by every tenant's client.
type ClientOptions struct {
	// HTTPClient carries token requests to Entra and Graph requests: its
	// Transport (for example one trusting a private CA) and Timeout are
	// used. nil uses the SDKs' default transports, which trust the
	// process's certificate store (SSL_CERT_FILE and SSL_CERT_DIR are
	// honoured) and the proxy environment variables.
	HTTPClient *http.Client
	// Observer, if set, is told about every Graph attempt.
	Observer Observer
}

// Client reads and writes one tenant's passkey policy, looks up its groups
// and users, and reads its registration report. It is safe for concurrent
// use. Its credential caches the access token, so keep the Client (see
// Clients) rather than making one per call.
type Client struct {
	name    string // TenantConfig.label(), for messages and the Observer
	adapter abstractions.RequestAdapter
}

// NewClient builds the client cfg describes. It sends nothing: the
// credential signs in on the first request.
func NewClient(cfg TenantConfig, opts ClientOptions) (*Client, error) {
	c, err := newClient(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w: %w", cfg.label(), ErrInvalidConfig, err)
	}
	return c, nil
}

// newClient does NewClient's work. Every error it returns comes from the
// configuration: nothing is sent yet.
func newClient(cfg TenantConfig, opts ClientOptions) (*Client, error) {
	if cfg.TenantID == "" {
		return nil, errors.New("no tenant ID")
	}
	ep, err := cfg.endpoints()
	if err != nil {
		return nil, err
	}
	cred, err := newCredential(cfg, ep, opts.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("%s credential: %w", credentialName(cfg.Credential), err)
	}
	adapter, err := NewGraphRequestAdapter(cred, AdapterOptions{
		GraphEndpoint: ep.graphEndpoint,
		HTTPClient:    graphHTTPClient(cfg.label(), opts),
	})
	if err != nil {
		return nil, err
	}
	return &Client{name: cfg.label(), adapter: adapter}, nil
}

func credentialName(t CredentialType) CredentialType {
	if t == "" {
		return CredentialWorkloadIdentity
	}
	return t
}

// graphHTTPClient puts the observer under the SDK's middleware, where it
// sees every attempt, retries included.
func graphHTTPClient(tenant string, opts ClientOptions) *http.Client {
	if opts.Observer == nil {
		return opts.HTTPClient
	}
	hc := &http.Client{}
	var base http.RoundTripper
	if opts.HTTPClient != nil {
		hc.Timeout = opts.HTTPClient.Timeout
		base = opts.HTTPClient.Transport
	}
	if base == nil {
		base = khttp.GetDefaultTransport() // what the SDK would use
	}
	hc.Transport = &observingTransport{base: base, tenant: tenant, observe: opts.Observer}
	return hc
}

// GetFido2 reads the tenant's passkey (FIDO2) policy. It needs
// Policy.Read.AuthenticationMethod.
func (c *Client) GetFido2(ctx context.Context) (*Fido2Configuration, error) {
	cfg, err := getFido2(withOperation(ctx, OpGetFido2), c.adapter)
	if err != nil {
		return nil, c.fail("reading the passkey (FIDO2) policy", permissionPolicyRead, err)
	}
	return cfg, nil
}

// PatchFido2 updates the tenant's passkey (FIDO2) policy with what cfg
// sets (see Fido2Configuration). It needs
// Policy.ReadWrite.AuthenticationMethod.
func (c *Client) PatchFido2(ctx context.Context, cfg *Fido2Configuration) error {
	if err := patchFido2(withOperation(ctx, OpPatchFido2), c.adapter, cfg); err != nil {
		return c.fail("updating the passkey (FIDO2) policy", permissionPolicyReadWrite, err)
	}
	return nil
}

// fail puts what the client was doing, and for which tenant, in front of
// err's description.
func (c *Client) fail(doing, permission string, err error) error {
	return fmt.Errorf("%s of tenant %s: %w", doing, c.name, describe(err, permission))
}
