package controller_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/controller"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

const (
	fido2Path = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2"
	clientID  = "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
	// staffGroup is seeded in every test tenant under the name "Staff".
	staffGroup = "7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
)

var (
	env    *testenv.Env
	emu    *emulator.Emulator
	emuURL string
	// logs captures everything the operator logs, so tests can prove no
	// secret ever reaches a log line.
	logs = &testenv.SyncBuffer{}
	// cached is the manager's client: reads from the informer cache, with
	// the reconciler's field indexes.
	cached client.Client
	// catalog is the operator's authenticator catalog, from the emulator's
	// MDS3 BLOB; tests that change the BLOB load it again.
	catalog *mds.Source
)

// TestMain runs the real operator against a real API server and the
// emulator over HTTPS. The operator trusts the emulator's CA through
// SSL_CERT_FILE, as a deployment trusts a private CA: no test-only path.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	stateDir, err := os.MkdirTemp("", "controller-test-")
	if err != nil {
		return fail(err)
	}
	defer func() { _ = os.RemoveAll(stateDir) }()
	ca, err := emulator.LoadOrCreateCA(stateDir)
	if err != nil {
		return fail(err)
	}
	if err := os.Setenv("SSL_CERT_FILE", filepath.Join(stateDir, emulator.CAFile)); err != nil {
		return fail(err)
	}
	if emu, err = emulator.New(emulator.Options{ManagedIdentityHeader: managedIdentityHeader}); err != nil {
		return fail(err)
	}
	cert, err := ca.ServerCertificate([]string{"127.0.0.1", "localhost"})
	if err != nil {
		return fail(err)
	}
	srv := httptest.NewUnstartedServer(emu)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	emuURL = srv.URL

	if env, err = testenv.Start(); err != nil {
		return fail(err)
	}
	defer func() { _ = env.Stop() }()

	ctrl.SetLogger(zap.New(zap.WriteTo(logs), zap.Level(zapcore.DebugLevel)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Cache:                  controller.CacheOptions(nil),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return fail(err)
	}
	cached = mgr.GetClient()
	metrics := controller.NewMetrics()
	crmetrics.Registry.MustRegister(metrics)
	clients := entra.NewClients(entra.ClientOptions{Observer: metrics.ObserveGraph})
	reconciler := &controller.TenantReconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Connect:    controller.ConnectWith(clients),
		Disconnect: clients.Forget,
		Metrics:    metrics,
	}
	// The emulator's authenticator catalog, as the manager's
	// --authenticator-catalog-url would load it.
	catalog = &mds.Source{URL: emuURL + emulator.MDSPath, Root: emu.MDSRoot(), Log: ctrl.Log.WithName("authenticator-catalog"),
		OnChange: func(_, _ *mds.Catalog) { reconciler.CatalogChanged(ctx) }}
	reconciler.Authenticators = catalog
	if err := mgr.Add(catalog); err != nil {
		return fail(err)
	}
	skipNameValidation := true
	if err := reconciler.SetupWithManager(ctx, mgr, crcontroller.Options{MaxConcurrentReconciles: 4, SkipNameValidation: &skipNameValidation}); err != nil {
		return fail(err)
	}
	reporter := &controller.RegistrationReporter{Tenants: reconciler}
	if err := reporter.SetupWithManager(mgr, crcontroller.Options{SkipNameValidation: &skipNameValidation}); err != nil {
		return fail(err)
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return m.Run()
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// tenantFixture is one emulated Entra tenant with its EntraTenant, its
// Secret and a namespace for its resources: each test gets its own, so
// tests never see each other's state.
type tenantFixture struct {
	t         testing.TB
	name      string
	tenantID  string
	namespace string
	secret    string
	tenant    *passkeysv1alpha1.EntraTenant
}

func newTenant(t testing.TB, mutate ...func(*passkeysv1alpha1.EntraTenant)) *tenantFixture {
	t.Helper()
	return newTenantWithRoles(t, emulator.ReadWriteRoles, mutate...)
}

// newTenantWithRoles is newTenant with the app holding only roles.
func newTenantWithRoles(t testing.TB, roles []string, mutate ...func(*passkeysv1alpha1.EntraTenant)) *tenantFixture {
	t.Helper()
	ctx := context.Background()
	f := &tenantFixture{
		t:         t,
		name:      "t-" + kubeName(t.Name()),
		tenantID:  uuid.NewString(),
		namespace: "ns-" + uuid.NewString()[:8],
	}
	if len(f.name) > 50 {
		f.name = f.name[:50]
	}
	f.name += "-" + uuid.NewString()[:8]
	f.secret = "s3cr3t-" + uuid.NewString()
	if err := emu.Seed(emulator.Tenant{
		ID:     f.tenantID,
		Apps:   []emulator.App{{ClientID: clientID, ClientSecret: f.secret, Roles: roles}},
		Groups: []emulator.Group{{ID: staffGroup, DisplayName: "Staff"}},
	}); err != nil {
		t.Fatalf("seeding emulator tenant: %v", err)
	}
	mustCreate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.namespace}})
	mustCreate(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: f.namespace},
		Data:       map[string][]byte{"clientSecret": []byte(f.secret)},
	})
	f.tenant = &passkeysv1alpha1.EntraTenant{
		ObjectMeta: metav1.ObjectMeta{Name: f.name},
		Spec: passkeysv1alpha1.EntraTenantSpec{
			TenantID: f.tenantID,
			Cloud:    &passkeysv1alpha1.Cloud{Name: passkeysv1alpha1.CloudCustom, AuthorityHost: emuURL, GraphEndpoint: emuURL},
			Credentials: passkeysv1alpha1.Credentials{
				Type:      passkeysv1alpha1.CredentialClientSecret,
				ClientID:  clientID,
				SecretRef: &passkeysv1alpha1.SecretKeyRef{Namespace: f.namespace, Name: "app", Key: "clientSecret"},
			},
		},
	}
	for _, m := range mutate {
		m(f.tenant)
	}
	mustCreate(t, f.tenant)
	t.Cleanup(func() { _ = env.Client.Delete(ctx, f.tenant) })
	return f
}

// kubeName turns a test or benchmark name ("BenchmarkResync/resources=10")
// into something a Kubernetes name may hold: lower case, and '-' for
// anything but letters and digits.
func kubeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '-'
	}, name)
}

func mustCreate(t testing.TB, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func (f *tenantFixture) profile(name string, spec passkeysv1alpha1.PasskeyProfileSpec) *passkeysv1alpha1.PasskeyProfile {
	spec.TenantRef = f.name
	p := &passkeysv1alpha1.PasskeyProfile{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.namespace}, Spec: spec}
	mustCreate(f.t, p)
	return p
}

func (f *tenantFixture) assignment(name string, spec passkeysv1alpha1.GroupAssignmentSpec) *passkeysv1alpha1.GroupAssignment {
	spec.TenantRef = f.name
	a := &passkeysv1alpha1.GroupAssignment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.namespace}, Spec: spec}
	mustCreate(f.t, a)
	return a
}

// fido2 is what the emulated Entra holds now.
func (f *tenantFixture) fido2() emulator.Fido2Document {
	f.t.Helper()
	doc, _, err := emu.Fido2(f.tenantID)
	if err != nil {
		f.t.Fatalf("reading emulator state: %v", err)
	}
	return doc
}

func (f *tenantFixture) count(method string) int {
	return emu.Stats().Count(f.tenantID, method, fido2Path, emulator.AnyStatus)
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last seen: %s", what, last)
}

// waitCondition waits until obj's condition has the status and reason and
// reflects its current generation.
func waitCondition(t testing.TB, obj client.Object, condition string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s %s=%s/%s", obj.GetName(), condition, status, reason), func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(conditionsOf(obj), condition)
		if c == nil {
			return false, fmt.Sprintf("no %s condition in %v", condition, conditionsOf(obj))
		}
		return c.Status == status && c.Reason == reason && c.ObservedGeneration == obj.GetGeneration(),
			fmt.Sprintf("%s=%s reason %s: %s (generation %d, observed %d)", condition, c.Status, c.Reason, c.Message, obj.GetGeneration(), c.ObservedGeneration)
	})
}

func conditionsOf(obj client.Object) []metav1.Condition {
	return obj.(passkeysv1alpha1.Object).GetConditions()
}

// requestReconcile sets the force-reconcile annotation, as `kubectl annotate` would.
func requestReconcile(t testing.TB, obj client.Object, value string) {
	t.Helper()
	ctx := context.Background()
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[passkeysv1alpha1.ReconcileRequestAnnotation] = value
	obj.SetAnnotations(annotations)
	if err := env.Client.Patch(ctx, obj, patch); err != nil {
		t.Fatal(err)
	}
}
