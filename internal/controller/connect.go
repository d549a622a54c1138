package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// ConnectWith returns the TenantReconciler.Connect function that takes each
// tenant's client from clients, rebuilt whenever the EntraTenant's
// connection settings or its Secret change, or after clients.Forget (the
// TenantReconciler.Disconnect to go with it).
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

// connect reads the credential Secret (if the credential type uses one) and
// returns the tenant's Graph client.
func (r *TenantReconciler) connect(ctx context.Context, tenant *passkeysv1alpha1.EntraTenant) (Graph, error) {
	var secret []byte
	if ref := tenant.Spec.Credentials.SecretRef; ref != nil {
		var err error
		if secret, err = r.readSecret(ctx, ref); err != nil {
			return nil, err
		}
	}
	graph, err := r.Connect(ctx, tenant, secret)
	if err != nil {
		return nil, &credentialsError{err: err}
	}
	return graph, nil
}

// readSecret reads the credential Secret's key straight from the API server.
func (r *TenantReconciler) readSecret(ctx context.Context, ref *passkeysv1alpha1.SecretKeyRef) ([]byte, error) {
	var secret corev1.Secret
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &secret); err != nil {
		return nil, &credentialsError{err: fmt.Errorf("reading Secret %s/%s: %w", ref.Namespace, ref.Name, err)}
	}
	value, ok := secret.Data[ref.Key]
	if !ok || len(value) == 0 {
		return nil, &credentialsError{err: fmt.Errorf("secret %s/%s has no key %q", ref.Namespace, ref.Name, ref.Key)}
	}
	return value, nil
}

// disconnectAfter drops the tenant's client after a failure that a new
// sign-in may cure. Entra puts application permissions in the access token
// (its roles claim), so consent granted after the token was issued shows only
// in a new one; and a credential Entra refused is built afresh rather than
// trusted to recover.
func (r *TenantReconciler) disconnectAfter(tenant string, err error) {
	switch classify(err).reason {
	case ReasonForbidden, ReasonCredentialsInvalid:
		r.disconnect(tenant)
	}
}

func (r *TenantReconciler) disconnect(tenant string) {
	if r.Disconnect != nil {
		r.Disconnect(tenant)
	}
}
