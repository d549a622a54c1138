package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// The emulator's catalog lists these YubiKey 5 models among others.
const (
	yubikey5A    = "cb69481e-8ff7-4039-93ec-0a2729a154a8" // YubiKey 5 Series
	yubikey5B    = "ee882879-721c-4913-9775-3dfcce97072a" // YubiKey 5 Series
	yubikey5NFC  = "fa2b99dc-9e39-4257-8f92-4a30d23c4118" // YubiKey 5 Series with NFC
	yubikey5NFC2 = "2fc0579f-8113-47ea-b116-bb5a8db9202a" // YubiKey 5 Series with NFC
	feitianKey   = "833b721a-ff5f-4d00-bb2e-bdda3ec01e29" // Feitian ePass FIDO2 Authenticator
	newYubiKey   = "5e2a1d3c-7b9f-4c8e-9d0a-1b2c3d4e5f60" // not in the catalog until a test adds it
)

// reloadCatalog makes the emulator's BLOB list models and the operator
// load it at once, as its daily refresh would; the test puts the default
// models back when it ends.
func reloadCatalog(t *testing.T, models []mds.Model) {
	t.Helper()
	set := func(models []mds.Model) error {
		if _, err := emu.SetMDSModels(models); err != nil {
			return err
		}
		_, err := catalog.Load(context.Background())
		return err
	}
	if err := set(models); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set(emulator.DefaultMDSModels); err != nil {
			t.Error(err)
		}
	})
}

// TestAuthenticatorsByName: a profile that selects models by name is
// written with the AAGUIDs they resolve to, its status lists them with
// names and the entry that chose them, and a new catalog that changes the
// selection is said in an event and applied.
func TestAuthenticatorsByName(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("keys", passkeysv1alpha1.PasskeyProfileSpec{
		DisplayName:  "YubiKeys",
		PasskeyTypes: boundTyp,
		KeyRestrictions: &passkeysv1alpha1.KeyRestrictions{Enforcement: passkeysv1alpha1.KeyEnforcementAllow,
			AAGUIDs: []string{feitianKey}, Authenticators: []string{"YubiKey 5 Series*"}},
	})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	wantAAGUIDs := []string{feitianKey, yubikey5A, yubikey5B, yubikey5NFC2, yubikey5NFC}
	if got := entraAAGUIDs(t, f, "YubiKeys"); !slices.Equal(got, wantAAGUIDs) {
		t.Errorf("Entra allows %v, want the AAGUID and the four YubiKey 5 Series models %v", got, wantAAGUIDs)
	}
	want := []passkeysv1alpha1.AuthenticatorModel{
		{AAGUID: feitianKey, Name: "Feitian ePass FIDO2 Authenticator"},
		{AAGUID: yubikey5A, Name: "YubiKey 5 Series", Selector: "YubiKey 5 Series*"},
		{AAGUID: yubikey5B, Name: "YubiKey 5 Series", Selector: "YubiKey 5 Series*"},
		{AAGUID: yubikey5NFC2, Name: "YubiKey 5 Series with NFC", Selector: "YubiKey 5 Series*"},
		{AAGUID: yubikey5NFC, Name: "YubiKey 5 Series with NFC", Selector: "YubiKey 5 Series*"},
	}
	if !slices.Equal(profile.Status.Authenticators, want) {
		t.Errorf("status.authenticators:\n got  %+v\n want %+v", profile.Status.Authenticators, want)
	}

	// The FIDO Alliance lists a new YubiKey 5 Series model and drops one.
	models := slices.DeleteFunc(slices.Clone(emulator.DefaultMDSModels), func(m mds.Model) bool { return m.AAGUID == yubikey5B })
	reloadCatalog(t, append(models, mds.Model{AAGUID: newYubiKey, Name: "YubiKey 5 Series Enhanced PIN"}))
	eventually(t, "the new model written to Entra", func() (bool, string) {
		got := entraAAGUIDs(t, f, "YubiKeys")
		return slices.Contains(got, newYubiKey) && !slices.Contains(got, yubikey5B), fmt.Sprint(got)
	})
	note := waitEvent(t, profile, "AuthenticatorsChanged")
	for _, part := range []string{"also select YubiKey 5 Series Enhanced PIN [" + newYubiKey + `] (by "YubiKey 5 Series*")`,
		"no longer select YubiKey 5 Series [" + yubikey5B + "]"} {
		if !strings.Contains(note, part) {
			t.Errorf("the event %q does not say %q", note, part)
		}
	}

	// The user's own change of names changes the selection too: that is no
	// catalog change, and no event says it is.
	update(t, profile, func() { profile.Spec.KeyRestrictions.Authenticators = []string{"YubiKey 5 Series with NFC"} })
	eventually(t, "the new names written to Entra", func() (bool, string) {
		got := entraAAGUIDs(t, f, "YubiKeys")
		return slices.Equal(got, []string{feitianKey, yubikey5NFC2, yubikey5NFC}), fmt.Sprint(got)
	})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	if notes := eventNotes(t, profile, "AuthenticatorsChanged"); len(notes) != 1 {
		t.Errorf("AuthenticatorsChanged events %q, want only the catalog's", notes)
	}
}

// TestAuthenticatorDriftIsNamed: under Report a catalog change shows as
// drift, with each AAGUID the catalog knows named.
func TestAuthenticatorDriftIsNamed(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("keys", passkeysv1alpha1.PasskeyProfileSpec{
		DisplayName:  "NFC keys",
		PasskeyTypes: boundTyp,
		DriftPolicy:  passkeysv1alpha1.DriftPolicyReport,
		KeyRestrictions: &passkeysv1alpha1.KeyRestrictions{Enforcement: passkeysv1alpha1.KeyEnforcementAllow,
			Authenticators: []string{"YubiKey 5 Series with NFC"}},
	})
	// Report never creates: the profile must be in Entra already.
	if _, err := emu.PortalEdit(f.tenantID, func(doc *emulator.Fido2Document) {
		doc.PasskeyProfiles = append(doc.PasskeyProfiles, emulator.PasskeyProfile{ID: "7e1c2d3e-0000-4000-8000-000000000001", Name: "NFC keys",
			PasskeyTypes: "deviceBound", AttestationEnforcement: "disabled",
			KeyRestrictions: emulator.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{yubikey5NFC2, yubikey5NFC}}})
	}); err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, profile, "adopt")
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")

	models := slices.DeleteFunc(slices.Clone(emulator.DefaultMDSModels), func(m mds.Model) bool { return m.AAGUID == yubikey5NFC })
	reloadCatalog(t, models)
	waitCondition(t, profile, drifted, metav1.ConditionTrue, "DriftDetected")
	if len(profile.Status.Drift) != 1 || !strings.Contains(profile.Status.Drift[0].Observed, "YubiKey 5 Series with NFC ["+yubikey5NFC2+"]") ||
		strings.Contains(profile.Status.Drift[0].Desired, yubikey5NFC) {
		t.Errorf("status.drift = %+v, want keyRestrictions.aaGuids with the models named, the dropped one wanted no more", profile.Status.Drift)
	}
	if got := entraAAGUIDs(t, f, "NFC keys"); !slices.Contains(got, yubikey5NFC) {
		t.Errorf("under Report Entra should keep its list, holds %v", got)
	}
}

// TestUnresolvableAuthenticatorLeavesEntraAlone: a name that matches no
// model stalls the profile and nothing is written for it; its assignment
// waits.
func TestUnresolvableAuthenticatorLeavesEntraAlone(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("keys", passkeysv1alpha1.PasskeyProfileSpec{
		DisplayName:  "Imaginary keys",
		PasskeyTypes: boundTyp,
		KeyRestrictions: &passkeysv1alpha1.KeyRestrictions{Enforcement: passkeysv1alpha1.KeyEnforcementBlock,
			AAGUIDs: []string{feitianKey}, Authenticators: []string{"YubiKey 9*"}},
	})
	assignment := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"keys"}})
	waitCondition(t, profile, stalled, metav1.ConditionTrue, policy.ReasonAuthenticatorNotFound)
	waitCondition(t, assignment, ready, metav1.ConditionFalse, policy.ReasonProfileNotReady)
	if c := profile.Status.Conditions; !strings.Contains(conditionMessage(c, stalled), `"YubiKey 9*" matches no model`) {
		t.Errorf("the Stalled message does not name the entry: %v", c)
	}
	if _, ok := profileByName(f.fido2(), "Imaginary keys"); ok {
		t.Error("Entra holds the profile, though its authenticators could not be resolved")
	}
	want := []passkeysv1alpha1.AuthenticatorModel{{AAGUID: feitianKey, Name: "Feitian ePass FIDO2 Authenticator"}}
	if !slices.Equal(profile.Status.Authenticators, want) {
		t.Errorf("status.authenticators = %+v, want the listed AAGUID alone, named", profile.Status.Authenticators)
	}
}

func entraAAGUIDs(t *testing.T, f *tenantFixture, profile string) []string {
	t.Helper()
	p, ok := profileByName(f.fido2(), profile)
	if !ok {
		return nil
	}
	return p.KeyRestrictions.AAGUIDs
}

func conditionMessage(conditions []metav1.Condition, condition string) string {
	for _, c := range conditions {
		if c.Type == condition {
			return c.Message
		}
	}
	return ""
}

// waitEvent waits for an event about obj with this reason and returns its note.
func waitEvent(t *testing.T, obj client.Object, reason string) string {
	t.Helper()
	var notes []string
	eventually(t, "a "+reason+" event", func() (bool, string) {
		notes = eventNotes(t, obj, reason)
		return len(notes) > 0, "none yet"
	})
	return notes[0]
}

// eventNotes are the notes of the events about obj with this reason.
func eventNotes(t *testing.T, obj client.Object, reason string) []string {
	t.Helper()
	var events eventsv1.EventList
	if err := env.Client.List(context.Background(), &events, client.InNamespace(obj.GetNamespace())); err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range events.Items {
		if e.Regarding.Name == obj.GetName() && e.Reason == reason {
			notes = append(notes, e.Note)
		}
	}
	return notes
}
