package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

// TestEventsSayWhatHappened walks one profile through what a person wants
// to hear about, and checks each produced the event it should and nothing
// alarming besides: applying a spec is Normal, undoing someone's portal
// change is a Warning, and so are a conflict and throttling that outlasts
// the Graph SDK's retries.
func TestEventsSayWhatHappened(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{DisplayName: "Staff", PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	expectEvent(t, profile, corev1.EventTypeNormal, "Applied", "Wrote the spec to Entra: profile")
	expectEvent(t, profile, corev1.EventTypeNormal, "Succeeded", "Entra matches the spec")

	// An edit of the spec is applied, not "drift".
	profile.Spec.PasskeyTypes = boundTyp
	if err := env.Client.Update(context.Background(), profile); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the edit to be applied", func() (bool, string) {
		got, _ := profileByName(f.fido2(), "Staff")
		return got.PasskeyTypes == "deviceBound", got.PasskeyTypes
	})
	expectEvent(t, profile, corev1.EventTypeNormal, "Applied", "Wrote the spec to Entra: passkeyTypes")
	settledEventCount(t, f)
	if w := warningsAbout(t, profile); len(w) > 0 {
		t.Errorf("creating and editing a profile recorded warnings: %v", w)
	}

	// Someone else's change, undone: a Warning naming the field.
	portalEditProfile(t, f, "Staff", func(p *emulator.PasskeyProfile) { p.PasskeyTypes = "deviceBound,synced" })
	requestReconcile(t, profile, "after-portal-edit")
	expectEvent(t, profile, corev1.EventTypeWarning, "DriftDetected", "was corrected: passkeyTypes")

	// A second resource claiming the same Entra profile.
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has one-second resolution
	newer := f.profile("staff-copy", passkeysv1alpha1.PasskeyProfileSpec{DisplayName: "Staff", PasskeyTypes: synced})
	waitCondition(t, newer, stalled, metav1.ConditionTrue, "Conflict")
	expectEvent(t, newer, corev1.EventTypeWarning, "Conflict", "already claims")

	// Graph still throttling after the SDK's retries.
	if err := emu.SetFault(f.tenantID, emulator.Fault{ThrottleEvery: 1, RetryAfterSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.SetFault(f.tenantID, emulator.Fault{}) })
	requestReconcile(t, f.tenant, "while-throttled")
	expectEvent(t, f.tenant, corev1.EventTypeWarning, "Throttled", "throttling")

	for _, e := range eventsAbout(t, f.tenant, profile, newer) {
		if strings.Contains(e.Note, f.secret) {
			t.Errorf("event %s carries the client secret", e.Reason)
		}
	}
}

// expectEvent waits for an event about obj of the given type and reason
// whose note contains text.
func expectEvent(t *testing.T, obj client.Object, eventType, reason, text string) {
	t.Helper()
	eventually(t, eventType+" "+reason+" event about "+obj.GetName(), func() (bool, string) {
		var seen []string
		for _, e := range eventsAbout(t, obj) {
			if e.Type == eventType && e.Reason == reason && strings.Contains(e.Note, text) {
				return true, ""
			}
			seen = append(seen, e.Type+" "+e.Reason+": "+e.Note)
		}
		return false, strings.Join(seen, " | ")
	})
}

func warningsAbout(t *testing.T, obj client.Object) []string {
	t.Helper()
	var out []string
	for _, e := range eventsAbout(t, obj) {
		if e.Type == corev1.EventTypeWarning {
			out = append(out, e.Reason+": "+e.Note)
		}
	}
	return out
}

func eventsAbout(t *testing.T, objs ...client.Object) []eventsv1.Event {
	t.Helper()
	var events eventsv1.EventList
	if err := env.Client.List(context.Background(), &events); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range events.Items {
		for _, obj := range objs {
			if e.Regarding.UID == obj.GetUID() {
				out = append(out, e)
			}
		}
	}
	return out
}
