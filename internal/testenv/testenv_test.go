package testenv

import (
	"context"
	"os/exec"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestRestartAPIServer restarts kube-apiserver under a client that keeps
// its connection settings: the same address and certificates must serve,
// and what etcd holds must still be there.
func TestRestartAPIServer(t *testing.T) {
	env, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before-restart", Namespace: "default"}}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if err := env.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); err != nil {
		t.Fatalf("after the restart, reading what was written before with the old client: %v", err)
	}
	// The kubeconfig written at start (kubectl's, the operator's) still works.
	cmd := exec.Command(env.KubectlPath, "--kubeconfig", env.KubeconfigPath, "get", "configmap", "before-restart", "-n", "default", "-o", "name")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl after the restart: %v\n%s", err, out)
	}
}
