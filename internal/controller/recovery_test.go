package controller_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// setSuspend suspends or resumes a whole tenant.
func setSuspend(t *testing.T, f *tenantFixture, suspend bool) {
	t.Helper()
	update(t, f.tenant, func() { f.tenant.Spec.Suspend = suspend })
}

func countNamed(doc emulator.Fido2Document, name string) int {
	n := 0
	for _, p := range doc.PasskeyProfiles {
		if p.Name == name {
			n++
		}
	}
	return n
}

// TestRestartMidWayCreatesNoDuplicate replays the two places an operator can
// die during a create: after recording the new profile's id but before the
// PATCH, and after the PATCH but before recording anything. Either way the
// next operator converges on exactly one profile with one id.
func TestRestartMidWayCreatesNoDuplicate(t *testing.T) {
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) { tenant.Spec.Suspend = true })
	ctx := context.Background()

	// A status id Entra does not hold (an older operator recorded ids before
	// creating; or Entra lost the profile): the profile is created anew,
	// without an id, and the status takes Entra's.
	recorded := f.profile("recorded", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, recorded, ready, metav1.ConditionFalse, "Suspended")
	const recordedID = "11111111-2222-4333-8444-555555555555"
	patch := client.MergeFrom(recorded.DeepCopy())
	recorded.Status.ProfileID = recordedID
	if err := env.Client.Status().Patch(ctx, recorded, patch); err != nil {
		t.Fatal(err)
	}

	// Died after the PATCH that created it: Entra holds the profile, the
	// status nothing. It is adopted by name, not created again.
	const createdID = "66666666-7777-4888-8999-000000000000"
	if _, err := emu.PortalEdit(f.tenantID, func(doc *emulator.Fido2Document) {
		doc.PasskeyProfiles = append(doc.PasskeyProfiles, emulator.PasskeyProfile{
			ID: createdID, Name: "patched", PasskeyTypes: "deviceBound", AttestationEnforcement: "disabled",
			KeyRestrictions: emulator.KeyRestrictions{EnforcementType: "block", AAGUIDs: []string{}},
		})
	}); err != nil {
		t.Fatal(err)
	}
	patched := f.profile("patched", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: boundTyp})

	setSuspend(t, f, false)
	waitCondition(t, recorded, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, patched, ready, metav1.ConditionTrue, "Succeeded")

	doc := f.fido2()
	for name, status := range map[string]string{"recorded": recorded.Status.ProfileID, "patched": patched.Status.ProfileID} {
		if n := countNamed(doc, name); n != 1 {
			t.Errorf("Entra holds %d profiles named %q, want 1", n, name)
		}
		if got, _ := profileByName(doc, name); got.ID != status {
			t.Errorf("profile %q has id %s in Entra, but %s in status", name, got.ID, status)
		}
	}
	if patched.Status.ProfileID != createdID {
		t.Errorf("patched: status.profileID = %s, want the adopted %s", patched.Status.ProfileID, createdID)
	}
	if recorded.Status.ProfileID == recordedID {
		t.Errorf("recorded: status.profileID is still %s, an id Entra never gave", recordedID)
	}
}

func TestMethodSettingsAreManagedWhenGiven(t *testing.T) {
	off := false
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) {
		tenant.Spec.Method = &passkeysv1alpha1.MethodSettings{State: passkeysv1alpha1.MethodEnabled, SelfServiceRegistration: &off}
	})
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
	doc := f.fido2()
	if doc.State != "enabled" || doc.IsSelfServiceRegistrationAllowed {
		t.Errorf("Entra has state %q, self-service %v; want enabled, false", doc.State, doc.IsSelfServiceRegistrationAllowed)
	}
}
