package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReconcileRequestAnnotation forces a reconcile when its value changes; the
// value handled last is echoed in status.lastHandledReconcileAt (the same
// contract as Flux's reconcile.fluxcd.io/requestedAt).
const ReconcileRequestAnnotation = "passkeys.entraops.dev/requestedAt"

// ShardLabel on an EntraTenant names the shard that reconciles it. A manager
// started with --watch-label-selector (the chart's shards select
// "passkeys.entraops.dev/shard in (<shard>)") caches and reconciles only the
// tenants its selector matches; PasskeyProfiles and GroupAssignments are not
// labelled: they follow their tenant. Relabelling a tenant moves it to
// another shard (docs/scaling.md).
const ShardLabel = "passkeys.entraops.dev/shard"

// Condition types. Ready, Reconciling and Stalled follow kstatus, so kubectl
// wait, Argo CD and Flux read them without help; Drifted is ours.
const (
	// ConditionReady is True when Entra holds what the resource declares.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the operator is working towards the spec.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the operator cannot make progress without a
	// change to the spec, the tenant or its permissions.
	ConditionStalled = "Stalled"
	// ConditionDrifted is True while Entra differs from the spec; status.drift
	// lists the differing fields.
	ConditionDrifted = "Drifted"
	// ConditionReporting is on an EntraTenant whose spec.reporting asks for
	// a report: True when the last read succeeded, False with the missing
	// permission or licence when it failed. It never affects Ready.
	ConditionReporting = "Reporting"
)

// DriftPolicy says what the operator does when Entra differs from the spec.
// +kubebuilder:validation:Enum=Enforce;Report
type DriftPolicy string

const (
	// DriftPolicyEnforce writes the spec back to Entra.
	DriftPolicyEnforce DriftPolicy = "Enforce"
	// DriftPolicyReport only reports the difference in status; it never writes.
	DriftPolicyReport DriftPolicy = "Report"
)

// DeletionPolicy says what happens in Entra when the resource is deleted.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionPolicyDelete removes the resource's part of the policy from Entra.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyOrphan leaves the policy in Entra as it is.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
)

// DriftEntry is one field where Entra differs from the spec.
type DriftEntry struct {
	// Field is the path of the differing field in the Entra policy, for example
	// "passkeyTypes" or "keyRestrictions.aaGuids".
	Field string `json:"field"`
	// Desired is the value the spec asks for, as Entra would show it.
	// +optional
	Desired string `json:"desired,omitempty"`
	// Observed is the value Entra holds now.
	// +optional
	Observed string `json:"observed,omitempty"`
}

// SyncStatus is the part of the status that all three kinds share.
type SyncStatus struct {
	// ObservedGeneration is the metadata.generation the operator last acted on;
	// -1 until the first reconcile.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions are Ready, Reconciling, Stalled (kstatus) and Drifted.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Drift lists each field where Entra differs from the spec, found by the
	// last check. Empty when Entra matches.
	// +optional
	// +listType=atomic
	Drift []DriftEntry `json:"drift,omitempty"`

	// LastSyncTime is when the operator last compared this resource with Entra
	// successfully.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// LastHandledReconcileAt is the value of the passkeys.entraops.dev/requestedAt
	// annotation that the last reconcile handled.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
}
