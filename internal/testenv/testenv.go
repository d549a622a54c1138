// Package testenv starts a real kube-apiserver and etcd (controller-runtime
// envtest) with this repository's CRDs installed, for tests in any package.
//
// The binaries are built from the Go module proxy by hack/controlplane.sh;
// `make test` sets KUBEBUILDER_ASSETS to their folder. Without it the tests
// fail with instructions rather than skip: a skipped integration test is a
// test nobody runs.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// Env is a running control plane with the CRDs installed.
type Env struct {
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// Client is a direct (uncached) client with this repository's types registered.
	Client client.Client
	// Scheme holds the built-in types and this repository's types.
	Scheme *k8sruntime.Scheme
	// KubeconfigPath is a kubeconfig file for the admin user, for kubectl.
	KubeconfigPath string
	// KubectlPath is the kubectl built beside the control plane.
	KubectlPath string

	environment *envtest.Environment
	tempDir     string
}

// RepoRoot is the repository's top folder, found from this file's location so
// tests work from any package directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start runs etcd and kube-apiserver and installs the CRDs from
// config/crd/bases. Call Stop when done (typically from TestMain).
func Start() (*Env, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run the tests with `make test`, " +
			"or run `make envtest` and export KUBEBUILDER_ASSETS=$(make -s envtest-path)")
	}

	scheme := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("registering built-in types: %w", err)
	}
	if err := passkeysv1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("registering passkeys.entraops.dev types: %w", err)
	}

	tempDir, err := os.MkdirTemp("", "testenv-")
	if err != nil {
		return nil, fmt.Errorf("creating the control plane's folder: %w", err)
	}
	// The API server's certificates live in a folder of ours rather than
	// one envtest makes and removes on every stop: RestartAPIServer then
	// serves the same certificate, so clients keep trusting it.
	certDir := filepath.Join(tempDir, "kube-apiserver")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		_ = os.RemoveAll(tempDir)
		return nil, fmt.Errorf("creating the API server's folder: %w", err)
	}
	environment := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	environment.ControlPlane.APIServer = &envtest.APIServer{CertDir: certDir}
	cfg, err := environment.Start()
	if err != nil {
		_ = os.RemoveAll(tempDir)
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	env := &Env{Config: cfg, Scheme: scheme, KubectlPath: filepath.Join(assets, "kubectl"), environment: environment, tempDir: tempDir}

	if env.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, env.stopAfter(fmt.Errorf("creating client: %w", err))
	}
	if err := env.writeKubeconfig(); err != nil {
		return nil, env.stopAfter(err)
	}
	return env, nil
}

func (e *Env) writeKubeconfig() error {
	user, err := e.environment.AddUser(envtest.User{Name: "test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding kubeconfig user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("rendering kubeconfig: %w", err)
	}
	e.KubeconfigPath = filepath.Join(e.tempDir, "kubeconfig")
	if err := os.WriteFile(e.KubeconfigPath, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}

// Stop stops the control plane and removes temporary files.
func (e *Env) Stop() error {
	err := e.environment.Stop()
	if e.tempDir != "" {
		_ = os.RemoveAll(e.tempDir)
	}
	if err != nil {
		return fmt.Errorf("stopping control plane: %w", err)
	}
	return nil
}

// RestartAPIServer stops kube-apiserver and starts it again on the same
// port, with the same certificates, while etcd keeps running: what a
// cluster's clients see when its API server restarts. Every object stays;
// watches break and clients reconnect. It returns once the new API server
// answers its health check.
func (e *Env) RestartAPIServer() error {
	apiServer := e.environment.ControlPlane.APIServer
	// Stop sends SIGTERM; the API server stops listening at once, but with
	// watches open it may not exit within envtest's stop timeout (20s),
	// and then Stop kills it and reports the timeout. Either way the port
	// is free for the new one, so only a failed start is an error.
	stopErr := apiServer.Stop()
	if err := apiServer.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again on port %s: %w", apiServer.Port, errors.Join(err, stopErr))
	}
	return nil
}

func (e *Env) stopAfter(cause error) error {
	if err := e.Stop(); err != nil {
		return fmt.Errorf("%w (and %w)", cause, err)
	}
	return cause
}

// GVK returns the GroupVersionKind of a passkeys.entraops.dev kind.
func GVK(kind string) schema.GroupVersionKind {
	return passkeysv1alpha1.GroupVersion.WithKind(kind)
}
