package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/controller"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

func TestConflictingProfilesTheOlderWins(t *testing.T) {
	f := newTenant(t)
	older := f.profile("older", passkeysv1alpha1.PasskeyProfileSpec{DisplayName: "Staff", PasskeyTypes: synced})
	waitCondition(t, older, ready, metav1.ConditionTrue, "Succeeded")
	// creationTimestamp has one-second resolution: make "older" older.
	time.Sleep(1100 * time.Millisecond)
	newer := f.profile("newer", passkeysv1alpha1.PasskeyProfileSpec{DisplayName: "Staff", PasskeyTypes: boundTyp})
	waitCondition(t, newer, stalled, metav1.ConditionTrue, "Conflict")
	if msg := conditionOf(newer, ready).Message; !strings.Contains(msg, "older") {
		t.Errorf("conflict message %q does not name the winner", msg)
	}
	if got, _ := profileByName(f.fido2(), "Staff"); got.PasskeyTypes != "deviceBound,synced" {
		t.Errorf("the newer resource overwrote the older one's profile: %q", got.PasskeyTypes)
	}
}

func TestConflictingAssignmentsTheOlderWins(t *testing.T) {
	f := newTenant(t)
	f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	older := f.assignment("by-id", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"staff"},
	})
	waitCondition(t, older, ready, metav1.ConditionTrue, "Succeeded")
	time.Sleep(1100 * time.Millisecond)
	newer := f.assignment("by-name", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupName: "Staff"}, Profiles: []string{"staff"}, RegistrationRequired: true,
	})
	waitCondition(t, newer, stalled, metav1.ConditionTrue, "Conflict")
	if target, _ := includeTarget(f.fido2(), staffGroup); target.IsRegistrationRequired {
		t.Error("the newer assignment wrote the target the older one owns")
	}
}

func TestForceReconcileIsEchoedOnEveryKind(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	gets := f.count("GET")
	requestReconcile(t, profile, "2026-11-25T10:00:00Z")
	eventually(t, "status.lastHandledReconcileAt", func() (bool, string) {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(profile), profile)
		return profile.Status.LastHandledReconcileAt == "2026-11-25T10:00:00Z", profile.Status.LastHandledReconcileAt
	})
	if f.count("GET") <= gets {
		t.Error("the annotation did not cause a pass (no GET)")
	}
}

func TestSecretRotationIsPickedUpWithoutRestart(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	tokenPath := "/" + f.tenantID + "/oauth2/v2.0/token"
	tokens := emu.Stats().Count(f.tenantID, "POST", tokenPath, 200)

	// Rotate: Entra gets a new secret (the old one stops working), then the Secret.
	rotated := "rotated-" + f.secret
	if err := emu.Seed(emulator.Tenant{ID: f.tenantID, Apps: []emulator.App{{ClientID: clientID, ClientSecret: rotated, Roles: emulator.ReadWriteRoles}}}); err != nil {
		t.Fatal(err)
	}
	var secret corev1.Secret
	ctx := context.Background()
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: f.namespace, Name: "app"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["clientSecret"] = []byte(rotated)
	if err := env.Client.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a token obtained with the rotated secret", func() (bool, string) {
		n := emu.Stats().Count(f.tenantID, "POST", tokenPath, 200)
		return n > tokens, fmt.Sprintf("%d successful token requests", n)
	})
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
}

func TestServiceUnavailableConverges(t *testing.T) {
	f := newTenant(t)
	if err := emu.SetFault(f.tenantID, emulator.Fault{UnavailableEvery: 2, RetryAfterSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	if emu.Stats().Count(f.tenantID, "", fido2Path, 503) == 0 {
		t.Fatal("the emulator answered no 503; the test proves nothing")
	}
	if _, ok := profileByName(f.fido2(), "staff"); !ok {
		t.Error("the profile is not in Entra")
	}
}

// TestCredentialsNeverLeak drives a tenant through a refused secret and a
// working one and looks for the secret everywhere the operator writes.
func TestCredentialsNeverLeak(t *testing.T) {
	wrong := "wr0ng-s3cret-value"
	bad := newTenant(t)
	ctx := context.Background()
	var secret corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: bad.namespace, Name: "app"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["clientSecret"] = []byte(wrong)
	if err := env.Client.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}
	bad.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, bad.tenant, stalled, metav1.ConditionTrue, "CredentialsInvalid")

	good := newTenant(t)
	profile := good.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")

	var events eventsv1.EventList
	if err := env.Client.List(ctx, &events); err != nil {
		t.Fatal(err)
	}
	var written strings.Builder
	fmt.Fprintf(&written, "%+v %+v %+v", bad.tenant.Status, good.tenant.Status, profile.Status)
	for _, e := range events.Items {
		written.WriteString(e.Note + " " + e.Reason + "\n")
	}
	written.WriteString(logs.String())
	for _, s := range []string{wrong, bad.secret, good.secret} {
		if strings.Contains(written.String(), s) {
			t.Errorf("a client secret appears in a status, event or log line")
		}
	}
	if !strings.Contains(logs.String()+written.String(), "CredentialsInvalid") && len(events.Items) == 0 {
		t.Error("nothing was logged or recorded; the check above proves nothing")
	}
}

func TestQuietResyncEmitsNoEvent(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	before := settledEventCount(t, f)
	if before == 0 {
		t.Fatal("applying the profile recorded no event")
	}
	for i := range 3 {
		value := fmt.Sprintf("quiet-%d", i)
		requestReconcile(t, f.tenant, value)
		eventually(t, "the pass", func() (bool, string) {
			_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(f.tenant), f.tenant)
			return f.tenant.Status.LastHandledReconcileAt == value, f.tenant.Status.LastHandledReconcileAt
		})
	}
	if after := settledEventCount(t, f); after != before {
		t.Errorf("quiet passes recorded %d new events", after-before)
	}
}

// settledEventCount counts the events about the fixture's tenant and its
// namespace once the count has stopped changing: events are sent
// asynchronously.
func settledEventCount(t *testing.T, f *tenantFixture) int {
	t.Helper()
	count := func() int {
		var events eventsv1.EventList
		if err := env.Client.List(context.Background(), &events); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range events.Items {
			if e.Regarding.Name == f.tenant.Name || e.Regarding.Namespace == f.namespace {
				n++
			}
		}
		return n
	}
	last := count()
	for {
		time.Sleep(time.Second)
		n := count()
		if n == last {
			return n
		}
		last = n
	}
}

// TestOtherAnnotationsStartNoPass: annotations other tools keep (kubectl's
// last-applied configuration, Argo CD's tracking id) cost no Graph call;
// only the force-reconcile request starts a pass.
func TestOtherAnnotationsStartNoPass(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	gets := settle(t, f.tenantID).gets

	for _, obj := range []client.Object{profile, f.tenant} {
		patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
		obj.SetAnnotations(map[string]string{"argocd.argoproj.io/tracking-id": "passkeys:" + obj.GetName()})
		if err := env.Client.Patch(context.Background(), obj, patch); err != nil {
			t.Fatal(err)
		}
	}
	// A pass would have started within the burst window: wait past it and
	// until Entra has been quiet, then ask for one, which must be the only one.
	time.Sleep(2 * controller.DefaultBurstWindow)
	if n := settle(t, f.tenantID).gets; n != gets {
		t.Errorf("annotating sent %d GETs, want none", n-gets)
	}
	requestReconcile(t, profile, "after-tracking-id")
	eventually(t, "status.lastHandledReconcileAt", func() (bool, string) {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(profile), profile)
		return profile.Status.LastHandledReconcileAt == "after-tracking-id", profile.Status.LastHandledReconcileAt
	})
	if n := settle(t, f.tenantID).gets; n != gets+1 {
		t.Errorf("the request cost %d GETs, want 1", n-gets)
	}
}
