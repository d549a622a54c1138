package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/policy"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

// AuthenticatorCatalog is where passes take the authenticator catalog
// (FIDO MDS3) from: an mds.Source.
type AuthenticatorCatalog interface {
	// Current is the catalog, nil until one is loaded.
	Current() *mds.Catalog
	// LastError says why the last load failed, nil after a success.
	LastError() error
}

// catalog is the catalog a pass resolves names with and shows names from,
// taken once so that the whole pass sees one.
func (r *TenantReconciler) catalog() specs.Catalog {
	if r.Authenticators == nil {
		return specs.Catalog{NotLoaded: "the manager runs without one: its --authenticator-catalog-url is empty"}
	}
	if c := r.Authenticators.Current(); c != nil {
		return specs.Catalog{Models: c}
	}
	why := "it has not been downloaded yet"
	if err := r.Authenticators.LastError(); err != nil {
		why = err.Error()
	}
	return specs.Catalog{NotLoaded: why}
}

// setAuthenticators lists in each profile's status the models its key
// restrictions name, and says in an event when a new catalog changed what
// its names select under an unchanged spec: the next write (Enforce) or the
// drift (Report) follows from that, and people should know why.
func (p *pass) setAuthenticators() {
	for _, obj := range p.res.profiles {
		models, _ := specs.Authenticators(obj.Spec.KeyRestrictions, p.catalog)
		before := obj.Status.Authenticators
		obj.Status.Authenticators = models
		added, removed := selectionChanges(before, models)
		if p.r.Events == nil || !p.catalog.Models.Loaded() || !selectsByName(before) || len(added)+len(removed) == 0 {
			continue
		}
		// A status from an older spec differs because the spec did: that is
		// the user's change, not the catalog's.
		if p.originals[obj].SyncStatus().ObservedGeneration != obj.Generation {
			continue
		}
		p.r.Events.Eventf(obj, nil, corev1.EventTypeNormal, ReasonAuthenticatorsChanged, "Resolve",
			"The authenticator catalog changed (FIDO MDS3 BLOB no. %d): spec.keyRestrictions.authenticators now %s",
			p.catalog.Models.Number(), describeSelection(added, removed))
	}
}

// selectionChanges are the models that names select now and did not
// before, and those they no longer select.
func selectionChanges(before, now []passkeysv1alpha1.AuthenticatorModel) (added, removed []passkeysv1alpha1.AuthenticatorModel) {
	selected := func(models []passkeysv1alpha1.AuthenticatorModel) map[string]passkeysv1alpha1.AuthenticatorModel {
		out := map[string]passkeysv1alpha1.AuthenticatorModel{}
		for _, m := range models {
			if m.Selector != "" {
				out[strings.ToLower(m.AAGUID)] = m
			}
		}
		return out
	}
	was, is := selected(before), selected(now)
	for _, m := range now {
		if _, ok := was[strings.ToLower(m.AAGUID)]; m.Selector != "" && !ok {
			added = append(added, m)
		}
	}
	for _, m := range before {
		if _, ok := is[strings.ToLower(m.AAGUID)]; m.Selector != "" && !ok {
			removed = append(removed, m)
		}
	}
	return added, removed
}

func selectsByName(models []passkeysv1alpha1.AuthenticatorModel) bool {
	for _, m := range models {
		if m.Selector != "" {
			return true
		}
	}
	return false
}

func describeSelection(added, removed []passkeysv1alpha1.AuthenticatorModel) string {
	label := func(models []passkeysv1alpha1.AuthenticatorModel) string {
		parts := make([]string, 0, len(models))
		for _, m := range models {
			parts = append(parts, fmt.Sprintf("%s (by %q)", specs.AuthenticatorLabel(m.AAGUID, m.Name), m.Selector))
		}
		return strings.Join(parts, ", ")
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "also select "+label(added))
	}
	if len(removed) > 0 {
		parts = append(parts, "no longer select "+label(removed))
	}
	return strings.Join(parts, "; and ")
}

// nameAAGUIDs puts the catalog's names next to the AAGUIDs of drift
// entries, for status and events.
func (p *pass) nameAAGUIDs(drift []policy.Drift) []policy.Drift {
	if !p.catalog.Models.Loaded() || len(drift) == 0 {
		return drift
	}
	out := make([]policy.Drift, len(drift))
	for i, d := range drift {
		if strings.Contains(strings.ToLower(d.Field), "aaguid") {
			d.Desired, d.Observed = p.catalog.LabelAll(d.Desired), p.catalog.LabelAll(d.Observed)
		}
		out[i] = d
	}
	return out
}

// CatalogChanged requests a pass for each of this shard's tenants with a
// profile that restricts authenticators: what its names select, and the
// names its status shows, may change with the catalog. It is mds.Source's
// OnChange, so it hands the work to a goroutine and returns. Call it on the
// leader only: passes are taken only there, and a new leader's first
// passes see the catalog as it is.
func (r *TenantReconciler) CatalogChanged(ctx context.Context) {
	go func() {
		var profiles passkeysv1alpha1.PasskeyProfileList
		if err := r.List(ctx, &profiles); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing profiles after the authenticator catalog changed")
			return
		}
		for _, name := range tenantsRestrictingAuthenticators(profiles.Items) {
			// Every shard caches every profile, but only its own tenants.
			if err := r.Get(ctx, client.ObjectKey{Name: name}, &passkeysv1alpha1.EntraTenant{}); err != nil {
				continue
			}
			r.requestPass(ctx, name)
		}
	}()
}

// tenantsRestrictingAuthenticators are the tenants, once each, of the
// profiles that restrict authenticators.
func tenantsRestrictingAuthenticators(profiles []passkeysv1alpha1.PasskeyProfile) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range profiles {
		if p.Spec.KeyRestrictions == nil || seen[p.Spec.TenantRef] {
			continue
		}
		seen[p.Spec.TenantRef] = true
		out = append(out, p.Spec.TenantRef)
	}
	return out
}
