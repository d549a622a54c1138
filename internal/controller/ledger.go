package controller

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// ownership is what a resource's status says it owns in Entra.
type ownership struct {
	profileID, pendingName string
	appliedTarget          *passkeysv1alpha1.AppliedTarget
	pendingTargets         []passkeysv1alpha1.AppliedTarget
}

func ownershipOf(o passkeysv1alpha1.Object) (ownership, bool) {
	switch o := o.(type) {
	case *passkeysv1alpha1.PasskeyProfile:
		return ownership{profileID: o.Status.ProfileID, pendingName: o.Status.PendingName}, true
	case *passkeysv1alpha1.GroupAssignment:
		return ownership{appliedTarget: o.Status.AppliedTarget.DeepCopy(), pendingTargets: slices.Clone(o.Status.PendingTargets)}, true
	}
	return ownership{}, false
}

func (w ownership) equal(o ownership) bool {
	return w.profileID == o.profileID && w.pendingName == o.pendingName &&
		equality.Semantic.DeepEqual(w.appliedTarget, o.appliedTarget) &&
		equality.Semantic.DeepEqual(w.pendingTargets, o.pendingTargets)
}

func (w ownership) writeTo(o passkeysv1alpha1.Object) {
	switch o := o.(type) {
	case *passkeysv1alpha1.PasskeyProfile:
		o.Status.ProfileID, o.Status.PendingName = w.profileID, w.pendingName
	case *passkeysv1alpha1.GroupAssignment:
		o.Status.AppliedTarget, o.Status.PendingTargets = w.appliedTarget, w.pendingTargets
	}
}

// ownershipChanged says whether a status write changes what a resource
// owns.
func ownershipChanged(o, before passkeysv1alpha1.Object) bool {
	now, _ := ownershipOf(o)
	was, _ := ownershipOf(before)
	return !now.equal(was)
}

// ledger remembers the ownership this manager last wrote to each resource's
// status, until the informer cache shows it too; it records writes that
// change ownership, so a status someone else writes is not overridden by an
// older write of ours. A pass reads its resources
// from the cache, which may not hold yet what the pass before wrote: the
// event of someone else's change, such as a deletion, can come first. A pass
// that went by the older status would forget what the resource owns in
// Entra, and leave it there: release a deleted profile whose id it had not
// seen, or keep a target its assignment moved away from. Only the manager
// holding the lease writes these fields, so its last write is the newest.
type ledger struct {
	mu      sync.Mutex
	tenants map[string]map[types.UID]ownership
}

// record notes what o's status, just written, says it owns.
func (l *ledger) record(o passkeysv1alpha1.Object) {
	owned, ok := ownershipOf(o)
	tenant, hasTenant := o.(passkeysv1alpha1.TenantObject)
	if !ok || !hasTenant {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tenants == nil {
		l.tenants = map[string]map[types.UID]ownership{}
	}
	if l.tenants[tenant.GetTenantRef()] == nil {
		l.tenants[tenant.GetTenantRef()] = map[types.UID]ownership{}
	}
	l.tenants[tenant.GetTenantRef()][o.GetUID()] = owned
}

// overlay puts what this manager last wrote into the statuses of a tenant's
// resources, read from the cache, where the cache has not caught up; where
// it has, the entry is dropped, and so are entries of resources gone.
func (l *ledger) overlay(tenant string, res resources) {
	l.mu.Lock()
	defer l.mu.Unlock()
	recorded := l.tenants[tenant]
	if len(recorded) == 0 {
		return
	}
	seen := map[types.UID]bool{}
	for _, o := range res.objects() {
		seen[o.GetUID()] = true
		want, found := recorded[o.GetUID()]
		if !found {
			continue
		}
		if got, _ := ownershipOf(o); got.equal(want) {
			delete(recorded, o.GetUID())
			continue
		}
		want.writeTo(o)
	}
	for uid := range recorded {
		if !seen[uid] {
			delete(recorded, uid)
		}
	}
}

// forget drops what is recorded for a tenant.
func (l *ledger) forget(tenant string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.tenants, tenant)
}
