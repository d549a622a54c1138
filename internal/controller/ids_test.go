package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// TestNewProfilesConvergeUnderEveryIDAnswer: whether Entra assigns, honours
// or rejects a client's id for a new profile, and whether a target may name
// a profile created in the same PATCH, is not documented. The operator
// creates a profile and a target naming it under every combination: one
// profile in Entra, its id in status, the target naming it, at most two
// PATCHes; and a quiet resync after it costs one GET. The figures go to
// docs/performance.md.
func TestNewProfilesConvergeUnderEveryIDAnswer(t *testing.T) {
	for _, ids := range []emulator.NewProfileIDs{emulator.NewProfileIDsAssign, emulator.NewProfileIDsHonour, emulator.NewProfileIDsReject} {
		for _, reference := range []emulator.Verdict{emulator.Refuse, emulator.Allow} {
			t.Run(fmt.Sprintf("ids %s, same-PATCH reference %s", ids, reference), func(t *testing.T) {
				f := newTenant(t)
				if err := emu.SetBehavior(f.tenantID, emulator.Behavior{NewProfileIDs: ids, SamePatchReference: reference}); err != nil {
					t.Fatal(err)
				}
				waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
				before := settle(t, f.tenantID)

				profile := f.profile("keys", passkeysv1alpha1.PasskeyProfileSpec{DisplayName: "Keys", PasskeyTypes: boundTyp})
				assignment := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
					Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"keys"}})
				waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
				waitCondition(t, assignment, ready, metav1.ConditionTrue, "Succeeded")
				created := settle(t, f.tenantID).minus(before)

				doc := f.fido2()
				entraProfile, _ := profileByName(doc, "Keys")
				if n := countNamed(doc, "Keys"); n != 1 {
					t.Errorf("Entra holds %d profiles named Keys, want 1", n)
				}
				if profile.Status.ProfileID == "" || !strings.EqualFold(profile.Status.ProfileID, entraProfile.ID) {
					t.Errorf("status.profileID %q, Entra's id %q", profile.Status.ProfileID, entraProfile.ID)
				}
				i := slices.IndexFunc(doc.IncludeTargets, func(tg emulator.IncludeTarget) bool { return strings.EqualFold(tg.ID, staffGroup) })
				if i < 0 || !slices.ContainsFunc(doc.IncludeTargets[i].AllowedPasskeyProfiles, func(id string) bool { return strings.EqualFold(id, entraProfile.ID) }) {
					t.Errorf("the Staff target does not name profile %s: %+v", entraProfile.ID, doc.IncludeTargets)
				}
				if created.patches < 1 || created.patches > 2 {
					t.Errorf("creating cost %d PATCHes, want 1 or 2", created.patches)
				}

				requestReconcile(t, f.tenant, "quiet")
				eventually(t, "the quiet resync", func() (bool, string) {
					_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.tenant), f.tenant)
					return f.tenant.Status.LastHandledReconcileAt == "quiet", f.tenant.Status.LastHandledReconcileAt
				})
				quiet := settle(t, f.tenantID).minus(before).minus(created)
				if quiet.gets != 1 || quiet.patches != 0 {
					t.Errorf("a quiet resync cost %d GETs and %d PATCHes, want 1 and 0", quiet.gets, quiet.patches)
				}
				t.Logf("creating a profile and a target naming it: %d GETs, %d PATCHes; a quiet resync: %d GET, %d PATCHes",
					created.gets, created.patches, quiet.gets, quiet.patches)
			})
		}
	}
}
