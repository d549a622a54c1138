package installtest

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const systemNamespace = "passkey-system"

// TestKustomizeInstall renders config/default with kubectl's embedded
// kustomize, applies it server-side and reads every important part back.
func TestKustomizeInstall(t *testing.T) {
	manifests := kubectl(t, "kustomize", "config/default")
	applyServerSide(t, manifests)

	var ns corev1.Namespace
	get(t, "", systemNamespace, &ns)
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s does not enforce the restricted Pod Security Standard: %v", systemNamespace, ns.Labels)
	}

	var sa corev1.ServiceAccount
	get(t, systemNamespace, "passkey-operator", &sa)

	var deploy appsv1.Deployment
	get(t, systemNamespace, "passkey-operator", &deploy)
	template := deploy.Spec.Template
	assertHardened(t, systemNamespace, template)
	if template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("the Deployment runs as %q, want the ServiceAccount %q", template.Spec.ServiceAccountName, sa.Name)
	}
	if template.Labels["azure.workload.identity/use"] != "true" {
		t.Errorf("the pod template lacks azure.workload.identity/use: \"true\": %v", template.Labels)
	}
	manager := template.Spec.Containers[0]
	if want := "ghcr.io/passkey-operator/passkey-operator:v0.1.0"; manager.Image != want {
		t.Errorf("image %q, want %q", manager.Image, want)
	}
	if !slices.Contains(manager.Args, "--leader-elect=true") {
		t.Errorf("leader election is not on: %q", manager.Args)
	}

	var svc corev1.Service
	get(t, systemNamespace, "passkey-operator-metrics", &svc)
	assertMetricsService(t, svc, template)

	clusterRole, role := generatedRBAC(t)
	var gotClusterRole rbacv1.ClusterRole
	get(t, "", "passkey-operator-manager", &gotClusterRole)
	assertEqual(t, "ClusterRole rules", gotClusterRole.Rules, clusterRole.Rules)
	var gotRole rbacv1.Role
	get(t, systemNamespace, "passkey-operator-manager", &gotRole)
	assertEqual(t, "leader-election Role rules", gotRole.Rules, role.Rules)

	var crb rbacv1.ClusterRoleBinding
	get(t, "", "passkey-operator-manager", &crb)
	assertBindsServiceAccount(t, "ClusterRoleBinding", crb.RoleRef, crb.Subjects, "ClusterRole", gotClusterRole.Name, sa)
	var rb rbacv1.RoleBinding
	get(t, systemNamespace, "passkey-operator-manager", &rb)
	assertBindsServiceAccount(t, "RoleBinding", rb.RoleRef, rb.Subjects, "Role", gotRole.Name, sa)
}

// assertMetricsService checks that the Service selects the manager's pods and
// sends port "metrics" (8080) to the container's metrics port.
func assertMetricsService(t *testing.T, svc corev1.Service, template corev1.PodTemplateSpec) {
	t.Helper()
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(template.Labels)) {
		t.Errorf("Service %s selector %v does not select the pod labels %v", svc.Name, svc.Spec.Selector, template.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "metrics" || svc.Spec.Ports[0].Port != 8080 {
		t.Fatalf("Service %s ports %+v, want one port named metrics on 8080", svc.Name, svc.Spec.Ports)
	}
	if port := containerPort(template.Spec.Containers[0], svc.Spec.Ports[0].TargetPort.String()); port != 8080 {
		t.Errorf("Service %s targets container port %s = %d, want 8080 (where --metrics-bind-address listens)",
			svc.Name, svc.Spec.Ports[0].TargetPort.String(), port)
	}
}

func assertBindsServiceAccount(t *testing.T, what string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, kind, name string, sa corev1.ServiceAccount) {
	t.Helper()
	if ref.Kind != kind || ref.Name != name {
		t.Errorf("%s refers to %s %s, want %s %s", what, ref.Kind, ref.Name, kind, name)
	}
	want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: sa.Namespace}}
	assertEqual(t, what+" subjects", subjects, want)
}

// TestKustomizeManagerArgsAreManagerFlags feeds the Deployment's args to the
// real manager binary: a renamed or misspelt flag fails here, not in a
// CrashLoopBackOff.
func TestKustomizeManagerArgsAreManagerFlags(t *testing.T) {
	objects := decodeAll(t, kubectl(t, "kustomize", "config/default"))
	var deploy appsv1.Deployment
	find(t, objects, "Deployment", "passkey-operator", &deploy)
	assertManagerAccepts(t, deploy.Spec.Template.Spec.Containers[0].Args)
}

// assertManagerAccepts runs the manager with args followed by -h: flag
// parsing stops at the first bad flag with an error, and exits cleanly
// at -h only when every flag before it was accepted.
func assertManagerAccepts(t *testing.T, args []string) {
	t.Helper()
	out, err := runCommand(t, managerBinary(t), append(slices.Clone(args), "-h")...)
	if err != nil {
		t.Errorf("the manager refuses the manifests' args %q: %v", args, err)
	}
	if strings.Contains(out, "flag provided but not defined") {
		t.Errorf("the manager refuses the manifests' args %q:\n%s", args, out)
	}
}
