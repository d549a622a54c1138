package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/manifests"
)

// TestExportRoundTrips is passkeyctl export's promise: the resources it
// writes for an existing tenant, applied to a cluster, find nothing to
// change. A tenant with three profiles (one with a key allow list, one with
// a list that is not enforced), targets for all users and for groups, and
// an exclusion is exported, applied as it is, and must end Ready with no
// drift, nothing unmanaged and not one PATCH.
func TestExportRoundTrips(t *testing.T) {
	ctx := context.Background()
	tenantID, namespace, secret := uuid.NewString(), "export-"+uuid.NewString()[:8], "s3cr3t-"+uuid.NewString()
	const admins, contractors = "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4", "6f708192-a3b4-4c5d-9e6f-708192a3b4c5"
	if err := emu.Seed(emulator.Tenant{
		ID:   tenantID,
		Apps: []emulator.App{{ClientID: clientID, ClientSecret: secret, Roles: emulator.ReadWriteRoles}},
		Groups: []emulator.Group{
			{ID: staffGroup, DisplayName: "Staff"}, {ID: admins, DisplayName: "Admins"}, {ID: contractors, DisplayName: "Contractors"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	const keys, synced = "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d", "9b0c1d2e-3f4a-4b5c-9d6e-8f9a0b1c2d3e"
	if _, err := emu.PortalEdit(tenantID, func(doc *emulator.Fido2Document) {
		doc.State = emulator.StateEnabled
		doc.IsSelfServiceRegistrationAllowed = false
		doc.PasskeyProfiles = append(doc.PasskeyProfiles,
			emulator.PasskeyProfile{ID: keys, Name: "Security keys", PasskeyTypes: "deviceBound", AttestationEnforcement: "registrationOnly",
				KeyRestrictions: emulator.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{yubikey}}},
			emulator.PasskeyProfile{ID: synced, Name: "Synced for staff", PasskeyTypes: "deviceBound,synced", AttestationEnforcement: "disabled",
				KeyRestrictions: emulator.KeyRestrictions{IsEnforced: false, EnforcementType: "block", AAGUIDs: []string{yubikey}}},
		)
		doc.IncludeTargets = append(doc.IncludeTargets,
			emulator.IncludeTarget{ID: staffGroup, TargetType: "group", IsRegistrationRequired: true, AllowedPasskeyProfiles: []string{synced, keys}},
			emulator.IncludeTarget{ID: admins, TargetType: "group", AllowedPasskeyProfiles: []string{keys}},
		)
		doc.ExcludeTargets = append(doc.ExcludeTargets, emulator.ExcludeTarget{ID: contractors, TargetType: "group"})
	}); err != nil {
		t.Fatal(err)
	}

	objects, warnings := exportFrom(t, tenantID, namespace, secret)
	if len(warnings) > 0 {
		t.Fatalf("export warned: %v", warnings)
	}
	if len(objects) != 1+3+4 {
		t.Fatalf("exported %d objects, want a tenant, 3 profiles and 4 assignments", len(objects))
	}
	if rendered, err := manifests.Render(objects); err != nil || !strings.Contains(string(rendered), `Group "Admins"`) {
		t.Errorf("rendered export lacks the group names as comments (%v):\n%s", err, rendered)
	}
	patchesBefore := emu.Stats().Count(tenantID, "PATCH", fido2Path, emulator.AnyStatus)
	tenant := applyAllReady(t, objects)
	if n := emu.Stats().Count(tenantID, "PATCH", fido2Path, emulator.AnyStatus) - patchesBefore; n != 0 {
		t.Errorf("applying the export sent %d PATCHes, want 0", n)
	}
	// The tenant's first pass may have run before its resources existed.
	eventually(t, "nothing unmanaged once every resource is in", func() (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tenant), tenant); err != nil {
			return false, err.Error()
		}
		return tenant.Status.Unmanaged == nil, fmt.Sprintf("%+v", tenant.Status.Unmanaged)
	})
}

// exportFrom exports the emulated tenant as passkeyctl export does, for an
// EntraTenant that signs in with the client secret in namespace's Secret
// "app", which it creates with the namespace.
func exportFrom(t *testing.T, tenantID, namespace, secret string) ([]manifests.Object, []string) {
	t.Helper()
	mustCreate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})
	mustCreate(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: namespace},
		Data:       map[string][]byte{"clientSecret": []byte(secret)},
	})
	graph, err := entra.NewClient(entra.TenantConfig{
		Name: "export", TenantID: tenantID, Cloud: entra.CloudCustom, AuthorityHost: emuURL, GraphEndpoint: emuURL,
		Credential: entra.CredentialClientSecret, ClientID: clientID, Secret: entra.SecretBytes(secret),
	}, entra.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objects, warnings, err := manifests.FromTenant(context.Background(), graph, manifests.ExportOptions{
		TenantName: "export-" + strings.ToLower(tenantID[:8]),
		Namespace:  namespace,
		Tenant: passkeysv1alpha1.EntraTenantSpec{
			TenantID: tenantID,
			Cloud:    &passkeysv1alpha1.Cloud{Name: passkeysv1alpha1.CloudCustom, AuthorityHost: emuURL, GraphEndpoint: emuURL},
			Credentials: passkeysv1alpha1.Credentials{
				Type: passkeysv1alpha1.CredentialClientSecret, ClientID: clientID,
				SecretRef: &passkeysv1alpha1.SecretKeyRef{Namespace: namespace, Name: "app", Key: "clientSecret"},
			},
		},
	})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return objects, warnings
}

// applyAllReady creates the exported objects as they are and waits until
// each is Ready without drift; it returns the EntraTenant.
func applyAllReady(t *testing.T, objects []manifests.Object) *passkeysv1alpha1.EntraTenant {
	t.Helper()
	ctx := context.Background()
	for _, o := range objects {
		mustCreate(t, o.Object)
	}
	tenant := objects[0].Object.(*passkeysv1alpha1.EntraTenant)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, tenant) })
	for _, o := range objects {
		obj := o.Object
		eventually(t, obj.GetName()+" Ready without drift", func() (bool, string) {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return false, err.Error()
			}
			s := statusOfObject(obj)
			ready := meta.FindStatusCondition(s.Conditions, passkeysv1alpha1.ConditionReady)
			if ready == nil || ready.Status != metav1.ConditionTrue || len(s.Drift) > 0 {
				return false, conditionText(ready) + " drift " + driftText(s.Drift)
			}
			return true, ""
		})
	}
	return tenant
}

func statusOfObject(obj client.Object) passkeysv1alpha1.SyncStatus {
	return *obj.(passkeysv1alpha1.Object).SyncStatus()
}

func conditionText(c *metav1.Condition) string {
	if c == nil {
		return "no Ready condition"
	}
	return string(c.Status) + " " + c.Reason + ": " + c.Message
}

func driftText(drift []passkeysv1alpha1.DriftEntry) string {
	var parts []string
	for _, d := range drift {
		parts = append(parts, d.Field+" (want "+d.Desired+", Entra "+d.Observed+")")
	}
	return strings.Join(parts, "; ")
}
