package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// The Secret holding the demo app's client secret, and the namespace the
// samples live in (labelled so the sample tenant admits it).
const (
	credentialsNamespace = "passkey-system"
	credentialsSecret    = "contoso-entra-credentials"
	credentialsKey       = "client-secret"
	samplesNamespace     = "identity"
)

type runOptions struct {
	dir        string
	binDir     string
	samplesDir string
	// demo plays drift once everything is Ready (run-local does; local-up,
	// for scripts, leaves the samples as they are).
	demo bool
	// readyTimeout bounds the wait for the samples to become Ready; run keeps
	// going after it (to let a person look), up gives up.
	readyTimeout time.Duration
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := dirFlag(fs)
	opts := runOptions{}
	fs.StringVar(&opts.binDir, "bin", defaultBinDir(), "folder holding the manager and entra-emulator binaries")
	fs.StringVar(&opts.samplesDir, "samples", filepath.Join("config", "samples"), "folder of sample manifests to apply")
	fs.DurationVar(&opts.readyTimeout, "ready-timeout", 3*time.Minute, "how long to wait for the samples to become Ready")
	fs.BoolVar(&opts.demo, "demo", true, "once the samples are Ready, show drift corrected (Enforce) and reported (Report)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if opts.dir, err = filepath.Abs(*dir); err != nil {
		return err
	}
	return run(ctx, opts, stdout)
}

// defaultBinDir is the folder of this executable: the Makefile builds
// localenv, manager and entra-emulator side by side into bin/.
func defaultBinDir() string {
	self, err := os.Executable()
	if err != nil {
		return "bin"
	}
	return filepath.Dir(self)
}

// run brings the stack up, applies the samples, reports their status until
// ctx is done, then stops everything it started.
func run(ctx context.Context, opts runOptions, out io.Writer) (err error) {
	if err := claimDir(opts.dir); err != nil {
		return err
	}
	defer releaseDir(opts.dir)

	s := &stack{dir: opts.dir, binDir: opts.binDir, out: &lockedWriter{w: out}, demo: opts.demo}
	defer func() {
		if stopErr := s.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
	}()
	if err := s.start(ctx); err != nil {
		return err
	}
	if err := s.applySamples(ctx, opts.samplesDir); err != nil {
		return err
	}
	return s.watch(ctx, opts.readyTimeout)
}

// claimDir makes sure only one local stack uses dir, and records our pid
// for `localenv down`.
func claimDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if pid, alive := runningPID(dir); alive {
		return fmt.Errorf("a local stack is already running from %s (pid %d): stop it with make local-down", dir, pid)
	}
	_ = os.Remove(envFilePath(dir))
	return os.WriteFile(pidFilePath(dir), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
}

func releaseDir(dir string) {
	_ = os.Remove(envFilePath(dir))
	_ = os.Remove(pidFilePath(dir))
}

// applySamples creates the namespaces, the credentials Secret, the
// EntraTenant of config/samples pointed at the emulator with the demo app's
// client secret, and every sample profile and assignment unchanged.
func (s *stack) applySamples(ctx context.Context, samplesDir string) error {
	c := s.env.Client
	objects := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: credentialsNamespace}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: samplesNamespace, Labels: map[string]string{"entra-tenant": "contoso"}}},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: credentialsSecret, Namespace: credentialsNamespace},
			Data:       map[string][]byte{credentialsKey: []byte(s.clientSecret)},
		},
	}
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
	if err != nil {
		return fmt.Errorf("listing samples: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("no samples in %s", samplesDir)
	}
	for _, file := range files {
		obj, err := readManifest(file)
		if err != nil {
			return err
		}
		switch obj.GetKind() {
		case "EntraTenant":
			tenant := &passkeysv1alpha1.EntraTenant{}
			if err := runtimeConvert(obj, tenant); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			s.pointAtEmulator(tenant)
			objects = append(objects, tenant)
		case "PasskeyProfile", "GroupAssignment":
			objects = append(objects, obj)
		}
	}
	// In dependency order, as Argo CD sync waves would apply them: a tenant
	// pass never sees an assignment whose profile is not there yet.
	sort.SliceStable(objects, func(i, j int) bool { return applyOrder(objects[i]) < applyOrder(objects[j]) })
	for _, obj := range objects {
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	fmt.Fprintf(s.out, "Applied %s (the EntraTenant pointed at the emulator with a client secret).\n", samplesDir)
	return nil
}

func applyOrder(obj client.Object) int {
	switch obj.(type) {
	case *corev1.Namespace:
		return 0
	case *corev1.Secret:
		return 1
	case *passkeysv1alpha1.EntraTenant:
		return 2
	}
	if u, ok := obj.(*unstructured.Unstructured); ok && u.GetKind() == "PasskeyProfile" {
		return 3
	}
	return 4
}

// pointAtEmulator keeps everything the sample tenant says but how it signs
// in: the emulator's endpoints as a Custom cloud and a client secret.
func (s *stack) pointAtEmulator(tenant *passkeysv1alpha1.EntraTenant) {
	tenant.Spec.Cloud = &passkeysv1alpha1.Cloud{
		Name:          passkeysv1alpha1.CloudCustom,
		AuthorityHost: s.emulatorURL,
		GraphEndpoint: s.emulatorURL,
	}
	tenant.Spec.Credentials = passkeysv1alpha1.Credentials{
		Type:     passkeysv1alpha1.CredentialClientSecret,
		ClientID: demoClientID,
		SecretRef: &passkeysv1alpha1.SecretKeyRef{
			Namespace: credentialsNamespace, Name: credentialsSecret, Key: credentialsKey,
		},
	}
}

func readManifest(file string) (*unstructured.Unstructured, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return obj, nil
}

func runtimeConvert(from *unstructured.Unstructured, to any) error {
	raw, err := from.MarshalJSON()
	if err != nil {
		return err
	}
	return yaml.Unmarshal(raw, to)
}

// newClientSecret makes a fresh secret for each run: nothing to leak, nothing
// to remember.
func newClientSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "local-" + base64.RawURLEncoding.EncodeToString(b), nil
}

// printNextSteps tells a person how to use what is running; README.md's
// walkthrough says the same.
func (s *stack) printNextSteps() {
	fmt.Fprintf(s.out, `
All samples are Ready: the emulator's tenant %[1]s holds what config/samples declares.

In another shell, point kubectl (built into bin/) at the local cluster:
    . %[2]s
    kubectl get passkeys -A

Cause drift as an admin in the Entra portal would, then ask for a reconcile now
instead of at the next resync:
    localenv portal-edit --profile "Synced passkeys for staff" --passkey-types deviceBound
    kubectl annotate pkp -n identity synced-staff passkeys.entraops.dev/requestedAt="$(date +%%s)" --overwrite
With driftPolicy Enforce (the samples' choice) the operator puts the profile back
and says so in a DriftDetected event, shown below. Switch the profile to Report,
    kubectl patch pkp -n identity synced-staff --type merge -p '{"spec":{"driftPolicy":"Report"}}'
repeat the two commands, and the portal's change stays: Drifted=True, the field in status.drift.

Logs: %[3]s/manager.log and %[3]s/emulator.log.

`, demoTenantID, relative(envFilePath(s.dir)), relative(s.dir))
}

// relative shortens a path under the working folder, for messages.
func relative(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
