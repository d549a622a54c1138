// Command manager runs the passkey-operator controllers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/controller"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// defaultLeaderElectionID is the Lease of an unsharded install, and of the
// chart's main Deployment when it also runs shards.
const defaultLeaderElectionID = "passkey-operator.passkeys.entraops.dev"

func main() {
	err := run(ctrl.SetupSignalHandler(), os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

// run starts the manager with the given command-line arguments and returns
// when ctx is done or the manager fails.
func run(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("manager", flag.ContinueOnError)
	var (
		metricsAddr        string
		probeAddr          string
		pprofAddr          string
		leaderElection     bool
		leaderElectionID   string
		leaderElectionNS   string
		watchLabelSelector string
		concurrency        int
		catalog            catalogFlags
	)
	flags.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flags.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flags.StringVar(&pprofAddr, "pprof-bind-address", "", "Address Go's profiler (/debug/pprof/) binds to, for measuring CPU and memory; empty or 0 disables it.")
	// In a cluster several replicas may run, so electing a leader is the
	// safe default there; a local run has nobody to elect against.
	inCluster := os.Getenv("KUBERNETES_SERVICE_HOST") != ""
	flags.BoolVar(&leaderElection, "leader-elect", inCluster, "Elect a leader so that only one replica reconciles at a time (default true when running in a cluster).")
	// Each shard elects its own leader: shards sharing a Lease would leave
	// all but one of them idle.
	flags.StringVar(&leaderElectionID, "leader-election-id", defaultLeaderElectionID,
		"Name of the Lease the replicas elect their leader with; give each shard its own.")
	flags.StringVar(&leaderElectionNS, "leader-election-namespace", "",
		"Namespace of the Lease; empty means the pod's own namespace (required outside a cluster).")
	flags.StringVar(&watchLabelSelector, "watch-label-selector", "",
		fmt.Sprintf("Label selector of the EntraTenants this manager reconciles, for sharding, e.g. '%[1]s in (a)' for shard a or '!%[1]s' for the unsharded rest; empty means every tenant.", passkeysv1alpha1.ShardLabel))
	flags.IntVar(&concurrency, "concurrency", 4, "How many tenants are reconciled at once.")
	catalog.register(flags)
	logOptions := zap.Options{}
	logOptions.BindFlags(flags)
	if err := flags.Parse(args); err != nil {
		return err
	}
	tenants, err := labels.Parse(watchLabelSelector)
	if err != nil {
		return fmt.Errorf("--watch-label-selector %q is not a label selector: %w", watchLabelSelector, err)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&logOptions)))

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fmt.Errorf("registering built-in types: %w", err)
	}
	if err := passkeysv1alpha1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("registering passkeys.entraops.dev types: %w", err)
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controller.CacheOptions(tenants),
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          leaderElection,
		LeaderElectionID:        leaderElectionID,
		LeaderElectionNamespace: leaderElectionNS,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	// Ready only once the informer caches have synced: before that a pass
	// would see no resources.
	if err := mgr.AddReadyzCheck("informers", func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("informer caches have not synced")
		}
		return nil
	}); err != nil {
		return fmt.Errorf("adding readiness check: %w", err)
	}

	// Our metrics join controller-runtime's on the manager's /metrics.
	metrics := controller.NewMetrics()
	if err := crmetrics.Registry.Register(metrics); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}

	clients := entra.NewClients(entra.ClientOptions{Observer: metrics.ObserveGraph})
	reconciler := &controller.TenantReconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Connect:    controller.ConnectWith(clients),
		Disconnect: clients.Forget,
		Metrics:    metrics,
	}
	if err := catalog.addTo(ctx, mgr, reconciler); err != nil {
		return err
	}
	if err := reconciler.SetupWithManager(ctx, mgr, crcontroller.Options{MaxConcurrentReconciles: concurrency}); err != nil {
		return fmt.Errorf("setting up the tenant controller: %w", err)
	}
	// The registration report, for tenants that ask for it, is read apart
	// from the passes and handed to them; it shares the tenant reconciler's
	// cache (this shard's tenants only), credentials and Graph clients.
	reporter := &controller.RegistrationReporter{Tenants: reconciler}
	if err := reporter.SetupWithManager(mgr, crcontroller.Options{}); err != nil {
		return fmt.Errorf("setting up the registration report controller: %w", err)
	}

	ctrl.Log.WithName("setup").Info("starting manager", "watchLabelSelector", tenants.String(),
		"leaderElection", leaderElection, "leaderElectionID", leaderElectionID)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running manager: %w", err)
	}
	return nil
}
