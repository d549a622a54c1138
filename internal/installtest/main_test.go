package installtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

var (
	env      *testenv.Env
	repoRoot = testenv.RepoRoot()
	// workDir holds what the tests share: the manager binary.
	workDir string

	managerOnce sync.Once
	managerPath string
	managerErr  error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if workDir, err = os.MkdirTemp("", "installtest-"); err != nil {
		fmt.Fprintln(os.Stderr, "installtest:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(workDir) }()
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "installtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	return m.Run()
}

// helmPath is the helm binary to test the chart with. The tests fail, never
// skip, without it: an untested chart is a broken chart nobody has noticed yet.
func helmPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("HELM")
	if path == "" {
		t.Fatal("HELM is not set: run the tests with `make test`, or run `make helm` and export HELM=$(make -s helm-path)")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("HELM=%s: %v (run `make helm`)", path, err)
	}
	return path
}

// managerBinary builds cmd/manager once for the tests that check the
// manifests' args against its real flags.
func managerBinary(t *testing.T) string {
	t.Helper()
	managerOnce.Do(func() {
		managerPath = filepath.Join(workDir, "manager")
		_, managerErr = runCommand(t, "go", "build", "-o", managerPath, "./cmd/manager")
	})
	if managerErr != nil {
		t.Fatalf("building the manager: %v", managerErr)
	}
	return managerPath
}

// runCommand runs a command from the repository's top folder and returns its
// standard output and, on failure, an error carrying the standard error.
func runCommand(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\nstdout:\n%s\nstderr:\n%s",
			filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// mustRun is runCommand for commands that must succeed.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := runCommand(t, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	return mustRun(t, env.KubectlPath, append([]string{"--kubeconfig", env.KubeconfigPath}, args...)...)
}

// applyServerSide applies manifests as a user would: server-side, so the API
// server checks them against the schemas with strict field validation and
// fills in defaults.
func applyServerSide(t *testing.T, manifests string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "manifests.yaml")
	if err := os.WriteFile(file, []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "--server-side", "--force-conflicts", "--field-manager=installtest", "-f", file)
}

// decodeAll splits a multi-document YAML stream into objects.
func decodeAll(t *testing.T, manifests string) []*unstructured.Unstructured {
	t.Helper()
	decoder := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	var objects []*unstructured.Unstructured
	for {
		object := map[string]any{}
		err := decoder.Decode(&object)
		if errors.Is(err, io.EOF) {
			return objects
		}
		if err != nil {
			t.Fatalf("decoding manifests: %v", err)
		}
		if len(object) > 0 {
			objects = append(objects, &unstructured.Unstructured{Object: object})
		}
	}
}

// find returns the one object of that kind and name, converted into out.
func find(t *testing.T, objects []*unstructured.Unstructured, kind, name string, out any) {
	t.Helper()
	for _, o := range objects {
		if o.GetKind() == kind && o.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
				t.Fatalf("converting %s %s: %v", kind, name, err)
			}
			return
		}
	}
	t.Fatalf("no %s named %q in the manifests", kind, name)
}

func get(t *testing.T, namespace, name string, obj client.Object) {
	t.Helper()
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		t.Fatalf("reading back %T %s/%s: %v", obj, namespace, name, err)
	}
}

// generatedRBAC reads the ClusterRole and the leader-election Role that
// `make manifests` generates from the +kubebuilder:rbac markers.
func generatedRBAC(t *testing.T) (clusterRole rbacv1.ClusterRole, role rbacv1.Role) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objects := decodeAll(t, string(data))
	find(t, objects, "ClusterRole", "passkey-operator-manager", &clusterRole)
	find(t, objects, "Role", "passkey-operator-manager", &role)
	return clusterRole, role
}

// normalRules sorts rules and their lists, so rules written by hand (the
// chart) compare with generated ones by meaning, not by layout.
func normalRules(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		groups, resources, verbs := sorted(r.APIGroups), sorted(r.Resources), sorted(r.Verbs)
		// One line per (group, resource) pair: the same grant split or merged
		// differently reads the same.
		for _, g := range groups {
			for _, res := range resources {
				out = append(out, fmt.Sprintf("%s/%s: %s", g, res, strings.Join(verbs, ",")))
			}
		}
	}
	sort.Strings(out)
	return out
}

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

func ptr[T any](v T) *T { return &v }

// The security settings both installs must give the manager, exactly.
var (
	hardenedPod = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	hardenedContainer = &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		ReadOnlyRootFilesystem:   ptr(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
)

// assertEqual fails with both values as YAML when they differ.
func assertEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !equality.Semantic.DeepEqual(got, want) {
		g, _ := yaml.Marshal(got)
		w, _ := yaml.Marshal(want)
		t.Errorf("%s differs\ngot:\n%s\nwant:\n%s", what, g, w)
	}
}

// assertHardened checks a manager pod template: the exact security
// settings, resources, probes on :8081, and that the restricted Pod Security
// Standard, enforced on namespace, admits a pod made from it (and refuses
// one made less safe, proving admission is really checking).
func assertHardened(t *testing.T, namespace string, template corev1.PodTemplateSpec) {
	t.Helper()
	spec := template.Spec
	assertEqual(t, "pod securityContext", spec.SecurityContext, hardenedPod)
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := spec.Containers[0]
	assertEqual(t, "container securityContext", c.SecurityContext, hardenedContainer)
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if c.Resources.Requests.Name(name, "").IsZero() || c.Resources.Limits.Name(name, "").IsZero() {
			t.Errorf("container resources lack a %s request or limit: %+v", name, c.Resources)
		}
	}
	probes := map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe}
	for path, probe := range probes {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path {
			t.Errorf("want an HTTP probe on %s, got %+v", path, probe)
			continue
		}
		if port := containerPort(c, probe.HTTPGet.Port.String()); port != 8081 {
			t.Errorf("probe %s targets port %s = %d, want 8081", path, probe.HTTPGet.Port.String(), port)
		}
	}
	if !slices.Contains(c.Args, "--health-probe-bind-address=:8081") || !slices.Contains(c.Args, "--metrics-bind-address=:8080") {
		t.Errorf("manager args do not bind probes to :8081 and metrics to :8080: %q", c.Args)
	}

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "hardened-", Namespace: namespace, Labels: template.Labels},
		Spec:       *spec.DeepCopy(),
	}
	if err := env.Client.Create(t.Context(), pod, client.DryRunAll); err != nil {
		t.Errorf("a pod from the manager's template is refused in %s: %v", namespace, err)
	}
	weaker := pod.DeepCopy()
	weaker.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr(true)
	err := env.Client.Create(t.Context(), weaker, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), "allowPrivilegeEscalation") {
		t.Errorf("namespace %s admitted a pod allowing privilege escalation (err %v): is the restricted Pod Security Standard enforced there?", namespace, err)
	}
}

func containerPort(c corev1.Container, nameOrNumber string) int32 {
	for _, p := range c.Ports {
		if p.Name == nameOrNumber || fmt.Sprint(p.ContainerPort) == nameOrNumber {
			return p.ContainerPort
		}
	}
	return 0
}
