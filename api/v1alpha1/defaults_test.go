package v1alpha1_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// createAndRead stores a manifest for real and reads it back, so the test
// sees the defaults the API server applies when it serves the object.
func createAndRead(t *testing.T, manifest string, into client.Object) {
	t.Helper()
	ctx := context.Background()
	obj := decode(t, manifest)
	if err := env.Client.Create(ctx, obj); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), into); err != nil {
		t.Fatalf("read back: %v", err)
	}
}

func TestEntraTenantDefaults(t *testing.T) {
	var tenant passkeysv1alpha1.EntraTenant
	createAndRead(t, `apiVersion: passkeys.entraops.dev/v1alpha1
kind: EntraTenant
metadata: {name: defaults}
spec:
  tenantID: `+tenantID+`
  cloud: {}
`, &tenant)

	spec := tenant.Spec
	if spec.Cloud.Name != passkeysv1alpha1.CloudAzurePublic {
		t.Errorf("spec.cloud.name = %q, want AzurePublic", spec.Cloud.Name)
	}
	if spec.Credentials.Type != passkeysv1alpha1.CredentialWorkloadIdentity {
		t.Errorf("spec.credentials.type = %q, want WorkloadIdentity", spec.Credentials.Type)
	}
	if spec.Management != passkeysv1alpha1.ManagementMerge {
		t.Errorf("spec.management = %q, want Merge", spec.Management)
	}
	if spec.DriftPolicy != passkeysv1alpha1.DriftPolicyEnforce {
		t.Errorf("spec.driftPolicy = %q, want Enforce", spec.DriftPolicy)
	}
	// The CRD's default and the operator's, for a tenant read without it,
	// are one value.
	if spec.ResyncInterval == nil || spec.ResyncInterval.Duration != passkeysv1alpha1.DefaultResyncInterval {
		t.Errorf("spec.resyncInterval = %v, want %s", spec.ResyncInterval, passkeysv1alpha1.DefaultResyncInterval)
	}
	if _, on := tenant.RegistrationReportInterval(); on || spec.Reporting != nil {
		t.Errorf("spec.reporting = %v, want unset: reports are off by default", spec.Reporting)
	}
	if spec.Method != nil || spec.AllowedNamespaces != nil || spec.Suspend {
		t.Errorf("spec.method, allowedNamespaces, suspend = %v, %v, %v; want unset", spec.Method, spec.AllowedNamespaces, spec.Suspend)
	}
	if tenant.Status.ObservedGeneration != -1 {
		t.Errorf("status.observedGeneration = %d, want -1", tenant.Status.ObservedGeneration)
	}
}

// The CRD's default interval and the operator's are one value.
func TestRegistrationReportDefaults(t *testing.T) {
	var tenant passkeysv1alpha1.EntraTenant
	createAndRead(t, `apiVersion: passkeys.entraops.dev/v1alpha1
kind: EntraTenant
metadata: {name: reporting-defaults}
spec:
  tenantID: `+tenantID+`
  reporting: {registration: {enabled: true}}
`, &tenant)
	got := tenant.Spec.Reporting.Registration.Interval
	if got == nil || got.Duration != passkeysv1alpha1.DefaultRegistrationReportInterval {
		t.Errorf("spec.reporting.registration.interval = %v, want %s", got, passkeysv1alpha1.DefaultRegistrationReportInterval)
	}
}

func TestPasskeyProfileDefaults(t *testing.T) {
	var profile passkeysv1alpha1.PasskeyProfile
	createAndRead(t, profileHeader+`spec:
  tenantRef: contoso
  passkeyTypes: [Synced]
  keyRestrictions: {}
`, &profile)

	spec := profile.Spec
	if spec.Attestation != passkeysv1alpha1.AttestationDisabled {
		t.Errorf("spec.attestation = %q, want Disabled", spec.Attestation)
	}
	if spec.KeyRestrictions.Enforcement != passkeysv1alpha1.KeyEnforcementNone {
		t.Errorf("spec.keyRestrictions.enforcement = %q, want None", spec.KeyRestrictions.Enforcement)
	}
	if spec.DeletionPolicy != passkeysv1alpha1.DeletionPolicyDelete {
		t.Errorf("spec.deletionPolicy = %q, want Delete", spec.DeletionPolicy)
	}
	if spec.DriftPolicy != "" {
		t.Errorf("spec.driftPolicy = %q, want empty so the tenant's default applies", spec.DriftPolicy)
	}
	if profile.Status.ObservedGeneration != -1 {
		t.Errorf("status.observedGeneration = %d, want -1", profile.Status.ObservedGeneration)
	}
}

func TestGroupAssignmentDefaults(t *testing.T) {
	var assignment passkeysv1alpha1.GroupAssignment
	createAndRead(t, assignmentHeader+`spec:
  tenantRef: contoso
  target: {groupName: Staff}
  profiles: [staff]
`, &assignment)

	spec := assignment.Spec
	if spec.Mode != passkeysv1alpha1.AssignmentInclude {
		t.Errorf("spec.mode = %q, want Include", spec.Mode)
	}
	if spec.DeletionPolicy != passkeysv1alpha1.DeletionPolicyDelete {
		t.Errorf("spec.deletionPolicy = %q, want Delete", spec.DeletionPolicy)
	}
	if spec.RegistrationRequired {
		t.Error("spec.registrationRequired = true, want false")
	}
	if assignment.Status.ObservedGeneration != -1 {
		t.Errorf("status.observedGeneration = %d, want -1", assignment.Status.ObservedGeneration)
	}
}

func TestTenantRefIsImmutable(t *testing.T) {
	ctx := context.Background()
	for _, manifest := range []string{
		profileHeader + "spec: {tenantRef: contoso, passkeyTypes: [Synced]}",
		assignmentHeader + "spec: {tenantRef: contoso, target: {allUsers: true}, profiles: [staff]}",
	} {
		obj := decode(t, manifest)
		t.Run(obj.GetKind(), func(t *testing.T) {
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatalf("create: %v", err)
			}
			defer func() { _ = env.Client.Delete(ctx, obj) }()

			// Another field may change...
			if err := unstructured.SetNestedField(obj.Object, true, "spec", "suspend"); err != nil {
				t.Fatal(err)
			}
			if err := env.Client.Update(ctx, obj); err != nil {
				t.Fatalf("update of spec.suspend refused: %v", err)
			}
			// ...but the tenant may not.
			if err := unstructured.SetNestedField(obj.Object, "fabrikam", "spec", "tenantRef"); err != nil {
				t.Fatal(err)
			}
			err := env.Client.Update(ctx, obj)
			want := "tenantRef cannot be changed; create a new " + obj.GetKind()
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("update of spec.tenantRef: got %v, want an error containing %q", err, want)
			}
		})
	}
}

// kubectl runs the kubectl built beside the test control plane.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(env.KubectlPath, append([]string{"--kubeconfig", env.KubeconfigPath}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestKubectlExplainDescribesFields(t *testing.T) {
	out := kubectl(t, "explain", "passkeyprofile.spec.keyRestrictions")
	for _, want := range []string{
		"KeyRestrictions allow or block authenticator models by AAGUID",
		"enforcement",
		"Allow (only",
		"aaguids",
		"Authenticator Attestation GUIDs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl explain output lacks %q:\n%s", want, out)
		}
	}
}

func TestPasskeysCategoryAndPrinterColumns(t *testing.T) {
	for _, manifest := range []string{
		tenantHeader + "spec: {tenantID: " + tenantID + "}",
		profileHeader + "spec: {tenantRef: contoso, passkeyTypes: [Synced]}",
		assignmentHeader + "spec: {tenantRef: contoso, target: {allUsers: true}, profiles: [staff]}",
	} {
		createAndRead(t, manifest, decode(t, manifest))
	}

	out := kubectl(t, "get", "passkeys", "-A")
	for _, want := range []string{"entratenant.passkeys.entraops.dev/contoso", "passkeyprofile.passkeys.entraops.dev/staff", "groupassignment.passkeys.entraops.dev/staff", "READY", "DRIFTED", "PROFILE ID", "GROUP", "TENANT"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get passkeys -A lacks %q:\n%s", want, out)
		}
	}
	wide := kubectl(t, "get", "pkp", "-n", "default", "-o", "wide")
	for _, want := range []string{"REASON", "MESSAGE", "contoso"} {
		if !strings.Contains(wide, want) {
			t.Errorf("kubectl get pkp -o wide lacks %q:\n%s", want, wide)
		}
	}
}
