package controller_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

var (
	ready    = passkeysv1alpha1.ConditionReady
	stalled  = passkeysv1alpha1.ConditionStalled
	drifted  = passkeysv1alpha1.ConditionDrifted
	yubikey  = "2fc0579f-8113-47ea-b116-bb5a8db9202a" // YubiKey 5 Series with NFC
	synced   = []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeyDeviceBound, passkeysv1alpha1.PasskeySynced}
	boundTyp = []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeyDeviceBound}
)

func profileByName(doc emulator.Fido2Document, name string) (emulator.PasskeyProfile, bool) {
	i := slices.IndexFunc(doc.PasskeyProfiles, func(p emulator.PasskeyProfile) bool { return p.Name == name })
	if i < 0 {
		return emulator.PasskeyProfile{}, false
	}
	return doc.PasskeyProfiles[i], true
}

func includeTarget(doc emulator.Fido2Document, id string) (emulator.IncludeTarget, bool) {
	i := slices.IndexFunc(doc.IncludeTargets, func(t emulator.IncludeTarget) bool { return t.ID == id })
	if i < 0 {
		return emulator.IncludeTarget{}, false
	}
	return doc.IncludeTargets[i], true
}

func TestApplyMakesEntraHoldTheSpec(t *testing.T) {
	f := newTenant(t)
	initial := f.fido2()
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{
		DisplayName:     "Security keys for staff",
		PasskeyTypes:    boundTyp,
		Attestation:     passkeysv1alpha1.AttestationRegistrationOnly,
		KeyRestrictions: &passkeysv1alpha1.KeyRestrictions{Enforcement: passkeysv1alpha1.KeyEnforcementAllow, AAGUIDs: []string{yubikey}},
	})
	byName := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
		Target:               passkeysv1alpha1.AssignmentTarget{GroupName: "Staff"},
		Profiles:             []string{"staff"},
		RegistrationRequired: true,
	})

	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, byName, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")

	doc := f.fido2()
	got, ok := profileByName(doc, "Security keys for staff")
	if !ok {
		t.Fatalf("Entra has no profile named %q: %+v", "Security keys for staff", doc.PasskeyProfiles)
	}
	if got.ID != profile.Status.ProfileID {
		t.Errorf("profile id in Entra %q, status.profileID %q", got.ID, profile.Status.ProfileID)
	}
	if got.PasskeyTypes != "deviceBound" || got.AttestationEnforcement != "registrationOnly" ||
		!got.KeyRestrictions.IsEnforced || got.KeyRestrictions.EnforcementType != "allow" ||
		!slices.Equal(got.KeyRestrictions.AAGUIDs, []string{yubikey}) {
		t.Errorf("profile in Entra = %+v, want the spec", got)
	}
	target, ok := includeTarget(doc, staffGroup)
	if !ok {
		t.Fatalf("Entra has no include target for the Staff group: %+v", doc.IncludeTargets)
	}
	if !target.IsRegistrationRequired || !slices.Equal(target.AllowedPasskeyProfiles, []string{got.ID}) {
		t.Errorf("include target = %+v, want registration required and profile %s", target, got.ID)
	}
	if byName.Status.ResolvedGroupID != staffGroup {
		t.Errorf("status.resolvedGroupID = %q, want %q", byName.Status.ResolvedGroupID, staffGroup)
	}
	// Merge mode keeps what it does not manage exactly as it was: the
	// default profile and the all_users target Entra started with.
	for _, want := range initial.PasskeyProfiles {
		if got, _ := profileByName(doc, want.Name); !reflect.DeepEqual(got, want) {
			t.Errorf("Merge changed the unmanaged profile %q:\n got  %+v\n want %+v", want.Name, got, want)
		}
	}
	for _, want := range initial.IncludeTargets {
		if got, _ := includeTarget(doc, want.ID); !reflect.DeepEqual(got, want) {
			t.Errorf("Merge changed the unmanaged target %q:\n got  %+v\n want %+v", want.ID, got, want)
		}
	}
	if f.tenant.Status.Unmanaged == nil || !slices.Contains(f.tenant.Status.Unmanaged.IncludeTargets, "all_users") {
		t.Errorf("tenant status.unmanaged = %+v, want the all_users target listed", f.tenant.Status.Unmanaged)
	}
}

func TestUpdateCostsOnePatchAndQuietResyncOneGet(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")

	patchesBefore, getsBefore := f.count("PATCH"), f.count("GET")
	profile.Spec.PasskeyTypes = boundTyp
	if err := env.Client.Update(context.Background(), profile); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	if got, _ := profileByName(f.fido2(), "staff"); got.PasskeyTypes != "deviceBound" {
		t.Errorf("passkeyTypes in Entra = %q, want deviceBound", got.PasskeyTypes)
	}
	if n := f.count("PATCH") - patchesBefore; n != 1 {
		t.Errorf("an update cost %d PATCHes, want 1", n)
	}
	if n := f.count("GET") - getsBefore; n != 2 {
		t.Errorf("an update cost %d GETs, want 2 (the pass's read and the read-back)", n)
	}

	// A forced pass with nothing to do: one GET, no PATCH, no status write.
	patchesBefore, getsBefore = f.count("PATCH"), f.count("GET")
	requestReconcile(t, f.tenant, "quiet-1")
	eventually(t, "the tenant to handle quiet-1", func() (bool, string) {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.tenant), f.tenant)
		return f.tenant.Status.LastHandledReconcileAt == "quiet-1", f.tenant.Status.LastHandledReconcileAt
	})
	if n := f.count("GET") - getsBefore; n != 1 {
		t.Errorf("a quiet pass cost %d GETs, want 1", n)
	}
	if n := f.count("PATCH") - patchesBefore; n != 0 {
		t.Errorf("a quiet pass cost %d PATCHes, want 0", n)
	}
}

// portalEditProfile changes a profile in Entra as an administrator would.
func portalEditProfile(t *testing.T, f *tenantFixture, name string, edit func(*emulator.PasskeyProfile)) {
	t.Helper()
	if _, err := emu.PortalEdit(f.tenantID, func(doc *emulator.Fido2Document) {
		for i := range doc.PasskeyProfiles {
			if doc.PasskeyProfiles[i].Name == name {
				edit(&doc.PasskeyProfiles[i])
			}
		}
	}); err != nil {
		t.Fatalf("portal edit: %v", err)
	}
}

func TestDriftUnderReportIsReportedAndLeftAlone(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced, DriftPolicy: passkeysv1alpha1.DriftPolicyReport})
	waitCondition(t, profile, drifted, metav1.ConditionTrue, "DriftDetected") // Report never creates it

	// Report never writes: the profile the spec describes does not exist yet.
	if _, ok := profileByName(f.fido2(), "staff"); ok {
		t.Fatal("a Report profile was written to Entra")
	}
	if n := f.count("PATCH"); n != 0 {
		t.Errorf("%d PATCHes under Report, want 0", n)
	}
	if len(profile.Status.Drift) != 1 || profile.Status.Drift[0].Field != "profile" || profile.Status.Drift[0].Observed != "absent" {
		t.Errorf("status.drift = %+v, want the missing profile", profile.Status.Drift)
	}
}

func TestPortalEditIsReportedUnderReportAndCorrectedUnderEnforce(t *testing.T) {
	f := newTenant(t)
	enforced := f.profile("enforced", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	reported := f.profile("reported", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, enforced, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, reported, ready, metav1.ConditionTrue, "Succeeded")
	reported.Spec.DriftPolicy = passkeysv1alpha1.DriftPolicyReport
	if err := env.Client.Update(context.Background(), reported); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, reported, ready, metav1.ConditionTrue, "Succeeded")

	for _, name := range []string{"enforced", "reported"} {
		portalEditProfile(t, f, name, func(p *emulator.PasskeyProfile) { p.PasskeyTypes = "deviceBound" })
	}
	requestReconcile(t, f.tenant, "after-portal-edit")

	waitCondition(t, reported, drifted, metav1.ConditionTrue, "DriftDetected")
	want := passkeysv1alpha1.DriftEntry{Field: "passkeyTypes", Desired: "deviceBound, synced", Observed: "deviceBound"}
	if !slices.Equal(reported.Status.Drift, []passkeysv1alpha1.DriftEntry{want}) {
		t.Errorf("status.drift = %+v, want [%+v]", reported.Status.Drift, want)
	}
	eventually(t, "the enforced profile to be corrected", func() (bool, string) {
		got, _ := profileByName(f.fido2(), "enforced")
		return got.PasskeyTypes == "deviceBound,synced", got.PasskeyTypes
	})
	if got, _ := profileByName(f.fido2(), "reported"); got.PasskeyTypes != "deviceBound" {
		t.Errorf("the Report profile was changed in Entra to %q", got.PasskeyTypes)
	}
	waitCondition(t, enforced, drifted, metav1.ConditionFalse, "Succeeded")
}

func TestFourthProfileIsStalledAndNothingIsWritten(t *testing.T) {
	f := newTenant(t)
	first := f.profile("one", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	second := f.profile("two", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: boundTyp})
	waitCondition(t, first, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, second, ready, metav1.ConditionTrue, "Succeeded")
	// With Entra's default profile, the tenant now holds three.
	third := f.profile("three", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, third, stalled, metav1.ConditionTrue, "TooManyProfiles")
	if !strings.Contains(conditionOf(third, ready).Message, "at most 3 passkey profiles") {
		t.Errorf("message %q does not explain the limit", conditionOf(third, ready).Message)
	}
	if n := len(f.fido2().PasskeyProfiles); n != 3 {
		t.Errorf("Entra holds %d profiles, want 3", n)
	}
}

func TestUnknownGroupNameIsStalledNamingTheGroup(t *testing.T) {
	f := newTenant(t)
	f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	a := f.assignment("ghost", passkeysv1alpha1.GroupAssignmentSpec{
		Target:   passkeysv1alpha1.AssignmentTarget{GroupName: "Ghosts"},
		Profiles: []string{"staff"},
	})
	waitCondition(t, a, stalled, metav1.ConditionTrue, "GroupNotFound")
	if msg := conditionOf(a, ready).Message; !strings.Contains(msg, `"Ghosts"`) {
		t.Errorf("message %q does not name the group", msg)
	}
}

func TestMissingSecretKeyIsStalledWithTheKeyNamed(t *testing.T) {
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) {
		tenant.Spec.Credentials.SecretRef.Key = "wrong-key"
	})
	waitCondition(t, f.tenant, stalled, metav1.ConditionTrue, "CredentialsInvalid")
	if msg := conditionOf(f.tenant, ready).Message; !strings.Contains(msg, `no key "wrong-key"`) {
		t.Errorf("message %q does not say which key is missing", msg)
	}
}

func conditionOf(obj client.Object, condition string) metav1.Condition {
	for _, c := range conditionsOf(obj) {
		if c.Type == condition {
			return c
		}
	}
	return metav1.Condition{}
}
