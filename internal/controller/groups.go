package controller

import (
	"context"
	"sync"
	"time"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

// groupCache remembers display-name lookups per tenant for one resync
// interval, so a steady state costs no group requests beyond the GET budget
// more than once per interval.
type groupCache struct {
	mu      sync.Mutex
	entries map[string]groupEntry // key: tenant + "\x00" + display name
}

type groupEntry struct {
	groups  []entra.Group
	fetched time.Time
}

// groupsOf returns the tenant's group lookups: Graph's, through the cache.
func (r *TenantReconciler) groupsOf(tenant *passkeysv1alpha1.EntraTenant, graph Graph) specs.Groups {
	return cachedGroups{r: r, tenant: tenant, graph: graph}
}

// cachedGroups looks groups up by display name (Group.Read.All) in one
// tenant, remembering each answer for the tenant's resync interval.
type cachedGroups struct {
	r      *TenantReconciler
	tenant *passkeysv1alpha1.EntraTenant
	graph  Graph
}

func (c cachedGroups) GroupsByDisplayName(ctx context.Context, name string) ([]entra.Group, error) {
	cache := &c.r.groups
	key := c.tenant.Name + "\x00" + name
	cache.mu.Lock()
	entry, ok := cache.entries[key]
	cache.mu.Unlock()
	if ok && c.r.now().Sub(entry.fetched) < c.r.resyncAfter(c.tenant) {
		return entry.groups, nil
	}

	groups, err := c.graph.GroupsByDisplayName(ctx, name)
	if err != nil {
		return nil, err
	}
	cache.mu.Lock()
	if cache.entries == nil {
		cache.entries = map[string]groupEntry{}
	}
	cache.entries[key] = groupEntry{groups: groups, fetched: c.r.now()}
	cache.mu.Unlock()
	return groups, nil
}
