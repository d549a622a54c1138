package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

func TestLedgerOverlaysWhatTheCacheHasNotSeen(t *testing.T) {
	profile := func(uid types.UID, id, pending string) *passkeysv1alpha1.PasskeyProfile {
		p := &passkeysv1alpha1.PasskeyProfile{ObjectMeta: metav1.ObjectMeta{UID: uid}}
		p.Spec.TenantRef = "contoso"
		p.Status.ProfileID, p.Status.PendingName = id, pending
		return p
	}
	assignment := func(uid types.UID, pending ...string) *passkeysv1alpha1.GroupAssignment {
		a := &passkeysv1alpha1.GroupAssignment{ObjectMeta: metav1.ObjectMeta{UID: uid}}
		a.Spec.TenantRef = "contoso"
		for _, g := range pending {
			a.Status.PendingTargets = append(a.Status.PendingTargets, passkeysv1alpha1.AppliedTarget{GroupID: g, Mode: passkeysv1alpha1.AssignmentInclude})
		}
		return a
	}
	var l ledger
	l.record(profile("p1", "id-1", ""))
	l.record(assignment("a1", "g1", "g2"))
	l.record(profile("gone", "id-9", ""))

	// The cache lags: p1 has no id yet, a1 only one pending target.
	stale := resources{
		profiles:    []*passkeysv1alpha1.PasskeyProfile{profile("p1", "", "Keys"), profile("p2", "id-2", "")},
		assignments: []*passkeysv1alpha1.GroupAssignment{assignment("a1", "g1")},
	}
	l.overlay("contoso", stale)
	if got := stale.profiles[0].Status; got.ProfileID != "id-1" || got.PendingName != "" {
		t.Errorf("p1: profileID %q, pendingName %q; want what was written last: id-1 and none", got.ProfileID, got.PendingName)
	}
	if got := stale.profiles[1].Status.ProfileID; got != "id-2" {
		t.Errorf("p2, never recorded: profileID %q, want the cache's id-2", got)
	}
	if got := len(stale.assignments[0].Status.PendingTargets); got != 2 {
		t.Errorf("a1: %d pending targets, want the 2 written last", got)
	}
	if len(l.tenants["contoso"]) != 2 {
		t.Errorf("ledger holds %d entries, want 2: the entry of a resource gone is dropped", len(l.tenants["contoso"]))
	}

	// The cache has caught up: entries go, and what the cache says is used.
	current := resources{
		profiles:    []*passkeysv1alpha1.PasskeyProfile{profile("p1", "id-1", "")},
		assignments: []*passkeysv1alpha1.GroupAssignment{assignment("a1", "g1", "g2")},
	}
	l.overlay("contoso", current)
	if len(l.tenants["contoso"]) != 0 {
		t.Errorf("ledger holds %d entries once the cache caught up, want 0", len(l.tenants["contoso"]))
	}
	later := resources{profiles: []*passkeysv1alpha1.PasskeyProfile{profile("p1", "id-7", "")}}
	l.overlay("contoso", later)
	if got := later.profiles[0].Status.ProfileID; got != "id-7" {
		t.Errorf("after the entry went, profileID %q, want the cache's id-7", got)
	}
}

func TestOwnershipChanged(t *testing.T) {
	before := &passkeysv1alpha1.GroupAssignment{}
	after := before.DeepCopy()
	after.Status.ResolvedGroupID = "g1"
	if ownershipChanged(after, before) {
		t.Error("a status write that leaves appliedTarget and pendingTargets alone counted as an ownership change")
	}
	after.Status.PendingTargets = []passkeysv1alpha1.AppliedTarget{{GroupID: "g1", Mode: passkeysv1alpha1.AssignmentInclude}}
	if !ownershipChanged(after, before) {
		t.Error("a new pending target did not count as an ownership change")
	}
}
