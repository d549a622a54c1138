package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/manifests"
)

const exportHelp = `Usage: passkeyctl export [flags]

Reads a tenant's passkey (FIDO2) policy through Microsoft Graph and writes
the resources that declare it: an EntraTenant, one PasskeyProfile per
passkey profile and one GroupAssignment per include and exclude target, with
the groups' display names as comments. Applied as they are, they change
nothing in the tenant: the operator finds no drift and sends no PATCH.

It needs Policy.Read.AuthenticationMethod, and Group.Read.All for the
group names (without it the comments carry only the group ids).

Examples:
  # Sign in with a client secret; one YAML stream on stdout.
  AZURE_CLIENT_SECRET=... passkeyctl export --tenant-id 3f2a9c1e-... --client-id 0b1c2d3e-... > contoso.yaml

  # One file per resource, for a GitOps repository.
  passkeyctl export --tenant-id ... --client-id ... --name contoso --namespace identity -o clusters/prod/passkeys/

  # Against the local entra-emulator (make local-up; . .local/env).
  AZURE_CLIENT_SECRET=$CLIENT_SECRET passkeyctl export --tenant-id $TENANT_ID --client-id $CLIENT_ID \
    --authority-host $EMULATOR_URL --graph-endpoint $EMULATOR_URL --ca-file $EMULATOR_CA
`

func exportCommand(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("export", exportHelp, stderr)
	var conn connection
	conn.register(fs, getenv)
	var catalogs catalogFlags
	catalogs.register(fs, getenv, &conn.caFile)
	name := fs.String("name", "default", "metadata.name of the EntraTenant, and every resource's tenantRef")
	namespace := fs.String("namespace", "identity", "namespace of the PasskeyProfiles and GroupAssignments")
	outDir := fs.String("o", "", "write one file per resource into this folder instead of one stream on stdout")
	clusterCredential := fs.String("cluster-credential", string(passkeysv1alpha1.CredentialWorkloadIdentity),
		"credentials.type of the exported EntraTenant: how the operator will sign in, in the cluster")
	secretRef := fs.String("secret-ref", "", "NAMESPACE/NAME/KEY of the Secret the exported EntraTenant reads, for ClientSecret or ClientCertificate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	catalog, err := catalogs.load(ctx, stderr)
	if err != nil {
		return err
	}
	client, cfg, err := conn.client()
	if err != nil {
		return err
	}
	spec, err := exportedTenantSpec(cfg, passkeysv1alpha1.CredentialType(*clusterCredential), *secretRef, *name)
	if err != nil {
		return err
	}
	objects, warnings, err := manifests.FromTenant(ctx, client, manifests.ExportOptions{
		TenantName: *name, Namespace: *namespace, Tenant: spec, AuthenticatorName: catalog.Name,
	})
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if *outDir != "" {
		paths, err := manifests.WriteDir(objects, *outDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d files into %s\n", len(paths), *outDir)
		return nil
	}
	out, err := manifests.Render(objects)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// exportedTenantSpec is the EntraTenant the operator will use: the tenant
// and cloud passkeyctl reached, signing in as the cluster will.
func exportedTenantSpec(cfg entra.TenantConfig, credential passkeysv1alpha1.CredentialType, secretRef, name string) (passkeysv1alpha1.EntraTenantSpec, error) {
	spec := passkeysv1alpha1.EntraTenantSpec{
		TenantID:    cfg.TenantID,
		Credentials: passkeysv1alpha1.Credentials{Type: credential, ClientID: cfg.ClientID},
	}
	if cfg.Cloud != entra.CloudAzurePublic {
		spec.Cloud = &passkeysv1alpha1.Cloud{Name: passkeysv1alpha1.CloudName(cfg.Cloud)}
		if cfg.Cloud == entra.CloudCustom {
			spec.Cloud.AuthorityHost, spec.Cloud.GraphEndpoint = cfg.AuthorityHost, cfg.GraphEndpoint
		}
	}
	switch credential {
	case passkeysv1alpha1.CredentialClientSecret, passkeysv1alpha1.CredentialClientCertificate:
		if secretRef == "" {
			secretRef = "passkey-system/" + name + "-entra-credentials/clientSecret"
		}
		parts := strings.Split(secretRef, "/")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return spec, fmt.Errorf("--secret-ref %q is not NAMESPACE/NAME/KEY", secretRef)
		}
		spec.Credentials.SecretRef = &passkeysv1alpha1.SecretKeyRef{Namespace: parts[0], Name: parts[1], Key: parts[2]}
	}
	return spec, nil
}
