package controller_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// A failure only a person can fix is retried first after 30 s, the
// shortest resync interval; a tenant with that interval is retried every
// 30 s, so these tests see the retry in well under a minute.
const shortestResync = 30 * time.Second

func resyncShortest(tenant *passkeysv1alpha1.EntraTenant) {
	tenant.Spec.ResyncInterval = &metav1.Duration{Duration: shortestResync}
}

// TestConsentGrantedInEntraIsPickedUp: an app without the write permission
// leaves every resource Stalled with reason Forbidden, and a retry that
// fails the same way writes no status. Once an admin grants the permission
// in Entra, which no Kubernetes event announces, the next retry signs in
// again, since the permission travels in the access token, and everything
// goes Ready with nothing changed in the cluster.
func TestConsentGrantedInEntraIsPickedUp(t *testing.T) {
	t.Parallel()
	f := newTenantWithRoles(t, []string{emulator.RolePolicyRead}, resyncShortest)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	assignment := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"staff"},
	})
	for _, obj := range []client.Object{f.tenant, profile, assignment} {
		waitCondition(t, obj, stalled, metav1.ConditionTrue, "Forbidden")
	}

	// One more pass fails as the last did, with a new request id in Graph's
	// answer: the resources' statuses stay as they were.
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(profile), profile); err != nil {
		t.Fatal(err)
	}
	refused, before := f.refusedPatches(), profile.ResourceVersion
	requestReconcile(t, f.tenant, "still-forbidden")
	eventually(t, "the pass to run", func() (bool, string) {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.tenant), f.tenant)
		return f.tenant.Status.LastHandledReconcileAt == "still-forbidden", f.tenant.Status.LastHandledReconcileAt
	})
	if f.refusedPatches() == refused {
		t.Fatal("the pass sent no PATCH that Graph refused; the check below proves nothing")
	}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(profile), profile); err != nil {
		t.Fatal(err)
	}
	if profile.ResourceVersion != before {
		t.Errorf("a repeated failure rewrote the profile's status: %v", profile.Status.Conditions)
	}

	// An admin grants the permission in Entra.
	tokens := f.tokensIssued()
	f.seedApp(f.secret, emulator.ReadWriteRoles)
	for _, obj := range []client.Object{f.tenant, profile, assignment} {
		waitReadyWithin(t, shortestResync+15*time.Second, obj)
	}
	if f.tokensIssued() == tokens {
		t.Error("Ready without a new token: the permission cannot have reached the operator")
	}
	if _, ok := profileByName(f.fido2(), "staff"); !ok {
		t.Error("the profile is not in Entra")
	}
}

// TestSecretRegisteredInEntraIsPickedUp: the Secret holds a client secret
// Entra does not accept yet (a new secret put in the cluster before it was
// added to the app, or before Entra replicated it). The tenant is Stalled
// with reason CredentialsInvalid, and once Entra accepts the secret a retry
// brings everything Ready with nothing changed in the cluster.
func TestSecretRegisteredInEntraIsPickedUp(t *testing.T) {
	t.Parallel()
	f := newTenant(t, resyncShortest, func(tenant *passkeysv1alpha1.EntraTenant) { tenant.Spec.Suspend = true })
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	f.seedApp("0ld-"+f.secret, emulator.ReadWriteRoles)
	resume := client.MergeFrom(f.tenant.DeepCopy())
	f.tenant.Spec.Suspend = false
	if err := env.Client.Patch(context.Background(), f.tenant, resume); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []client.Object{f.tenant, profile} {
		waitCondition(t, obj, stalled, metav1.ConditionTrue, "CredentialsInvalid")
	}

	f.seedApp(f.secret, emulator.ReadWriteRoles)
	for _, obj := range []client.Object{f.tenant, profile} {
		waitReadyWithin(t, shortestResync+15*time.Second, obj)
	}
}

// seedApp gives the tenant's app in Entra this secret and these roles, as
// the portal does; tokens issued before keep their roles.
func (f *tenantFixture) seedApp(secret string, roles []string) {
	f.t.Helper()
	if err := emu.Seed(emulator.Tenant{ID: f.tenantID, Apps: []emulator.App{{ClientID: clientID, ClientSecret: secret, Roles: roles}}}); err != nil {
		f.t.Fatalf("seeding the app: %v", err)
	}
}

// tokensIssued counts the access tokens Entra issued for the tenant.
func (f *tenantFixture) tokensIssued() int {
	return emu.Stats().Count(f.tenantID, http.MethodPost, "/"+f.tenantID+"/oauth2/v2.0/token", http.StatusOK)
}

// refusedPatches counts the PATCHes Graph refused with 403.
func (f *tenantFixture) refusedPatches() int {
	return emu.Stats().Count(f.tenantID, http.MethodPatch, fido2Path, http.StatusForbidden)
}

// waitReadyWithin is waitCondition for Ready, waiting longer than
// eventually does: long enough for a stalled tenant's next retry.
func waitReadyWithin(t *testing.T, timeout time.Duration, obj client.Object) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		c := meta.FindStatusCondition(conditionsOf(obj), ready)
		if c != nil && c.Status == metav1.ConditionTrue && c.Reason == "Succeeded" && c.ObservedGeneration == obj.GetGeneration() {
			return
		}
		last = fmt.Sprintf("%v", c)
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not Ready within %s; last seen: %s", obj.GetName(), timeout, last)
}
