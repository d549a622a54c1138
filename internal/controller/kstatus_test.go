package controller_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// argocdDir holds the Argo CD health check cases, laid out like Argo CD's
// resource_customizations: <group>/<Kind>/{health_test.yaml,testdata/} (the script
// itself, config/argocd/health.lua, serves every kind). The health checks
// run in internal/contracttest.
const argocdDir = "../../config/argocd/passkeys.entraops.dev"

// updateTestdata, when set, makes the conformance test (re)write the
// captured objects instead of comparing them with the committed ones.
var updateTestdata = os.Getenv("UPDATE_TESTDATA") == "1"

// TestKstatusConformance drives real resources through each state a user
// meets on a real API server and checks what kstatus (the library Flux's
// health checks use) computes for each. Every object it sees is captured
// under config/argocd/.../testdata, where the Argo CD health check tests
// (internal/contracttest) read it: those captures must still match what the
// live run produces.
func TestKstatusConformance(t *testing.T) {
	t.Run("PasskeyProfile lifecycle", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t)
		profile := &passkeysv1alpha1.PasskeyProfile{
			ObjectMeta: metav1.ObjectMeta{Name: "staff", Namespace: f.namespace},
			Spec:       passkeysv1alpha1.PasskeyProfileSpec{TenantRef: f.name, PasskeyTypes: synced},
		}
		// The API server's answer to the create is the object before any reconcile.
		f.check(createRaw(t, profile), "new", status.InProgressStatus)

		waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
		f.check(fetch(t, profile), "ready", status.CurrentStatus)

		profile.Spec.DisplayName = "Passkeys for staff"
		f.check(updateRaw(t, profile), "generation-not-observed", status.InProgressStatus)
		waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")

		profile.Spec.DriftPolicy = passkeysv1alpha1.DriftPolicyReport
		if err := env.Client.Update(context.Background(), profile); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
		portalEditProfile(t, f, "Passkeys for staff", func(p *emulator.PasskeyProfile) { p.PasskeyTypes = "deviceBound" })
		requestReconcile(t, f.tenant, "after-portal-edit")
		waitCondition(t, profile, drifted, metav1.ConditionTrue, "DriftDetected")
		f.check(fetch(t, profile), "drifted-report", status.FailedStatus)
	})

	t.Run("PasskeyProfile drift corrected under Enforce", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t)
		profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
		waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
		portalEditProfile(t, f, "staff", func(p *emulator.PasskeyProfile) { p.PasskeyTypes = "deviceBound" })
		// The pass reads, corrects and reads back before it writes any status,
		// so no intermediate "drifted while correcting" state is ever visible:
		// the echo of this request marks the pass that did the correcting.
		requestReconcile(t, profile, "after-portal-edit")
		eventually(t, "the pass after the portal edit", func() (bool, string) {
			_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(profile), profile)
			return profile.Status.LastHandledReconcileAt == "after-portal-edit", profile.Status.LastHandledReconcileAt
		})
		if got, _ := profileByName(f.fido2(), "staff"); got.PasskeyTypes != "deviceBound,synced" {
			t.Fatalf("Entra holds passkeyTypes %q after the pass; the drift was not corrected", got.PasskeyTypes)
		}
		f.check(fetch(t, profile), "drift-corrected", status.CurrentStatus)
	})

	t.Run("PasskeyProfile stalled", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) {
			tenant.Spec.AllowedNamespaces = &metav1.LabelSelector{MatchLabels: map[string]string{"entra-tenant": "contoso"}}
		})
		profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
		waitCondition(t, profile, stalled, metav1.ConditionTrue, "NamespaceNotAllowed")
		f.check(fetch(t, profile), "stalled", status.FailedStatus)
	})

	t.Run("PasskeyProfile suspended", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t)
		profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced, Suspend: true})
		waitCondition(t, profile, ready, metav1.ConditionFalse, "Suspended")
		f.check(fetch(t, profile), "suspended", status.InProgressStatus)
	})

	t.Run("PasskeyProfile deleting while in use", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t)
		profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
		assignment := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
			Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"staff"},
		})
		waitCondition(t, assignment, ready, metav1.ConditionTrue, "Succeeded")
		if err := env.Client.Delete(context.Background(), profile); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, profile, passkeysv1alpha1.ConditionReconciling, metav1.ConditionTrue, "InUse")
		if profile.DeletionTimestamp == nil {
			t.Fatal("the profile has no deletionTimestamp")
		}
		f.check(fetch(t, profile), "deleting", status.TerminatingStatus)
	})

	t.Run("throttled tenant", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t)
		waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
		if err := emu.SetFault(f.tenantID, emulator.Fault{ThrottleEvery: 1, RetryAfterSeconds: 1}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = emu.SetFault(f.tenantID, emulator.Fault{}) })
		profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
		waitCondition(t, profile, passkeysv1alpha1.ConditionReconciling, metav1.ConditionTrue, "Throttled")
		waitCondition(t, f.tenant, passkeysv1alpha1.ConditionReconciling, metav1.ConditionTrue, "Throttled")
		f.check(fetch(t, profile), "throttled", status.InProgressStatus)
		f.check(fetch(t, f.tenant), "throttled", status.InProgressStatus)
	})

	t.Run("GroupAssignment lifecycle", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t)
		f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
		assignment := &passkeysv1alpha1.GroupAssignment{
			ObjectMeta: metav1.ObjectMeta{Name: "staff", Namespace: f.namespace},
			Spec: passkeysv1alpha1.GroupAssignmentSpec{
				TenantRef: f.name, Target: passkeysv1alpha1.AssignmentTarget{GroupName: "Staff"}, Profiles: []string{"staff"},
			},
		}
		f.check(createRaw(t, assignment), "new", status.InProgressStatus)

		waitCondition(t, assignment, ready, metav1.ConditionTrue, "Succeeded")
		f.check(fetch(t, assignment), "ready", status.CurrentStatus)

		assignment.Spec.RegistrationRequired = true
		f.check(updateRaw(t, assignment), "generation-not-observed", status.InProgressStatus)
		waitCondition(t, assignment, ready, metav1.ConditionTrue, "Succeeded")

		assignment.Spec.DriftPolicy = passkeysv1alpha1.DriftPolicyReport
		if err := env.Client.Update(context.Background(), assignment); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, assignment, ready, metav1.ConditionTrue, "Succeeded")
		if _, err := emu.PortalEdit(f.tenantID, func(doc *emulator.Fido2Document) {
			for i := range doc.IncludeTargets {
				if doc.IncludeTargets[i].ID == staffGroup {
					doc.IncludeTargets[i].IsRegistrationRequired = false
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		requestReconcile(t, f.tenant, "after-portal-edit")
		waitCondition(t, assignment, drifted, metav1.ConditionTrue, "DriftDetected")
		f.check(fetch(t, assignment), "drifted-report", status.FailedStatus)
	})

	t.Run("GroupAssignment invalid references", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t)
		missingProfile := f.assignment("missing-profile", passkeysv1alpha1.GroupAssignmentSpec{
			Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"nonexistent"},
		})
		unknownGroup := f.assignment("unknown-group", passkeysv1alpha1.GroupAssignmentSpec{
			Target: passkeysv1alpha1.AssignmentTarget{GroupName: "No such group"}, Profiles: []string{"nonexistent"},
		})
		waitCondition(t, missingProfile, stalled, metav1.ConditionTrue, "ProfileNotFound")
		waitCondition(t, unknownGroup, stalled, metav1.ConditionTrue, "GroupNotFound")
		f.check(fetch(t, missingProfile), "stalled-missing-profile", status.FailedStatus)
		f.check(fetch(t, unknownGroup), "stalled-unknown-group", status.FailedStatus)
	})

	t.Run("GroupAssignment waiting for its profile", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t)
		// A suspended profile is never written, so the target waits for it.
		f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced, Suspend: true})
		assignment := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
			Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"staff"},
		})
		waitCondition(t, assignment, passkeysv1alpha1.ConditionReconciling, metav1.ConditionTrue, "ProfileNotReady")
		f.check(fetch(t, assignment), "waiting-for-profile", status.InProgressStatus)
	})

	t.Run("GroupAssignment suspended", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t)
		f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
		assignment := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
			Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"staff"}, Suspend: true,
		})
		waitCondition(t, assignment, ready, metav1.ConditionFalse, "Suspended")
		f.check(fetch(t, assignment), "suspended", status.InProgressStatus)
	})

	t.Run("EntraTenant lifecycle", func(t *testing.T) {
		t.Parallel()
		// The fixture creates its own tenant at once; a second one on the same
		// emulated tenant is created raw to see the API server's answer before
		// any reconcile.
		f := newTenant(t)
		tenant := f.tenant.DeepCopy()
		tenant.ObjectMeta = metav1.ObjectMeta{Name: f.name + "-2"}
		f.check(createRaw(t, tenant), "new", status.InProgressStatus)
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), tenant) })

		waitCondition(t, tenant, ready, metav1.ConditionTrue, "Succeeded")
		f.check(fetch(t, tenant), "ready", status.CurrentStatus)

		tenant.Spec.ResyncInterval = &metav1.Duration{Duration: 20 * time.Minute}
		f.check(updateRaw(t, tenant), "generation-not-observed", status.InProgressStatus)
		waitCondition(t, tenant, ready, metav1.ConditionTrue, "Succeeded")
	})

	t.Run("EntraTenant missing secret", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) { tenant.Spec.Credentials.SecretRef.Name = "missing" })
		waitCondition(t, f.tenant, stalled, metav1.ConditionTrue, "CredentialsInvalid")
		f.check(fetch(t, f.tenant), "stalled", status.FailedStatus)
	})

	t.Run("EntraTenant suspended", func(t *testing.T) {
		t.Parallel()
		f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) { tenant.Spec.Suspend = true })
		profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
		waitCondition(t, f.tenant, ready, metav1.ConditionFalse, "Suspended")
		waitCondition(t, profile, ready, metav1.ConditionFalse, "Suspended")
		f.check(fetch(t, f.tenant), "suspended", status.InProgressStatus)
		// A resource of a suspended tenant shows the tenant's suspension.
		f.check(fetch(t, profile), "tenant-suspended", status.InProgressStatus)
	})
}

// check asserts kstatus's verdict on a live object and keeps the capture
// under testdata honest: written with UPDATE_TESTDATA=1, otherwise compared
// in the fields the health checks read.
func (f *tenantFixture) check(u *unstructured.Unstructured, state string, want status.Status) {
	t := f.t
	t.Helper()
	res, err := status.Compute(u)
	if err != nil {
		t.Fatalf("%s %s: kstatus: %v", u.GetKind(), state, err)
	}
	if res.Status != want {
		t.Errorf("%s %s: kstatus = %s (%s), want %s", u.GetKind(), state, res.Status, res.Message, want)
	}
	captured := f.normalize(u)
	if strings.Contains(string(captured), f.secret) {
		t.Fatalf("%s %s: the captured object holds the client secret", u.GetKind(), state)
	}
	path := filepath.Join(argocdDir, u.GetKind(), "testdata", state+".yaml")
	if updateTestdata {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, captured, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := testenv.ReadObject(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_TESTDATA=1 to capture it)", err)
	}
	if got, want := summarize(u), summarize(committed); !reflect.DeepEqual(got, want) {
		t.Errorf("%s is stale (rerun with UPDATE_TESTDATA=1 and review the diff):\n live:      %+v\n committed: %+v", path, got, want)
	}
	if res, err := status.Compute(committed); err != nil || res.Status != want {
		t.Errorf("%s: kstatus of the committed capture = %v, %v; want %s", path, res, err, want)
	}
}

var (
	timestamp = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`)
	requestID = regexp.MustCompile(`request-id [0-9a-f-]{36}`)
)

// normalize turns a live object into a stable capture: without
// managedFields, uid and resourceVersion, with the fixture's generated
// names, ids, the emulator's address and timestamps replaced by fixed ones,
// so that recapturing changes a file only where behaviour changed.
func (f *tenantFixture) normalize(u *unstructured.Unstructured) []byte {
	t := f.t
	t.Helper()
	u = u.DeepCopy()
	u.SetManagedFields(nil)
	u.SetUID("")
	u.SetResourceVersion("")
	replacements := []string{f.name, "contoso", f.namespace, "identity", f.tenantID, "72f988bf-86f1-41af-91ab-2d7cd011db47",
		emuURL, "https://entra-emulator.example"}
	var profiles passkeysv1alpha1.PasskeyProfileList
	if err := env.Client.List(context.Background(), &profiles, client.InNamespace(f.namespace)); err != nil {
		t.Fatal(err)
	}
	for _, p := range profiles.Items {
		if p.Status.ProfileID != "" {
			replacements = append(replacements, p.Status.ProfileID, uuid.NewSHA1(uuid.NameSpaceURL, []byte("passkeyprofile/"+p.Name)).String())
		}
	}
	replacer := strings.NewReplacer(replacements...)
	out, err := yaml.Marshal(replaceStrings(u.Object, func(s string) string {
		s = timestamp.ReplaceAllString(replacer.Replace(s), "2026-01-01T00:00:00Z")
		return requestID.ReplaceAllString(s, "request-id 00000000-0000-0000-0000-000000000000")
	}))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// replaceStrings applies fn to every string in an unstructured value.
func replaceStrings(v any, fn func(string) string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = replaceStrings(e, fn)
		}
	case []any:
		for i, e := range v {
			v[i] = replaceStrings(e, fn)
		}
	case string:
		return fn(v)
	}
	return v
}

// stateSummary is what the health checks read from an object.
type stateSummary struct {
	Deleting   bool
	Suspend    bool
	Observed   string // "absent", "current" or "behind"
	Conditions []string
	Drift      []string
}

func summarize(u *unstructured.Unstructured) stateSummary {
	s := stateSummary{Deleting: u.GetDeletionTimestamp() != nil, Observed: "absent"}
	s.Suspend, _, _ = unstructured.NestedBool(u.Object, "spec", "suspend")
	if observed, found, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); found {
		s.Observed = "behind"
		if observed == u.GetGeneration() {
			s.Observed = "current"
		}
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		gen, _, _ := unstructured.NestedInt64(m, "observedGeneration")
		s.Conditions = append(s.Conditions, fmt.Sprintf("%v=%v/%v current=%t", m["type"], m["status"], m["reason"], gen == u.GetGeneration()))
	}
	drift, _, _ := unstructured.NestedSlice(u.Object, "status", "drift")
	for _, d := range drift {
		m, _ := d.(map[string]any)
		s.Drift = append(s.Drift, fmt.Sprintf("%v: %v -> %v", m["field"], m["desired"], m["observed"]))
	}
	return s
}

// toUnstructured converts a typed object, with its kind set, for a raw call.
func toUnstructured(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	gvk, err := apiutil.GVKForObject(obj, env.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u
}

// createRaw creates obj and returns the API server's answer as it is:
// the stored object before the operator has seen it.
func createRaw(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	u := toUnstructured(t, obj)
	unstructured.RemoveNestedField(u.Object, "status")
	if err := env.Client.Create(context.Background(), u); err != nil {
		t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		t.Fatal(err)
	}
	return u
}

// updateRaw writes obj's spec and returns the API server's answer: the new
// generation with the status of the old one, before any reconcile.
func updateRaw(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	u := toUnstructured(t, obj)
	if err := env.Client.Update(context.Background(), u); err != nil {
		t.Fatalf("updating %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		t.Fatal(err)
	}
	return u
}

// fetch reads obj from the API server as unstructured, as kstatus sees it.
func fetch(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	u := toUnstructured(t, obj)
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), u); err != nil {
		t.Fatal(err)
	}
	return u
}
