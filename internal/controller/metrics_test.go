package controller_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/controller"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

const (
	requestsTotal   = "passkey_operator_graph_requests_total"
	requestDuration = "passkey_operator_graph_request_duration_seconds"
	throttledTotal  = "passkey_operator_graph_throttled_total"
	throttleWait    = "passkey_operator_graph_throttle_wait_seconds_total"
	driftedGauge    = "passkey_operator_drifted_resources"
	lastSync        = "passkey_operator_last_successful_sync_timestamp_seconds"
	reconcileErrors = "passkey_operator_reconcile_errors_total"
	resourceDrifted = "passkey_operator_resource_drifted"
	resyncInterval  = "passkey_operator_resync_interval_seconds"
	tenantSuspended = "passkey_operator_tenant_suspended"
	tenantFailing   = "passkey_operator_tenant_failing"
)

// TestObserveGraphCountsEveryAttempt checks the Observer's mapping without
// a cluster: codes as labels, 0 for no response, and only 429 as throttling.
func TestObserveGraphCountsEveryAttempt(t *testing.T) {
	m := controller.NewMetrics()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)

	for _, a := range []entra.Attempt{
		{Tenant: "contoso", Operation: entra.OpGetFido2, StatusCode: 200, Duration: 20 * time.Millisecond},
		{Tenant: "contoso", Operation: entra.OpGetFido2, StatusCode: 429, RetryAfter: 2 * time.Second},
		{Tenant: "contoso", Operation: entra.OpGetFido2, StatusCode: 0, Duration: 30 * time.Second},
		{Tenant: "contoso", Operation: entra.OpPatchFido2, StatusCode: 503, RetryAfter: 5 * time.Second},
	} {
		m.ObserveGraph(a)
	}

	for _, tc := range []struct {
		metric string
		labels map[string]string
		want   float64
	}{
		{requestsTotal, map[string]string{"operation": "GetFido2", "code": "200"}, 1},
		{requestsTotal, map[string]string{"operation": "GetFido2", "code": "429"}, 1},
		{requestsTotal, map[string]string{"operation": "GetFido2", "code": "0"}, 1},
		{requestsTotal, map[string]string{"operation": "PatchFido2", "code": "503"}, 1},
		{requestDuration, map[string]string{"operation": "GetFido2"}, 3},
		{throttledTotal, map[string]string{"operation": "GetFido2"}, 1},
		{throttledTotal, map[string]string{"operation": "PatchFido2"}, 0},
		{throttleWait, nil, 2},
	} {
		labels := map[string]string{"tenant": "contoso"}
		maps.Copy(labels, tc.labels)
		if got, _ := value(t, reg, tc.metric, labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.metric, labels, got, tc.want)
		}
	}
}

// TestMetricsFollowATenant drives one tenant through success, absorbed and
// failing throttling, and drift, reading the metrics from the registry the
// manager's /metrics endpoint serves; then checks docs/metrics.md against
// what is exported, and that deleting the tenant deletes its series. The
// tenant reads its registration report, so that its series exist too.
func TestMetricsFollowATenant(t *testing.T) {
	ctx := context.Background()
	f := newTenantWithRoles(t, append(slices.Clone(emulator.ReadWriteRoles), emulator.RoleAuditLogRead), func(t *passkeysv1alpha1.EntraTenant) {
		t.Spec.Reporting = &passkeysv1alpha1.Reporting{Registration: &passkeysv1alpha1.RegistrationReporting{Enabled: true}}
	})
	tenant := map[string]string{"tenant": f.name}
	with := func(kv ...string) map[string]string {
		labels := maps.Clone(tenant)
		for i := 0; i+1 < len(kv); i += 2 {
			labels[kv[i]] = kv[i+1]
		}
		return labels
	}
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")

	// Creating the profile cost a GET, a PATCH (answered 204) and a read-back.
	waitMetric(t, requestsTotal, with("operation", entra.OpGetFido2, "code", "200"), atLeast(2))
	waitMetric(t, requestsTotal, with("operation", entra.OpPatchFido2, "code", "204"), atLeast(1))
	waitMetric(t, requestDuration, with("operation", entra.OpGetFido2), atLeast(2))
	waitMetric(t, driftedGauge, tenant, equal(0))
	staff := with("kind", "PasskeyProfile", "namespace", f.namespace, "name", "staff")
	waitMetric(t, resourceDrifted, staff, equal(0))
	waitMetric(t, resourceDrifted, with("kind", "EntraTenant", "namespace", "", "name", f.name), equal(0))
	waitMetric(t, resyncInterval, tenant, equal(600)) // the default 10m
	waitMetric(t, tenantSuspended, tenant, equal(0))
	waitMetric(t, lastSync, tenant, func(v float64) bool {
		age := time.Since(time.Unix(0, int64(v*1e9)))
		return age >= -time.Second && age < time.Minute
	})
	// The report of a tenant without users, for all users too.
	allUsers := true
	everyone := f.assignment("everyone", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{AllUsers: &allUsers}, Profiles: []string{"staff"}})
	waitCondition(t, everyone, ready, metav1.ConditionTrue, "Succeeded")
	waitMetric(t, registeredUsers, with("type", "any"), equal(0))
	waitMetric(t, reportUsers, tenant, equal(0))
	waitMetric(t, reportTimestamp, tenant, atLeast(1))
	waitMetric(t, assignmentUsers, with("namespace", f.namespace, "name", "everyone", "type", "none"), equal(0))
	if _, found := value(t, crmetrics.Registry, requestsTotal, map[string]string{"tenant": f.tenantID}); found {
		t.Errorf("series labelled with the tenant ID %s; the label is the EntraTenant's name", f.tenantID)
	}

	// Every second request is throttled: the SDK's retry absorbs each 429,
	// so the passes succeed, yet the metrics show the throttling.
	if err := emu.SetFault(f.tenantID, emulator.Fault{ThrottleEvery: 2, RetryAfterSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	syncedBefore, _ := value(t, crmetrics.Registry, lastSync, tenant)
	for _, request := range []string{"throttle-1", "throttle-2"} {
		forceReconcile(t, f.tenant, request)
	}
	waitMetric(t, requestsTotal, with("operation", entra.OpGetFido2, "code", "429"), atLeast(1))
	waitMetric(t, throttledTotal, with("operation", entra.OpGetFido2), atLeast(1))
	waitMetric(t, throttleWait, tenant, atLeast(1))
	waitMetric(t, lastSync, tenant, func(v float64) bool { return v > syncedBefore })
	if got, _ := value(t, crmetrics.Registry, reconcileErrors, tenant); got != 0 {
		t.Errorf("%v reconcile errors while the SDK absorbed the throttling, want 0", got)
	}

	// Every request is throttled: the SDK gives up and the pass fails.
	if err := emu.SetFault(f.tenantID, emulator.Fault{ThrottleEvery: 1, RetryAfterSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, f.tenant, "throttle-all")
	waitCondition(t, f.tenant, ready, metav1.ConditionFalse, "Throttled")
	waitMetric(t, reconcileErrors, with("reason", "Throttled"), atLeast(1))
	waitMetric(t, tenantFailing, with("reason", "Throttled"), equal(1))
	// Every metric has a series for this tenant now (the failing one only
	// while the failure lasts), so the registry holds every family:
	// compare them with the documentation. (The alerts and the dashboard are
	// checked against the declared metrics in internal/contracttest.)
	t.Run("docs/metrics.md matches what is exported", checkMetricsDoc)
	if err := emu.SetFault(f.tenantID, emulator.Fault{}); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
	eventually(t, "the failing series to go once a pass succeeds", func() (bool, string) {
		_, found := value(t, crmetrics.Registry, tenantFailing, tenant)
		return !found, "still there"
	})

	// A portal edit under Report is drift left in place: one drifted resource.
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(profile), profile); err != nil {
		t.Fatal(err)
	}
	profile.Spec.DriftPolicy = passkeysv1alpha1.DriftPolicyReport
	if err := env.Client.Update(ctx, profile); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")
	portalEditProfile(t, f, "staff", func(p *emulator.PasskeyProfile) { p.PasskeyTypes = "deviceBound" })
	requestReconcile(t, f.tenant, "after-portal-edit")
	waitCondition(t, profile, drifted, metav1.ConditionTrue, "DriftDetected")
	waitMetric(t, driftedGauge, tenant, equal(1))
	waitMetric(t, resourceDrifted, staff, equal(1))

	// A deleted resource's series goes; the others stay.
	extra := f.profile("extra", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: boundTyp})
	waitCondition(t, extra, ready, metav1.ConditionTrue, "Succeeded")
	extraLabels := with("kind", "PasskeyProfile", "namespace", f.namespace, "name", "extra")
	waitMetric(t, resourceDrifted, extraLabels, equal(0))
	if err := env.Client.Delete(ctx, extra); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted profile's drift series to go", func() (bool, string) {
		_, found := value(t, crmetrics.Registry, resourceDrifted, extraLabels)
		return !found, "still there"
	})
	waitMetric(t, resourceDrifted, staff, equal(1))

	// Suspension shows, so that alerts can leave suspended tenants alone.
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(f.tenant), f.tenant); err != nil {
		t.Fatal(err)
	}
	f.tenant.Spec.Suspend = true
	if err := env.Client.Update(ctx, f.tenant); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, tenantSuspended, tenant, equal(1))

	if err := env.Client.Delete(ctx, f.tenant); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted tenant's series to go", func() (bool, string) {
		var left []string
		for name, family := range gather(t, crmetrics.Registry) {
			for _, m := range family.GetMetric() {
				if labelsOf(m)["tenant"] == f.name {
					left = append(left, name)
					break
				}
			}
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
}

// checkMetricsDoc holds docs/metrics.md to the code: each table row names
// an exported metric with its type and labels, every exported metric has a
// row, and every metric name the page mentions (PromQL included) exists.
func checkMetricsDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	families := gather(t, crmetrics.Registry)

	row := regexp.MustCompile("(?m)^\\| `(passkey_operator_[a-z0-9_]+)` \\| ([a-z]+) \\|([^|]*)\\|")
	documented := map[string]bool{}
	for _, match := range row.FindAllStringSubmatch(string(doc), -1) {
		name, kind, labelCell := match[1], match[2], match[3]
		documented[name] = true
		family, ok := families[name]
		if !ok {
			t.Errorf("docs/metrics.md documents %s, which is not exported", name)
			continue
		}
		if got := strings.ToLower(family.GetType().String()); got != kind {
			t.Errorf("docs/metrics.md says %s is a %s; it is a %s", name, kind, got)
		}
		var want []string
		for _, l := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(labelCell, -1) {
			want = append(want, l[1])
		}
		slices.Sort(want)
		got := slices.Sorted(maps.Keys(labelsOf(family.GetMetric()[0])))
		if !slices.Equal(got, want) {
			t.Errorf("docs/metrics.md gives %s the labels %v; it has %v", name, want, got)
		}
	}
	if len(documented) == 0 {
		t.Fatal("found no metrics table in docs/metrics.md")
	}
	for name := range families {
		if !documented[name] {
			t.Errorf("%s is exported but has no row in docs/metrics.md", name)
		}
	}
	for _, name := range regexp.MustCompile(`passkey_operator_[a-z0-9_]+`).FindAllString(string(doc), -1) {
		if !exported(families, name) {
			t.Errorf("docs/metrics.md mentions %s, which is not exported", name)
		}
	}
}

// exported says whether name is a family, or one of a histogram's series.
func exported(families map[string]*dto.MetricFamily, name string) bool {
	if _, ok := families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if family, found := families[base]; ok && found && family.GetType() == dto.MetricType_HISTOGRAM {
			return true
		}
	}
	return false
}

// gather returns the operator's own metric families, by name.
func gather(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, family := range families {
		if strings.HasPrefix(family.GetName(), "passkey_operator_") {
			out[family.GetName()] = family
		}
	}
	return out
}

// value sums the series of a metric that carry all of labels: a counter's
// or gauge's value, a histogram's count of observations. found is false
// when no series matched.
func value(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) (sum float64, found bool) {
	t.Helper()
	family, ok := gather(t, g)[name]
	if !ok {
		return 0, false
	}
	for _, m := range family.GetMetric() {
		have := labelsOf(m)
		if !matches(have, labels) {
			continue
		}
		found = true
		switch family.GetType() {
		case dto.MetricType_COUNTER:
			sum += m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			sum += m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			sum += float64(m.GetHistogram().GetSampleCount())
		default:
			t.Fatalf("%s: unexpected metric type %s", name, family.GetType())
		}
	}
	return sum, found
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// waitMetric waits until the metric's matching series exist and their sum
// satisfies ok: the reconciler records a pass just after writing statuses,
// so a test that saw the status may look a moment too early.
func waitMetric(t *testing.T, name string, labels map[string]string, ok func(float64) bool) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s%v", name, labels), func() (bool, string) {
		v, found := value(t, crmetrics.Registry, name, labels)
		if !found {
			return false, "no such series"
		}
		return ok(v), fmt.Sprint(v)
	})
}

func atLeast(n float64) func(float64) bool { return func(v float64) bool { return v >= n } }
func equal(n float64) func(float64) bool   { return func(v float64) bool { return v == n } }

// forceReconcile requests a pass and waits until the tenant has handled it.
func forceReconcile(t *testing.T, tenant *passkeysv1alpha1.EntraTenant, request string) {
	t.Helper()
	requestReconcile(t, tenant, request)
	eventually(t, "the tenant to handle "+request, func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(tenant), tenant); err != nil {
			return false, err.Error()
		}
		return tenant.Status.LastHandledReconcileAt == request, tenant.Status.LastHandledReconcileAt
	})
}
