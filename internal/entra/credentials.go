package entra

import (
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// The environment variables the Azure workload identity webhook sets in the
// pod; azidentity reads the same ones.
const (
	envClientID           = "AZURE_CLIENT_ID"
	envFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
)

// newCredential returns the azidentity credential cfg describes. Its token
// requests go through httpClient (nil: azcore's default transport, which
// uses the process's trust store and proxy settings). Nothing here talks to
// the network: a credential signs in on its first GetToken.
//
// Every error is a configuration error; none quotes cfg.Secret.
func newCredential(cfg TenantConfig, ep endpoints, httpClient *http.Client) (azcore.TokenCredential, error) {
	co := azcore.ClientOptions{Cloud: ep.cloud}
	if httpClient != nil {
		co.Transport = httpClient
	}
	switch cfg.Credential {
	case "", CredentialWorkloadIdentity:
		clientID, tokenFile, err := workloadIdentitySettings(cfg)
		if err != nil {
			return nil, err
		}
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions:            co,
			TenantID:                 cfg.TenantID,
			ClientID:                 clientID,
			TokenFilePath:            tokenFile,
			DisableInstanceDiscovery: ep.disableInstanceDiscovery,
		})

	case CredentialClientSecret:
		if err := requireClientIDAndSecret(cfg); err != nil {
			return nil, err
		}
		// A Secret made with "kubectl create secret --from-file" often ends
		// in a newline; Entra's client secrets never do.
		secret := strings.TrimRight(string(cfg.Secret), "\r\n")
		return azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions:            co,
			DisableInstanceDiscovery: ep.disableInstanceDiscovery,
		})

	case CredentialClientCertificate:
		if err := requireClientIDAndSecret(cfg); err != nil {
			return nil, err
		}
		// ParseCertificates falls back to PKCS#12 when it finds no PEM block,
		// and its errors then say nothing useful about a PEM bundle.
		if block, _ := pem.Decode(cfg.Secret); block == nil {
			return nil, errors.New("no PEM block found; the Secret must hold a PEM bundle with the certificate and its unencrypted private key")
		}
		certs, key, err := azidentity.ParseCertificates(cfg.Secret, nil)
		if err != nil {
			return nil, fmt.Errorf("%w (the Secret must hold a PEM bundle with the certificate and its unencrypted private key)", err)
		}
		return azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions:            co,
			DisableInstanceDiscovery: ep.disableInstanceDiscovery,
		})

	case CredentialManagedIdentity:
		return azidentity.NewManagedIdentityCredential(managedIdentityOptions(cfg, co))

	default:
		return nil, errors.New("unknown type")
	}
}

// workloadIdentitySettings resolves the client id and the token file,
// defaulting to what the workload identity webhook puts in the pod, so that
// a pod without the webhook gets an error that says what is missing.
func workloadIdentitySettings(cfg TenantConfig) (clientID, tokenFile string, err error) {
	clientID = cfg.ClientID
	if clientID == "" {
		clientID = os.Getenv(envClientID)
	}
	if clientID == "" {
		return "", "", fmt.Errorf("no client ID: set it in the EntraTenant's credentials, or run the pod with the workload identity webhook, which sets %s", envClientID)
	}
	tokenFile = cfg.TokenFilePath
	if tokenFile == "" {
		tokenFile = os.Getenv(envFederatedTokenFile)
	}
	if tokenFile == "" {
		return "", "", fmt.Errorf("no service account token file: %s is not set (is the pod labelled azure.workload.identity/use: \"true\"?)", envFederatedTokenFile)
	}
	// The kubelet writes the projected token before the container starts,
	// so a missing file is a pod misconfiguration, not a passing state.
	if _, err := os.Stat(tokenFile); err != nil {
		return "", "", fmt.Errorf("service account token file: %w", err)
	}
	return clientID, tokenFile, nil
}

func requireClientIDAndSecret(cfg TenantConfig) error {
	if cfg.ClientID == "" {
		return errors.New("no client ID")
	}
	if len(cfg.Secret) == 0 {
		return errors.New("the Secret's data is empty")
	}
	return nil
}

// managedIdentityOptions selects the user-assigned identity cfg.ClientID
// names, or the system-assigned identity when it is empty. The cloud does
// not matter here: the identity endpoint is local to the host.
func managedIdentityOptions(cfg TenantConfig, co azcore.ClientOptions) *azidentity.ManagedIdentityCredentialOptions {
	opts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
	if cfg.ClientID != "" {
		opts.ID = azidentity.ClientID(cfg.ClientID)
	}
	return opts
}
