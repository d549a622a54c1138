package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The kinds' names, as references and messages spell them.
const (
	EntraTenantKind     = "EntraTenant"
	PasskeyProfileKind  = "PasskeyProfile"
	GroupAssignmentKind = "GroupAssignment"
)

// DefaultResyncInterval is the resync interval of an EntraTenant that sets
// none. The CRD's default for spec.resyncInterval says the same, so an
// object read from the API server always carries it; a test holds the two
// equal.
const DefaultResyncInterval = 10 * time.Minute

// MinResyncInterval is the shortest spec.resyncInterval the CRD admits (its
// CEL rule says the same; a validation test holds the two equal): nothing
// the operator does on its own polls a tenant more often.
const MinResyncInterval = 30 * time.Second

// DefaultRegistrationReportInterval is how often the registration report is
// read when spec.reporting.registration sets no interval; the CRD's default
// says the same. MinRegistrationReportInterval is the shortest the CRD
// admits: the report walks every user of the tenant.
const (
	DefaultRegistrationReportInterval = 6 * time.Hour
	MinRegistrationReportInterval     = time.Hour
)

// Object is what every kind of this API offers the operator, so that code
// handling all three needs no type switch.
// +kubebuilder:object:generate=false
type Object interface {
	metav1.Object
	runtime.Object
	// ResourceKind is the kind's name, such as "PasskeyProfile".
	ResourceKind() string
	// SyncStatus is the part of the status all kinds share, for writing.
	SyncStatus() *SyncStatus
	// StatusValue is a copy of the whole status, for comparing.
	StatusValue() any
	GetConditions() []metav1.Condition
	SetConditions(conditions []metav1.Condition)
	// IsSuspended says whether spec.suspend is set.
	IsSuspended() bool
}

// TenantObject is a kind that writes into one EntraTenant's policy:
// PasskeyProfile and GroupAssignment.
// +kubebuilder:object:generate=false
type TenantObject interface {
	Object
	GetTenantRef() string
	// EffectiveDriftPolicy is the object's own driftPolicy, or the tenant's
	// when it sets none.
	EffectiveDriftPolicy(tenant *EntraTenant) DriftPolicy
	GetDeletionPolicy() DeletionPolicy
}

var (
	_ Object       = &EntraTenant{}
	_ TenantObject = &PasskeyProfile{}
	_ TenantObject = &GroupAssignment{}
)

// ResourceKind is "EntraTenant".
func (in *EntraTenant) ResourceKind() string { return EntraTenantKind }

// SyncStatus returns the status for writing.
func (in *EntraTenant) SyncStatus() *SyncStatus { return &in.Status.SyncStatus }

// StatusValue returns a copy of the status.
func (in *EntraTenant) StatusValue() any { return *in.Status.DeepCopy() }

// GetConditions returns status.conditions.
func (in *EntraTenant) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces status.conditions.
func (in *EntraTenant) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// IsSuspended says whether spec.suspend is set.
func (in *EntraTenant) IsSuspended() bool { return in.Spec.Suspend }

// GetDriftPolicy is the tenant's driftPolicy: its resources' default, and
// its own for the method-wide settings.
func (in *EntraTenant) GetDriftPolicy() DriftPolicy { return in.Spec.DriftPolicy }

// GetResyncInterval is spec.resyncInterval, DefaultResyncInterval when unset.
func (in *EntraTenant) GetResyncInterval() time.Duration {
	if in.Spec.ResyncInterval == nil {
		return DefaultResyncInterval
	}
	return in.Spec.ResyncInterval.Duration
}

// RegistrationReportInterval is how often the registration report is read,
// and false when spec.reporting.registration is not enabled.
func (in *EntraTenant) RegistrationReportInterval() (time.Duration, bool) {
	r := in.Spec.Reporting
	if r == nil || r.Registration == nil || !r.Registration.Enabled {
		return 0, false
	}
	if r.Registration.Interval == nil {
		return DefaultRegistrationReportInterval, true
	}
	return r.Registration.Interval.Duration, true
}

// ResourceKind is "PasskeyProfile".
func (in *PasskeyProfile) ResourceKind() string { return PasskeyProfileKind }

// SyncStatus returns the shared part of the status for writing.
func (in *PasskeyProfile) SyncStatus() *SyncStatus { return &in.Status.SyncStatus }

// StatusValue returns a copy of the status.
func (in *PasskeyProfile) StatusValue() any { return *in.Status.DeepCopy() }

// GetConditions returns status.conditions.
func (in *PasskeyProfile) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces status.conditions.
func (in *PasskeyProfile) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// IsSuspended says whether spec.suspend is set.
func (in *PasskeyProfile) IsSuspended() bool { return in.Spec.Suspend }

// GetTenantRef is spec.tenantRef.
func (in *PasskeyProfile) GetTenantRef() string { return in.Spec.TenantRef }

// EffectiveDriftPolicy is spec.driftPolicy, or the tenant's when unset.
func (in *PasskeyProfile) EffectiveDriftPolicy(tenant *EntraTenant) DriftPolicy {
	return effectiveDriftPolicy(in.Spec.DriftPolicy, tenant)
}

// GetDeletionPolicy is spec.deletionPolicy.
func (in *PasskeyProfile) GetDeletionPolicy() DeletionPolicy { return in.Spec.DeletionPolicy }

// ResourceKind is "GroupAssignment".
func (in *GroupAssignment) ResourceKind() string { return GroupAssignmentKind }

// SyncStatus returns the shared part of the status for writing.
func (in *GroupAssignment) SyncStatus() *SyncStatus { return &in.Status.SyncStatus }

// StatusValue returns a copy of the status.
func (in *GroupAssignment) StatusValue() any { return *in.Status.DeepCopy() }

// GetConditions returns status.conditions.
func (in *GroupAssignment) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces status.conditions.
func (in *GroupAssignment) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// IsSuspended says whether spec.suspend is set.
func (in *GroupAssignment) IsSuspended() bool { return in.Spec.Suspend }

// GetTenantRef is spec.tenantRef.
func (in *GroupAssignment) GetTenantRef() string { return in.Spec.TenantRef }

// EffectiveDriftPolicy is spec.driftPolicy, or the tenant's when unset.
func (in *GroupAssignment) EffectiveDriftPolicy(tenant *EntraTenant) DriftPolicy {
	return effectiveDriftPolicy(in.Spec.DriftPolicy, tenant)
}

// GetDeletionPolicy is spec.deletionPolicy.
func (in *GroupAssignment) GetDeletionPolicy() DeletionPolicy { return in.Spec.DeletionPolicy }

// effectiveDriftPolicy resolves an object's own driftPolicy against its
// tenant's. Only Report is special: anything else, unset included, enforces,
// as the tenant's CRD default does.
func effectiveDriftPolicy(own DriftPolicy, tenant *EntraTenant) DriftPolicy {
	if own == "" && tenant != nil {
		own = tenant.Spec.DriftPolicy
	}
	if own == DriftPolicyReport {
		return DriftPolicyReport
	}
	return DriftPolicyEnforce
}
