package controller_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// managedIdentityHeader is the IDENTITY_HEADER of the emulated App Service
// host; TestMain gives it to the emulator.
const managedIdentityHeader = "controller-test-identity-header"

// TestManagedIdentityTenant runs an EntraTenant with credentials of type
// ManagedIdentity through the operator. The process environment is an App
// Service host's (IDENTITY_ENDPOINT, IDENTITY_HEADER), set before the
// tenant exists: the credential is built in the first reconcile and reads
// the endpoint on every token request. Not parallel: t.Setenv changes the
// whole process.
func TestManagedIdentityTenant(t *testing.T) {
	t.Setenv("IDENTITY_ENDPOINT", emuURL+emulator.ManagedIdentityPath)
	t.Setenv("IDENTITY_HEADER", managedIdentityHeader)
	t.Setenv("IDENTITY_SERVER_THUMBPRINT", "") // set, MSAL would choose Service Fabric

	// A user-assigned identity, unique to this test: MSAL caches managed
	// identity tokens process-wide by identity and resource, and every
	// tenant here shares the emulator's URL as the resource.
	identity := uuid.NewString()
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) {
		if err := emu.Seed(emulator.Tenant{ID: tenant.Spec.TenantID, Apps: []emulator.App{
			{ClientID: identity, ManagedIdentity: true, Roles: emulator.ReadWriteRoles},
		}}); err != nil {
			t.Fatalf("seeding the managed identity: %v", err)
		}
		tenant.Spec.Credentials = passkeysv1alpha1.Credentials{Type: passkeysv1alpha1.CredentialManagedIdentity, ClientID: identity}
	})
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{
		DisplayName:  "Managed identity staff",
		PasskeyTypes: synced,
	})

	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
	got, ok := profileByName(f.fido2(), "Managed identity staff")
	if !ok || got.ID != profile.Status.ProfileID {
		t.Fatalf("Entra holds %+v (found %v), want the profile with id %q", got, ok, profile.Status.ProfileID)
	}

	stats := emu.Stats()
	if n := stats.Count(f.tenantID, http.MethodGet, emulator.ManagedIdentityPath, http.StatusOK); n == 0 {
		t.Errorf("no managed identity token was issued for tenant %s; stats %+v", f.tenantID, stats.Requests)
	}
	if n := stats.Count(f.tenantID, http.MethodPost, "/"+f.tenantID+"/oauth2/v2.0/token", emulator.AnyStatus); n != 0 {
		t.Errorf("%d requests to the OAuth token endpoint, want 0: the managed identity must not use client credentials", n)
	}
	if n := stats.Count(f.tenantID, http.MethodPatch, fido2Path, http.StatusNoContent); n == 0 {
		t.Error("no PATCH succeeded with the managed identity's token")
	}
}
