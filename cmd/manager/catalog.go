package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/passkey-operator/passkey-operator/internal/controller"
	"github.com/passkey-operator/passkey-operator/internal/mds"
)

// catalogFlags configure the authenticator catalog (FIDO MDS3): off unless
// given a URL, so a manager run by hand or in tests reaches no third site;
// the chart and the kustomize install give the FIDO Alliance's.
type catalogFlags struct {
	url, root, cache string
	refresh          time.Duration
}

func (c *catalogFlags) register(flags *flag.FlagSet) {
	flags.StringVar(&c.url, "authenticator-catalog-url", "",
		"URL of the FIDO MDS3 BLOB that names authenticator models (https://mds.fidoalliance.org); empty turns the catalog off, and profiles that select authenticators by name are then not applied.")
	flags.StringVar(&c.root, "authenticator-catalog-root", "",
		"PEM file of the root certificate the BLOB's chain must lead to; empty means the FIDO Alliance's (GlobalSign Root R46).")
	flags.StringVar(&c.cache, "authenticator-catalog-cache", "",
		"File that keeps the last verified BLOB, so that a restart without network still has the catalog; empty means no cache.")
	flags.DurationVar(&c.refresh, "authenticator-catalog-refresh", mds.DefaultRefresh, "How often the BLOB is downloaded again.")
}

// addTo starts the catalog with the manager, on every replica so that a
// new leader has it at once, and tells reconciler about it.
func (c *catalogFlags) addTo(ctx context.Context, mgr ctrl.Manager, reconciler *controller.TenantReconciler) error {
	if c.url == "" {
		return nil
	}
	src := &mds.Source{URL: c.url, CachePath: c.cache, Refresh: c.refresh,
		Log: ctrl.Log.WithName("authenticator-catalog"),
		// Names may now select other models: the passes say so and apply
		// it. The catalog loads on every replica; passes run on the leader.
		OnChange: func(_, _ *mds.Catalog) {
			select {
			case <-mgr.Elected():
				reconciler.CatalogChanged(ctx)
			default:
			}
		},
	}
	if c.root != "" {
		pem, err := os.ReadFile(c.root)
		if err != nil {
			return fmt.Errorf("reading --authenticator-catalog-root: %w", err)
		}
		if src.Root, err = mds.RootFromPEM(pem); err != nil {
			return fmt.Errorf("--authenticator-catalog-root %s: %w", c.root, err)
		}
	}
	reconciler.Authenticators = src
	if err := mgr.Add(src); err != nil {
		return fmt.Errorf("adding the authenticator catalog: %w", err)
	}
	return nil
}
