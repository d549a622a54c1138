package controller_test

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// The tests here replay what the fault soak found: a write Entra applied
// whose outcome was never recorded (the manager killed, or the read-back
// failing, between the PATCH and the status write), followed by a rename,
// a move or a deletion. The state such a crash leaves — Entra holding the
// item, the status holding only the claim written before the PATCH — is
// set up while the tenant is suspended; resuming it is the restarted
// manager's first pass.

const adminsGroup = "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4"

func excluded(doc emulator.Fido2Document, id string) bool {
	return slices.ContainsFunc(doc.ExcludeTargets, func(t emulator.ExcludeTarget) bool { return t.ID == id })
}

// patchStatus writes a status field as a crashed manager left it.
func patchStatus(t *testing.T, obj client.Object, change func()) {
	t.Helper()
	ctx := context.Background()
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	change()
	if err := env.Client.Status().Patch(ctx, obj, patch); err != nil {
		t.Fatal(err)
	}
}

// TestMoveAfterAnUnconfirmedMoveLeavesNothingBehind: an assignment moved
// from Exclude Staff to Exclude Admins, Entra applied it but the outcome
// was never recorded; then it moved to Include Admins. Admins must not end
// up both included and excluded (its users could not use passkeys at all).
func TestMoveAfterAnUnconfirmedMoveLeavesNothingBehind(t *testing.T) {
	f := newTenantWithAdmins(t)
	f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	a := f.assignment("team", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup},
		Mode:   passkeysv1alpha1.AssignmentExclude,
	})
	waitCondition(t, a, ready, metav1.ConditionTrue, "Succeeded")
	setSuspend(t, f, true)
	waitCondition(t, f.tenant, ready, metav1.ConditionFalse, "Suspended")

	update(t, a, func() { a.Spec.Target = passkeysv1alpha1.AssignmentTarget{GroupID: adminsGroup} })
	patchStatus(t, a, func() {
		a.Status.PendingTargets = []passkeysv1alpha1.AppliedTarget{{GroupID: adminsGroup, Mode: passkeysv1alpha1.AssignmentExclude}}
	})
	if _, err := emu.PortalEdit(f.tenantID, func(doc *emulator.Fido2Document) {
		doc.ExcludeTargets = []emulator.ExcludeTarget{{ID: adminsGroup, TargetType: "group"}}
	}); err != nil {
		t.Fatal(err)
	}
	update(t, a, func() { a.Spec.Mode = passkeysv1alpha1.AssignmentInclude; a.Spec.Profiles = []string{"staff"} })

	setSuspend(t, f, false)
	waitCondition(t, a, ready, metav1.ConditionTrue, "Succeeded")
	doc := f.fido2()
	if _, included := includeTarget(doc, adminsGroup); !included || excluded(doc, adminsGroup) {
		t.Errorf("Admins included: %s, excluded: %s; want included only (exclude targets %+v)",
			yesNo(included), yesNo(excluded(doc, adminsGroup)), doc.ExcludeTargets)
	}
	wantApplied(t, a, adminsGroup, passkeysv1alpha1.AssignmentInclude)
	if len(a.Status.PendingTargets) > 0 {
		t.Errorf("status.pendingTargets = %+v after a clean pass, want none", a.Status.PendingTargets)
	}
}

// TestRenameOrDeleteAfterAnUnrecordedCreate: a profile created in Entra
// whose id was never recorded is found by the name the create was sent
// under, so renaming it renames that profile instead of creating a second,
// and deleting it removes it instead of leaving it behind.
func TestRenameOrDeleteAfterAnUnrecordedCreate(t *testing.T) {
	const renamedID, deletedID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d", "1b2c3d4e-5f6a-4b7c-9d8e-9f0a1b2c3d4e"
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) { tenant.Spec.Suspend = true })
	renamed := f.profile("renamed", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: boundTyp})
	deleted := f.profile("deleted", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: boundTyp})
	waitCondition(t, renamed, ready, metav1.ConditionFalse, "Suspended")
	waitCondition(t, deleted, ready, metav1.ConditionFalse, "Suspended")

	if _, err := emu.PortalEdit(f.tenantID, func(doc *emulator.Fido2Document) {
		for id, name := range map[string]string{renamedID: "renamed", deletedID: "deleted"} {
			doc.PasskeyProfiles = append(doc.PasskeyProfiles, emulator.PasskeyProfile{
				ID: id, Name: name, PasskeyTypes: "deviceBound", AttestationEnforcement: "disabled",
				KeyRestrictions: emulator.KeyRestrictions{EnforcementType: "block", AAGUIDs: []string{}},
			})
		}
	}); err != nil {
		t.Fatal(err)
	}
	patchStatus(t, renamed, func() { renamed.Status.PendingName = "renamed" })
	patchStatus(t, deleted, func() { deleted.Status.PendingName = "deleted" })
	update(t, renamed, func() { renamed.Spec.DisplayName = "Security keys" })
	if err := env.Client.Delete(context.Background(), deleted); err != nil {
		t.Fatal(err)
	}

	setSuspend(t, f, false)
	waitCondition(t, renamed, ready, metav1.ConditionTrue, "Succeeded")
	eventually(t, "the deleted PasskeyProfile to be released", func() (bool, string) {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(deleted), deleted)
		return client.IgnoreNotFound(err) == nil && err != nil, "still there"
	})
	var names []string
	for _, p := range f.fido2().PasskeyProfiles {
		names = append(names, p.ID+" "+p.Name)
	}
	want := []string{emulator.DefaultPasskeyProfileID + " " + emulator.DefaultPasskeyProfileName, renamedID + " Security keys"}
	if !slices.Equal(names, want) {
		t.Errorf("Entra holds profiles %q, want %q", names, want)
	}
	if renamed.Status.ProfileID != renamedID || renamed.Status.PendingName != "" {
		t.Errorf("status.profileID %q, pendingName %q; want %s and none", renamed.Status.ProfileID, renamed.Status.PendingName, renamedID)
	}
}

// TestClaimsAreRecordedBeforeTheWrite: with every Graph response slowed
// down, the claim of a new profile and of a new target is in status while
// the PATCH that creates them is still on its way, that is before Entra
// holds them; once the pass confirms them, the claims give way to the id
// and the applied target.
func TestClaimsAreRecordedBeforeTheWrite(t *testing.T) {
	f := newTenant(t)
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
	if err := emu.SetFault(f.tenantID, emulator.Fault{LatencyMS: 1500}); err != nil {
		t.Fatal(err)
	}
	profile := f.profile("keys", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: boundTyp})
	a := f.assignment("team", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup},
		Mode:   passkeysv1alpha1.AssignmentExclude,
	})
	ctx := context.Background()
	claimed := func(get client.Object, has func() bool, inEntra func(emulator.Fido2Document) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			doc := f.fido2() // before the status: a claim seen then came before this
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(get), get); err != nil {
				t.Fatal(err)
			}
			if has() {
				if inEntra(doc) {
					t.Errorf("%s: Entra held the item before its claim was seen in status", get.GetName())
				}
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s: no claim in status within 30s", get.GetName())
	}
	claimed(profile, func() bool { return profile.Status.PendingName == "keys" }, func(doc emulator.Fido2Document) bool {
		_, found := profileByName(doc, "keys")
		return found
	})
	claimed(a, func() bool { return len(a.Status.PendingTargets) > 0 }, func(doc emulator.Fido2Document) bool {
		return excluded(doc, staffGroup)
	})

	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, a, ready, metav1.ConditionTrue, "Succeeded")
	if entra, _ := profileByName(f.fido2(), "keys"); profile.Status.ProfileID != entra.ID || profile.Status.PendingName != "" {
		t.Errorf("keys: status.profileID %q, pendingName %q; want %s and none", profile.Status.ProfileID, profile.Status.PendingName, entra.ID)
	}
	wantApplied(t, a, staffGroup, passkeysv1alpha1.AssignmentExclude)
	if len(a.Status.PendingTargets) > 0 {
		t.Errorf("status.pendingTargets = %+v after a clean pass, want none", a.Status.PendingTargets)
	}
}
