package controller

import (
	"context"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// ConnectWith returns the TenantReconciler.Connect function that takes each
// tenant's client from clients, rebuilt whenever the EntraTenant's
// connection settings or its Secret change.
func ConnectWith(clients *entra.Clients) func(context.Context, *passkeysv1alpha1.EntraTenant, []byte) (Graph, error) {
	return func(_ context.Context, tenant *passkeysv1alpha1.EntraTenant, secret []byte) (Graph, error) {
		return clients.Get(tenantConfig(tenant, secret))
	}
}

// tenantConfig translates an EntraTenant into the Kubernetes-free settings
// internal/entra builds a client from.
func tenantConfig(tenant *passkeysv1alpha1.EntraTenant, secret []byte) entra.TenantConfig {
	cfg := entra.TenantConfig{
		Name:       tenant.Name,
		TenantID:   tenant.Spec.TenantID,
		Credential: entra.CredentialType(tenant.Spec.Credentials.Type),
		ClientID:   tenant.Spec.Credentials.ClientID,
		Secret:     secret,
	}
	if c := tenant.Spec.Cloud; c != nil {
		cfg.Cloud = entra.Cloud(c.Name)
		cfg.AuthorityHost = c.AuthorityHost
		cfg.GraphEndpoint = c.GraphEndpoint
	}
	return cfg
}
