package installtest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

const (
	chartDir     = "charts/passkey-operator"
	customValues = "internal/installtest/testdata/values-custom.yaml"
)

func TestHelmLint(t *testing.T) {
	helm := helmPath(t)
	for _, args := range [][]string{
		{"lint", chartDir},
		{"lint", "--strict", chartDir},
		{"lint", "--strict", chartDir, "-f", customValues},
	} {
		out := mustRun(t, helm, args...)
		if !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm %s:\n%s", strings.Join(args, " "), out)
		}
	}
}

// createNamespace makes a namespace enforcing the restricted Pod Security
// Standard, as a careful cluster admin would for the operator.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}
	if err := env.Client.Create(t.Context(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// helmTemplate renders the chart as `helm install` would, CRDs excluded
// (helm installs crds/ itself and testenv already has them).
func helmTemplate(t *testing.T, release, namespace string, extra ...string) string {
	t.Helper()
	args := append([]string{"template", release, chartDir, "--namespace", namespace}, extra...)
	return mustRun(t, helmPath(t), args...)
}

// TestHelmDefaults installs the chart with its default values.
func TestHelmDefaults(t *testing.T) {
	const release, namespace = "pko-defaults", "helm-defaults"
	createNamespace(t, namespace)
	manifests := helmTemplate(t, release, namespace)
	for _, o := range decodeAll(t, manifests) {
		if o.GetKind() == "EntraTenant" || o.GetKind() == "ServiceMonitor" || o.GetKind() == "PrometheusRule" || o.GetName() == release+"-passkey-operator-dashboard" {
			t.Errorf("the defaults render a %s; it must be opt-in", o.GetKind())
		}
	}
	applyServerSide(t, manifests)

	const name = release + "-passkey-operator"
	var sa corev1.ServiceAccount
	get(t, namespace, name, &sa)
	if _, ok := sa.Annotations["azure.workload.identity/client-id"]; ok {
		t.Errorf("the default ServiceAccount has a client-id annotation with no client id given: %v", sa.Annotations)
	}

	var deploy appsv1.Deployment
	get(t, namespace, name, &deploy)
	template := deploy.Spec.Template
	assertHardened(t, namespace, template)
	if *deploy.Spec.Replicas != 1 {
		t.Errorf("replicas %d, want 1", *deploy.Spec.Replicas)
	}
	if template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("the Deployment runs as %q, want %q", template.Spec.ServiceAccountName, sa.Name)
	}
	if template.Labels["azure.workload.identity/use"] != "true" {
		t.Errorf("the pod template lacks azure.workload.identity/use: \"true\": %v", template.Labels)
	}
	manager := template.Spec.Containers[0]
	if want := "ghcr.io/passkey-operator/passkey-operator:" + chartAppVersion(t); manager.Image != want {
		t.Errorf("image %q, want %q (the chart's appVersion)", manager.Image, want)
	}
	for _, arg := range []string{"--leader-elect=true", "--concurrency=4", "--zap-log-level=info",
		"--authenticator-catalog-url=https://mds.fidoalliance.org", "--authenticator-catalog-cache=/var/cache/passkey-operator/mds3.jwt"} {
		if !slices.Contains(manager.Args, arg) {
			t.Errorf("manager args %q lack %s", manager.Args, arg)
		}
	}
	assertManagerAccepts(t, manager.Args)
	assertCatalogCacheWritable(t, template)
	for _, key := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"} {
		if deploy.Labels[key] == "" {
			t.Errorf("the Deployment lacks the standard label %s: %v", key, deploy.Labels)
		}
	}

	var svc corev1.Service
	get(t, namespace, name+"-metrics", &svc)
	assertMetricsService(t, svc, template)

	// The chart writes its RBAC by hand; it must grant what the markers
	// generate, no more and no less.
	clusterRole, role := generatedRBAC(t)
	var gotClusterRole rbacv1.ClusterRole
	get(t, "", name+"-manager", &gotClusterRole)
	assertEqual(t, "chart ClusterRole rules (normalised)", normalRules(gotClusterRole.Rules), normalRules(clusterRole.Rules))
	var gotRole rbacv1.Role
	get(t, namespace, name+"-manager", &gotRole)
	assertEqual(t, "chart leader-election Role rules (normalised)", normalRules(gotRole.Rules), normalRules(role.Rules))
	var crb rbacv1.ClusterRoleBinding
	get(t, "", name+"-manager", &crb)
	assertBindsServiceAccount(t, "ClusterRoleBinding", crb.RoleRef, crb.Subjects, "ClusterRole", gotClusterRole.Name, sa)
	var rb rbacv1.RoleBinding
	get(t, namespace, name+"-manager", &rb)
	assertBindsServiceAccount(t, "RoleBinding", rb.RoleRef, rb.Subjects, "Role", gotRole.Name, sa)
}

// assertCatalogCacheWritable: the root filesystem is read-only, so the
// authenticator catalog's cache needs a volume of its own.
func assertCatalogCacheWritable(t *testing.T, template corev1.PodTemplateSpec) {
	t.Helper()
	mounts := template.Spec.Containers[0].VolumeMounts
	i := slices.IndexFunc(mounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/var/cache/passkey-operator" })
	if i < 0 || mounts[i].ReadOnly {
		t.Fatalf("no writable mount for the catalog cache: %+v", mounts)
	}
	if !slices.ContainsFunc(template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == mounts[i].Name && v.EmptyDir != nil }) {
		t.Errorf("the catalog cache is not an emptyDir: %+v", template.Spec.Volumes)
	}
}

// TestHelmCustomValues installs the chart with every main value changed,
// including workload identity ids, a chart-managed EntraTenant and a
// ServiceMonitor (against a minimal ServiceMonitor CRD from testdata).
func TestHelmCustomValues(t *testing.T) {
	const release, namespace = "identity", "helm-custom"
	createNamespace(t, namespace)
	kubectl(t, "apply", "--server-side", "-f", "internal/installtest/testdata/servicemonitor-crd.yaml")
	kubectl(t, "apply", "--server-side", "-f", "internal/installtest/testdata/prometheusrule-crd.yaml")
	kubectl(t, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com")

	manifests := helmTemplate(t, release, namespace, "-f", customValues)
	applyServerSide(t, manifests)

	const name = release + "-passkey-operator"
	var sa corev1.ServiceAccount
	get(t, namespace, "entra-passkeys", &sa)
	wantAnnotations := map[string]string{
		"azure.workload.identity/client-id": "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e",
		"azure.workload.identity/tenant-id": "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
		"example.com/owner":                 "identity-team",
	}
	assertEqual(t, "ServiceAccount annotations", sa.Annotations, wantAnnotations)

	var deploy appsv1.Deployment
	get(t, namespace, name, &deploy)
	template := deploy.Spec.Template
	assertHardened(t, namespace, template)
	if *deploy.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2", *deploy.Spec.Replicas)
	}
	if template.Spec.ServiceAccountName != "entra-passkeys" {
		t.Errorf("the Deployment runs as %q, want entra-passkeys", template.Spec.ServiceAccountName)
	}
	for key, value := range map[string]string{"azure.workload.identity/use": "true", "team": "identity"} {
		if template.Labels[key] != value {
			t.Errorf("pod label %s=%q, want %q", key, template.Labels[key], value)
		}
	}
	manager := template.Spec.Containers[0]
	if manager.Image != "ghcr.io/passkey-operator/passkey-operator:v0.2.0-rc.1" || manager.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %q pull %q, want the tag and pull policy from the values", manager.Image, manager.ImagePullPolicy)
	}
	for _, arg := range []string{"--leader-elect=true", "--concurrency=8", "--zap-log-level=debug", "--zap-encoder=console",
		"--authenticator-catalog-url=https://mds-mirror.example.com/blob.jwt", "--authenticator-catalog-refresh=12h",
		"--authenticator-catalog-root=/etc/passkey-operator/mds3-root.pem"} {
		if !slices.Contains(manager.Args, arg) {
			t.Errorf("manager args %q lack %s", manager.Args, arg)
		}
	}
	assertManagerAccepts(t, manager.Args)
	assertCatalogCacheWritable(t, template)
	var root corev1.ConfigMap
	get(t, namespace, release+"-authenticator-catalog-root", &root)
	if !strings.Contains(root.Data["mds3-root.pem"], "BEGIN CERTIFICATE") {
		t.Errorf("the catalog root ConfigMap holds %v", root.Data)
	}
	if !slices.ContainsFunc(template.Spec.Volumes, func(v corev1.Volume) bool {
		return v.ConfigMap != nil && v.ConfigMap.Name == root.Name
	}) {
		t.Errorf("the pod does not mount the catalog root ConfigMap: %+v", template.Spec.Volumes)
	}
	// GOMEMLIMIT follows the memory limit; extraEnv comes after it.
	if len(manager.Env) != 2 || manager.Env[0].Name != "GOMEMLIMIT" || manager.Env[0].ValueFrom == nil ||
		manager.Env[0].ValueFrom.ResourceFieldRef == nil || manager.Env[0].ValueFrom.ResourceFieldRef.Resource != "limits.memory" ||
		manager.Env[1].Name != "SSL_CERT_FILE" {
		t.Errorf("manager env %+v, want GOMEMLIMIT from limits.memory, then SSL_CERT_FILE from extraEnv", manager.Env)
	}
	if manager.Resources.Limits.Memory().String() != "512Mi" {
		t.Errorf("memory limit %s, want 512Mi", manager.Resources.Limits.Memory())
	}
	if template.Spec.NodeSelector["kubernetes.io/os"] != "linux" || len(template.Spec.Tolerations) != 1 ||
		len(template.Spec.ImagePullSecrets) != 1 || template.Spec.ImagePullSecrets[0].Name != "ghcr-pull" {
		t.Errorf("scheduling values not applied: nodeSelector %v, tolerations %v, imagePullSecrets %v",
			template.Spec.NodeSelector, template.Spec.Tolerations, template.Spec.ImagePullSecrets)
	}

	// The EntraTenant passed the CRD's schema and CEL rules; read it back
	// with the API server's defaults.
	var tenant passkeysv1alpha1.EntraTenant
	get(t, "", "contoso-helm", &tenant)
	spec := tenant.Spec
	if spec.TenantID != "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b" || spec.Management != passkeysv1alpha1.ManagementAuthoritative ||
		spec.DriftPolicy != passkeysv1alpha1.DriftPolicyReport || spec.ResyncInterval == nil || spec.ResyncInterval.Duration.String() != "1h0m0s" ||
		spec.Credentials.Type != passkeysv1alpha1.CredentialWorkloadIdentity || spec.Cloud == nil || spec.Cloud.Name != passkeysv1alpha1.CloudAzurePublic {
		t.Errorf("EntraTenant spec not as the values say: %+v", spec)
	}
	if spec.AllowedNamespaces == nil || spec.AllowedNamespaces.MatchLabels["entra-tenant"] != "contoso" {
		t.Errorf("allowedNamespaces %+v, want entra-tenant=contoso", spec.AllowedNamespaces)
	}

	var svc corev1.Service
	get(t, namespace, name+"-metrics", &svc)
	assertMetricsService(t, svc, template)
	monitor := &unstructured.Unstructured{}
	monitor.SetGroupVersionKind(schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"})
	get(t, namespace, name, monitor)
	if monitor.GetLabels()["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v lack release=prometheus", monitor.GetLabels())
	}
	matchLabels, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	if len(matchLabels) == 0 || !labels.SelectorFromSet(matchLabels).Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the metrics Service's labels %v", matchLabels, svc.Labels)
	}
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	if len(endpoints) != 1 || endpoints[0].(map[string]any)["port"] != "metrics" || endpoints[0].(map[string]any)["interval"] != "1m" {
		t.Errorf("ServiceMonitor endpoints %v, want port metrics every 1m", endpoints)
	}
	assertMonitoring(t, namespace, name)
}

// assertMonitoring reads back the chart's PrometheusRule and dashboard
// ConfigMap: the same alerts and dashboard as config/monitoring.
func assertMonitoring(t *testing.T, namespace, name string) {
	t.Helper()
	rule := &unstructured.Unstructured{}
	rule.SetGroupVersionKind(schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"})
	get(t, namespace, name, rule)
	if rule.GetLabels()["release"] != "prometheus" {
		t.Errorf("PrometheusRule labels %v lack release=prometheus", rule.GetLabels())
	}
	source, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "monitoring", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(source, &want.Object); err != nil {
		t.Fatal(err)
	}
	gotGroups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	wantGroups, _, _ := unstructured.NestedSlice(want.Object, "spec", "groups")
	assertEqual(t, "PrometheusRule groups", gotGroups, wantGroups)

	var dashboard corev1.ConfigMap
	get(t, namespace, name+"-dashboard", &dashboard)
	if dashboard.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v lack grafana_dashboard=1", dashboard.Labels)
	}
	source, err = os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if dashboard.Data["passkey-operator.json"] != string(source) {
		t.Error("the dashboard ConfigMap does not hold config/monitoring/grafana-dashboard.json")
	}
}

// TestHelmSchemaRefusesBadValues proves values.schema.json (and the
// templates' required checks) stop a wrong value before anything reaches
// the cluster, with a message naming it.
func TestHelmSchemaRefusesBadValues(t *testing.T) {
	helm := helmPath(t)
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"replicas as a word", "replicaCount", []string{"--set-string", "replicaCount=two"}},
		{"unknown top-level key", "replicas", []string{"--set", "replicas=2"}},
		{"unknown nested key", "clientID", []string{"--set", "workloadIdentity.clientID=0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"}},
		{"client id not a GUID", "clientId", []string{"--set", "workloadIdentity.clientId=my-app"}},
		{"unknown drift policy", "driftPolicy", []string{"--set", "tenant.driftPolicy=Ignore"}},
		{"bad log level", "logLevel", []string{"--set", "logLevel=verbose"}},
		{"tenant without its id", "tenant.tenantID is required", []string{"--set", "tenant.create=true"}},
		{"service monitor without service", "metrics.service.enabled", []string{"--set", "metrics.serviceMonitor.enabled=true,metrics.service.enabled=false"}},
		{"shard name not a label value", "shards", []string{"--set", "shards={Shard_A}"}},
		{"shard named twice", "shards", []string{"--set", "shards={a,a}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", "bad", chartDir}, tc.args...)
			out, err := runCommand(t, helm, args...)
			if err == nil {
				t.Fatalf("helm %s rendered:\n%s", strings.Join(args, " "), out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the error does not name %q: %v", tc.want, err)
			}
		})
	}
}

// TestChartCRDsMatchGenerated: helm installs the CRDs from the chart's
// crds/, so they must be exactly what `make manifests` generates.
func TestChartCRDsMatchGenerated(t *testing.T) {
	generated := readYAMLDir(t, filepath.Join(repoRoot, "config", "crd", "bases"))
	chart := readYAMLDir(t, filepath.Join(repoRoot, chartDir, "crds"))
	if len(generated) == 0 {
		t.Fatal("no CRDs in config/crd/bases")
	}
	for name, want := range generated {
		got, ok := chart[name]
		if !ok {
			t.Errorf("%s/crds lacks %s: run `make manifests`", chartDir, name)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/crds/%s differs from config/crd/bases: run `make manifests`", chartDir, name)
		}
	}
	for name := range chart {
		if _, ok := generated[name]; !ok {
			t.Errorf("%s/crds/%s is not generated by `make manifests`: remove it", chartDir, name)
		}
	}
}

func readYAMLDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = data
	}
	return out
}

func chartAppVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	if chart.AppVersion == "" {
		t.Fatal("Chart.yaml has no appVersion")
	}
	return chart.AppVersion
}
