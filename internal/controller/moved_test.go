package controller_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// TestMovedAssignmentTakesItsOldTargetOut: changing an assignment's group,
// then its mode, must not leave the old target behind in Entra, where it
// would keep granting (or excluding) a group nobody declares any more.
func TestMovedAssignmentTakesItsOldTargetOut(t *testing.T) {
	f := newTenantWithAdmins(t)
	f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	a := f.assignment("team", passkeysv1alpha1.GroupAssignmentSpec{
		Target:   passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup},
		Profiles: []string{"staff"},
	})
	waitCondition(t, a, ready, metav1.ConditionTrue, "Succeeded")
	wantApplied(t, a, staffGroup, passkeysv1alpha1.AssignmentInclude)

	update(t, a, func() { a.Spec.Target = passkeysv1alpha1.AssignmentTarget{GroupName: "Admins"} })
	eventually(t, "the target to move from Staff to Admins", func() (bool, string) {
		_, stillStaff := includeTarget(f.fido2(), staffGroup)
		_, admins := includeTarget(f.fido2(), adminsGroup)
		return !stillStaff && admins, "staff present: " + yesNo(stillStaff) + ", admins present: " + yesNo(admins)
	})
	waitCondition(t, a, ready, metav1.ConditionTrue, "Succeeded")
	wantApplied(t, a, adminsGroup, passkeysv1alpha1.AssignmentInclude)

	update(t, a, func() { a.Spec.Mode = passkeysv1alpha1.AssignmentExclude; a.Spec.Profiles = nil })
	eventually(t, "the Admins target to move to excludeTargets", func() (bool, string) {
		doc := f.fido2()
		_, included := includeTarget(doc, adminsGroup)
		excluded := false
		for _, e := range doc.ExcludeTargets {
			excluded = excluded || e.ID == adminsGroup
		}
		return !included && excluded, "included: " + yesNo(included) + ", excluded: " + yesNo(excluded)
	})
	waitCondition(t, a, ready, metav1.ConditionTrue, "Succeeded")
	wantApplied(t, a, adminsGroup, passkeysv1alpha1.AssignmentExclude)
}

// TestAssignmentMovedToAnUnknownGroupKeepsItsTarget: under Authoritative,
// an assignment edited to name a group Entra does not have is stalled, and
// the target it holds stays in Entra instead of being removed as
// undeclared: the edit is not applied, so nothing it replaces goes.
func TestAssignmentMovedToAnUnknownGroupKeepsItsTarget(t *testing.T) {
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) {
		tenant.Spec.Management = passkeysv1alpha1.ManagementAuthoritative
	})
	f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	a := f.assignment("team", passkeysv1alpha1.GroupAssignmentSpec{
		Target:   passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup},
		Profiles: []string{"staff"},
	})
	waitCondition(t, a, ready, metav1.ConditionTrue, "Succeeded")

	update(t, a, func() { a.Spec.Target = passkeysv1alpha1.AssignmentTarget{GroupName: "Nobody"} })
	waitCondition(t, a, stalled, metav1.ConditionTrue, "GroupNotFound") // written after the pass's PATCH, if any
	if _, ok := includeTarget(f.fido2(), staffGroup); !ok {
		t.Errorf("Entra lost the Staff target while its assignment names an unknown group: %+v", f.fido2().IncludeTargets)
	}
	wantApplied(t, a, staffGroup, passkeysv1alpha1.AssignmentInclude)
}

// newTenantWithAdmins is newTenant whose Entra also has an Admins group.
func newTenantWithAdmins(t *testing.T) *tenantFixture {
	t.Helper()
	f := newTenant(t)
	if err := emu.Seed(emulator.Tenant{ID: f.tenantID, Groups: []emulator.Group{{ID: adminsGroup, DisplayName: "Admins"}}}); err != nil {
		t.Fatal(err)
	}
	return f
}

// update changes obj's spec, read afresh, trying again when the operator
// wrote the object (a status, a finalizer) in between.
func update(t *testing.T, obj client.Object, change func()) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change()
		return env.Client.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func wantApplied(t *testing.T, a *passkeysv1alpha1.GroupAssignment, group string, mode passkeysv1alpha1.AssignmentMode) {
	t.Helper()
	want := passkeysv1alpha1.AppliedTarget{GroupID: group, Mode: mode}
	if got := a.Status.AppliedTarget; got == nil || *got != want {
		t.Errorf("status.appliedTarget = %+v, want %+v", got, want)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
