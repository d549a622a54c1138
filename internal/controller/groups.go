package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/manifests"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// resolvedGroup is a target's group id, or why there is none.
type resolvedGroup struct {
	id      string
	problem *policy.Problem
}

// groupCache remembers display-name lookups per tenant for one resync
// interval, so a steady state costs no group requests beyond the GET budget
// more than once per interval.
type groupCache struct {
	mu      sync.Mutex
	entries map[string]groupEntry // key: tenant + "\x00" + display name
}

type groupEntry struct {
	group   resolvedGroup
	fetched time.Time
}

// resolveGroup returns the group id an assignment targets; a display name
// is looked up in Entra (Group.Read.All), cached for the resync interval.
func (r *TenantReconciler) resolveGroup(ctx context.Context, graph Graph, tenant *passkeysv1alpha1.EntraTenant, a *passkeysv1alpha1.GroupAssignment) (resolvedGroup, error) {
	target := a.Spec.Target
	if id, ok := manifests.TargetID(target); ok {
		return resolvedGroup{id: id}, nil
	}
	key := tenant.Name + "\x00" + target.GroupName
	interval := r.resyncAfter(tenant)
	r.groups.mu.Lock()
	entry, ok := r.groups.entries[key]
	r.groups.mu.Unlock()
	if ok && r.now().Sub(entry.fetched) < interval {
		return entry.group, nil
	}

	groups, err := graph.GroupsByDisplayName(ctx, target.GroupName)
	if err != nil {
		return resolvedGroup{}, fmt.Errorf("looking up group %q: %w", target.GroupName, err)
	}
	var group resolvedGroup
	group.id, group.problem = manifests.GroupByName(groups, target.GroupName, tenant.Spec.TenantID)
	r.groups.mu.Lock()
	if r.groups.entries == nil {
		r.groups.entries = map[string]groupEntry{}
	}
	r.groups.entries[key] = groupEntry{group: group, fetched: r.now()}
	r.groups.mu.Unlock()
	return group, nil
}
