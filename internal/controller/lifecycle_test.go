package controller_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

func TestAuthoritativeRemovesWhatNoResourceDeclares(t *testing.T) {
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) {
		tenant.Spec.Management = passkeysv1alpha1.ManagementAuthoritative
	})
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	assignment := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"staff"},
	})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, assignment, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")

	doc := f.fido2()
	if _, ok := includeTarget(doc, "all_users"); ok {
		t.Errorf("Authoritative kept the undeclared all_users target: %+v", doc.IncludeTargets)
	}
	// The default profile is the one thing Entra never lets go.
	if _, ok := profileByName(doc, "Default passkey profile"); !ok || len(doc.PasskeyProfiles) != 2 {
		t.Errorf("profiles = %+v, want the default profile and staff", doc.PasskeyProfiles)
	}
}

func TestNamespaceNotAllowedIsStalledAndNotWritten(t *testing.T) {
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) {
		tenant.Spec.AllowedNamespaces = &metav1.LabelSelector{MatchLabels: map[string]string{"entra-tenant": "contoso"}}
	})
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, stalled, metav1.ConditionTrue, "NamespaceNotAllowed")
	if _, ok := profileByName(f.fido2(), "staff"); ok {
		t.Fatal("a profile from a namespace the tenant does not allow was written")
	}

	// Labelling the namespace admits it, without touching the profile.
	var ns corev1.Namespace
	ctx := context.Background()
	if err := env.Client.Get(ctx, client.ObjectKey{Name: f.namespace}, &ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels["entra-tenant"] = "contoso"
	if err := env.Client.Update(ctx, &ns); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
}

func deleteAndWaitGone(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	if err := env.Client.Delete(ctx, obj); err != nil {
		t.Fatal(err)
	}
	waitGone(t, obj)
}

func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	eventually(t, obj.GetName()+" to be gone", func() (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), "still there, finalizers " + strings.Join(obj.GetFinalizers(), ",")
	})
}

func TestDeletionPolicies(t *testing.T) {
	f := newTenant(t)
	deleted := f.profile("deleted", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	orphaned := f.profile("orphaned", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: boundTyp, DeletionPolicy: passkeysv1alpha1.DeletionPolicyOrphan})
	waitCondition(t, deleted, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, orphaned, ready, metav1.ConditionTrue, "Succeeded")

	deleteAndWaitGone(t, deleted)
	deleteAndWaitGone(t, orphaned)
	doc := f.fido2()
	if _, ok := profileByName(doc, "deleted"); ok {
		t.Error("deletionPolicy Delete left the profile in Entra")
	}
	if _, ok := profileByName(doc, "orphaned"); !ok {
		t.Error("deletionPolicy Orphan removed the profile from Entra")
	}
}

func TestProfileInUseIsKeptUntilNoAssignmentNamesIt(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	assignment := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"staff"},
	})
	waitCondition(t, assignment, ready, metav1.ConditionTrue, "Succeeded")

	if err := env.Client.Delete(context.Background(), profile); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, profile, ready, metav1.ConditionFalse, "InUse")
	if msg := conditionOf(profile, ready).Message; !strings.Contains(msg, "GroupAssignment "+f.namespace+"/staff") {
		t.Errorf("message %q does not name the assignment that uses the profile", msg)
	}
	if _, ok := profileByName(f.fido2(), "staff"); !ok {
		t.Fatal("a profile still in use was removed from Entra")
	}

	deleteAndWaitGone(t, assignment)
	eventually(t, "the profile to leave Entra", func() (bool, string) {
		_, ok := profileByName(f.fido2(), "staff")
		return !ok, "still in Entra"
	})
	waitGone(t, profile)
}

func TestSuspendedProfileIsNeitherWrittenNorChecked(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	profile.Spec.Suspend = true
	if err := env.Client.Update(context.Background(), profile); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, profile, ready, metav1.ConditionFalse, "Suspended")

	portalEditProfile(t, f, "staff", func(p *emulator.PasskeyProfile) { p.PasskeyTypes = "deviceBound" })
	patches := f.count("PATCH")
	requestReconcile(t, f.tenant, "while-suspended")
	eventually(t, "the pass to run", func() (bool, string) {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.tenant), f.tenant)
		return f.tenant.Status.LastHandledReconcileAt == "while-suspended", f.tenant.Status.LastHandledReconcileAt
	})
	if got, _ := profileByName(f.fido2(), "staff"); got.PasskeyTypes != "deviceBound" || f.count("PATCH") != patches {
		t.Errorf("a suspended profile was corrected: Entra has %q", got.PasskeyTypes)
	}
	if _ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(profile), profile); len(profile.Status.Drift) != 0 {
		t.Errorf("a suspended profile reports drift: %+v", profile.Status.Drift)
	}
}

func TestReadOnlyAppIsStalledNamingThePermission(t *testing.T) {
	f := newTenantWithRoles(t, []string{emulator.RolePolicyRead})
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, stalled, metav1.ConditionTrue, "Forbidden")
	if msg := conditionOf(profile, ready).Message; !strings.Contains(msg, "Policy.ReadWrite.AuthenticationMethod") {
		t.Errorf("message %q does not name the permission to grant", msg)
	}
}

func TestThrottlingConvergesHonouringRetryAfter(t *testing.T) {
	f := newTenant(t)
	if err := emu.SetFault(f.tenantID, emulator.Fault{ThrottleEvery: 2, RetryAfterSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	throttled := emu.Stats().Count(f.tenantID, "", fido2Path, 429)
	if throttled == 0 {
		t.Fatal("the emulator throttled nothing; the test proves nothing")
	}
	if total := f.count(""); total > 4*throttled+4 {
		t.Errorf("%d requests for %d throttled ones: a hot loop", total, throttled)
	}
}
