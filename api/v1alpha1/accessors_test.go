package v1alpha1_test

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

func TestEffectiveDriftPolicy(t *testing.T) {
	const (
		enforce = passkeysv1alpha1.DriftPolicyEnforce
		report  = passkeysv1alpha1.DriftPolicyReport
	)
	tenant := func(p passkeysv1alpha1.DriftPolicy) *passkeysv1alpha1.EntraTenant {
		return &passkeysv1alpha1.EntraTenant{Spec: passkeysv1alpha1.EntraTenantSpec{DriftPolicy: p}}
	}
	for _, tc := range []struct {
		name   string
		own    passkeysv1alpha1.DriftPolicy
		tenant *passkeysv1alpha1.EntraTenant
		want   passkeysv1alpha1.DriftPolicy
	}{
		{"unset takes the tenant's Report", "", tenant(report), report},
		{"unset takes the tenant's Enforce", "", tenant(enforce), enforce},
		{"its own Enforce beats the tenant's Report", enforce, tenant(report), enforce},
		{"its own Report beats the tenant's Enforce", report, tenant(enforce), report},
		{"unset everywhere enforces, as the CRD default does", "", tenant(""), enforce},
		{"no tenant", "", nil, enforce},
	} {
		t.Run(tc.name, func(t *testing.T) {
			profile := &passkeysv1alpha1.PasskeyProfile{Spec: passkeysv1alpha1.PasskeyProfileSpec{DriftPolicy: tc.own}}
			assignment := &passkeysv1alpha1.GroupAssignment{Spec: passkeysv1alpha1.GroupAssignmentSpec{DriftPolicy: tc.own}}
			for _, o := range []passkeysv1alpha1.TenantObject{profile, assignment} {
				if got := o.EffectiveDriftPolicy(tc.tenant); got != tc.want {
					t.Errorf("%s: %s, want %s", o.ResourceKind(), got, tc.want)
				}
			}
		})
	}
}

func TestResyncInterval(t *testing.T) {
	tenant := &passkeysv1alpha1.EntraTenant{}
	if got := tenant.GetResyncInterval(); got != passkeysv1alpha1.DefaultResyncInterval {
		t.Errorf("unset: %s, want %s", got, passkeysv1alpha1.DefaultResyncInterval)
	}
	tenant.Spec.ResyncInterval = &metav1.Duration{Duration: 90 * time.Second}
	if got := tenant.GetResyncInterval(); got != 90*time.Second {
		t.Errorf("set to 90s: %s", got)
	}
}

func TestRegistrationReportInterval(t *testing.T) {
	hours := func(h time.Duration) *metav1.Duration { return &metav1.Duration{Duration: h * time.Hour} }
	cases := []struct {
		name      string
		reporting *passkeysv1alpha1.Reporting
		want      time.Duration
		wantOn    bool
	}{
		{"no reporting", nil, 0, false},
		{"no registration report", &passkeysv1alpha1.Reporting{}, 0, false},
		{"present but not enabled", &passkeysv1alpha1.Reporting{Registration: &passkeysv1alpha1.RegistrationReporting{Interval: hours(2)}}, 0, false},
		{"enabled, default interval", &passkeysv1alpha1.Reporting{Registration: &passkeysv1alpha1.RegistrationReporting{Enabled: true}},
			passkeysv1alpha1.DefaultRegistrationReportInterval, true},
		{"enabled every 2h", &passkeysv1alpha1.Reporting{Registration: &passkeysv1alpha1.RegistrationReporting{Enabled: true, Interval: hours(2)}},
			2 * time.Hour, true},
	}
	for _, c := range cases {
		tenant := &passkeysv1alpha1.EntraTenant{Spec: passkeysv1alpha1.EntraTenantSpec{Reporting: c.reporting}}
		got, on := tenant.RegistrationReportInterval()
		if got != c.want || on != c.wantOn {
			t.Errorf("%s: %s, %v; want %s, %v", c.name, got, on, c.want, c.wantOn)
		}
	}
}

// The accessors reach each kind's own status, so writes through them land.
func TestAccessorsWriteTheObjectsStatus(t *testing.T) {
	objects := []passkeysv1alpha1.Object{&passkeysv1alpha1.EntraTenant{}, &passkeysv1alpha1.PasskeyProfile{}, &passkeysv1alpha1.GroupAssignment{}}
	for _, o := range objects {
		o.SetConditions([]metav1.Condition{{Type: passkeysv1alpha1.ConditionReady}})
		o.SyncStatus().LastHandledReconcileAt = "now"
		if len(o.GetConditions()) != 1 || o.SyncStatus().Conditions[0].Type != passkeysv1alpha1.ConditionReady {
			t.Errorf("%s: conditions %v", o.ResourceKind(), o.GetConditions())
		}
		before := o.StatusValue()
		o.SyncStatus().LastHandledReconcileAt = "later"
		if reflect.DeepEqual(before, o.StatusValue()) {
			t.Errorf("%s: StatusValue is not a copy, or does not see the write", o.ResourceKind())
		}
	}
}
