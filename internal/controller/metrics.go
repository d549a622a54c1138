package controller

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// Metrics are the operator's own Prometheus metrics, next to the ones
// controller-runtime exports for every controller: what each tenant costs
// in Graph requests and throttling, and whether it is in sync. Every series
// carries a tenant label, the EntraTenant's name. docs/metrics.md describes
// them; a test keeps the two in step.
//
// Metrics is a prometheus.Collector: register it once, with
// sigs.k8s.io/controller-runtime/pkg/metrics.Registry to serve it on the
// manager's /metrics endpoint. A nil *Metrics records nothing.
type Metrics struct {
	graphRequests   *prometheus.CounterVec
	graphDuration   *prometheus.HistogramVec
	graphThrottled  *prometheus.CounterVec
	throttleWait    *prometheus.CounterVec
	drifted         *prometheus.GaugeVec
	resourceDrifted *prometheus.GaugeVec
	lastSync        *prometheus.GaugeVec
	resyncInterval  *prometheus.GaugeVec
	suspended       *prometheus.GaugeVec
	failing         *prometheus.GaugeVec
	reconcileErrors *prometheus.CounterVec
	// The registration report, as the statuses show it.
	registeredUsers      *prometheus.GaugeVec
	reportUsers          *prometheus.GaugeVec
	reportTime           *prometheus.GaugeVec
	assignmentRegistered *prometheus.GaugeVec

	mu sync.Mutex
	// resources are the resource label sets each tenant's last pass set in
	// resourceDrifted, so the next pass can delete the series of resources
	// that are gone without blanking the others (an alert's "for" would
	// start over).
	resources map[string]map[resourceLabels]bool
}

type resourceLabels struct{ kind, namespace, name string }

// NewMetrics makes the metrics, unregistered.
func NewMetrics() *Metrics {
	return &Metrics{
		graphRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkey_operator_graph_requests_total",
			Help: "Graph HTTP requests, SDK retries included, by tenant, operation and response status code (0: no response).",
		}, []string{"tenant", "operation", "code"}),
		graphDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "passkey_operator_graph_request_duration_seconds",
			Help:    "Time until Graph's response headers arrived (or the request failed), per attempt.",
			Buckets: prometheus.DefBuckets,
		}, []string{"tenant", "operation"}),
		graphThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkey_operator_graph_throttled_total",
			Help: "Graph requests answered 429 Too Many Requests.",
		}, []string{"tenant", "operation"}),
		throttleWait: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkey_operator_graph_throttle_wait_seconds_total",
			Help: "Sum of the Retry-After delays Graph asked for in 429 responses.",
		}, []string{"tenant"}),
		drifted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_drifted_resources",
			Help: "EntraTenant, PasskeyProfiles and GroupAssignments of the tenant whose Drifted condition is True after the last pass.",
		}, []string{"tenant"}),
		resourceDrifted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_resource_drifted",
			Help: "1 while the resource's Drifted condition is True, else 0; one series per EntraTenant, PasskeyProfile and GroupAssignment.",
		}, []string{"tenant", "kind", "namespace", "name"}),
		resyncInterval: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_resync_interval_seconds",
			Help: "The tenant's spec.resyncInterval: how often it is compared with Entra when nothing changes.",
		}, []string{"tenant"}),
		suspended: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_tenant_suspended",
			Help: "1 while the EntraTenant has spec.suspend true, else 0.",
		}, []string{"tenant"}),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_tenant_failing",
			Help: "1 while the tenant's last pass failed, labelled with the reason its Ready condition shows; absent once a pass succeeds.",
		}, []string{"tenant", "reason"}),
		lastSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_last_successful_sync_timestamp_seconds",
			Help: "Unix time of the tenant's last pass that read the policy from Graph and wrote what it had to.",
		}, []string{"tenant"}),
		reconcileErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkey_operator_reconcile_errors_total",
			Help: "Tenant passes that failed, by the reason their Ready condition shows.",
		}, []string{"tenant", "reason"}),
		registeredUsers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_passkey_registered_users",
			Help: "Users of the tenant who registered a passkey, by type: deviceBound, synced, any (either), none; from the last registration report read.",
		}, []string{"tenant", "type"}),
		reportUsers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_registration_report_users",
			Help: "Users the tenant's last registration report read lists.",
		}, []string{"tenant"}),
		reportTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_registration_report_timestamp_seconds",
			Help: "Unix time of the tenant's last successful registration report read.",
		}, []string{"tenant"}),
		assignmentRegistered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_assignment_passkey_registered_users",
			Help: "Members of a GroupAssignment's group (nested groups included; all users for allUsers) who registered a passkey, by type: deviceBound, synced, any, none.",
		}, []string{"tenant", "namespace", "name", "type"}),
		resources: map[string]map[resourceLabels]bool{},
	}
}

// metricVec is what every metric here is: a vector with a tenant label.
type metricVec interface {
	prometheus.Collector
	DeletePartialMatch(labels prometheus.Labels) int
}

func (m *Metrics) collectors() []metricVec {
	return []metricVec{
		m.graphRequests, m.graphDuration, m.graphThrottled, m.throttleWait, m.drifted, m.resourceDrifted,
		m.lastSync, m.resyncInterval, m.suspended, m.failing, m.reconcileErrors,
		m.registeredUsers, m.reportUsers, m.reportTime, m.assignmentRegistered,
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

// ObserveGraph counts one Graph attempt. It is an entra.Observer: pass it
// in entra.ClientOptions so that it sees the SDK's retries too.
func (m *Metrics) ObserveGraph(a entra.Attempt) {
	if m == nil {
		return
	}
	m.graphRequests.WithLabelValues(a.Tenant, a.Operation, strconv.Itoa(a.StatusCode)).Inc()
	m.graphDuration.WithLabelValues(a.Tenant, a.Operation).Observe(a.Duration.Seconds())
	// Only 429 is throttling. A 503 may carry Retry-After too, but it means
	// Graph is unwell, not that we asked too much; it shows in code="503".
	if a.StatusCode == 429 {
		m.graphThrottled.WithLabelValues(a.Tenant, a.Operation).Inc()
		m.throttleWait.WithLabelValues(a.Tenant).Add(a.RetryAfter.Seconds())
	}
}

// recordPass records how a pass ended, once its statuses are decided.
func (m *Metrics) recordPass(p *pass) {
	if m == nil {
		return
	}
	tenant := p.tenant.Name
	objects := []passkeysv1alpha1.Object{p.tenant}
	for _, o := range p.res.objects() {
		objects = append(objects, o)
	}
	m.recordDrift(tenant, objects)
	m.recordRegistration(p.tenant, p.res.assignments)
	m.resyncInterval.WithLabelValues(tenant).Set(p.tenant.GetResyncInterval().Seconds())
	m.suspended.WithLabelValues(tenant).Set(boolValue(p.suspended))

	// One failing reason at a time, the one Ready shows now; none after a
	// success, or while suspended (neither a success nor an error: nothing
	// was tried).
	m.failing.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
	switch {
	case p.suspended:
	case p.err != nil:
		reason := classify(p.err).reason
		m.reconcileErrors.WithLabelValues(tenant, reason).Inc()
		m.failing.WithLabelValues(tenant, reason).Set(1)
	default:
		m.lastSync.WithLabelValues(tenant).Set(float64(p.r.now().UnixNano()) / 1e9)
	}
}

// recordDrift sets the tenant's drift gauges from the resources'
// conditions, so they agree with the Drifted column of kubectl get whatever
// the pass did, and drops the series of resources that are gone.
func (m *Metrics) recordDrift(tenant string, objects []passkeysv1alpha1.Object) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[resourceLabels]bool{}
	total := 0
	for _, obj := range objects {
		drifted := meta.IsStatusConditionTrue(obj.GetConditions(), passkeysv1alpha1.ConditionDrifted)
		key := resourceLabels{kind: obj.ResourceKind(), namespace: obj.GetNamespace(), name: obj.GetName()}
		seen[key] = true
		m.resourceDrifted.WithLabelValues(tenant, key.kind, key.namespace, key.name).Set(boolValue(drifted))
		if drifted {
			total++
		}
	}
	for key := range m.resources[tenant] {
		if !seen[key] {
			m.resourceDrifted.DeleteLabelValues(tenant, key.kind, key.namespace, key.name)
			if key.kind == passkeysv1alpha1.GroupAssignmentKind {
				setRegistrationCounts(m.assignmentRegistered, nil, tenant, key.namespace, key.name)
			}
		}
	}
	m.resources[tenant] = seen
	m.drifted.WithLabelValues(tenant).Set(float64(total))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// recordRegistration sets the registration gauges from the statuses the
// pass wrote, so they agree with what kubectl shows: they appear with the
// first report read (or, after a restart, with the first pass), and go when
// the status loses its counts, as when reporting is turned off. It runs on
// every pass, mostly with reporting off: each series is set or deleted by
// its labels, never found by scanning the vector.
func (m *Metrics) recordRegistration(tenant *passkeysv1alpha1.EntraTenant, assignments []*passkeysv1alpha1.GroupAssignment) {
	c := tenant.Status.Registration
	setRegistrationCounts(m.registeredUsers, c, tenant.Name)
	if c != nil {
		m.reportUsers.WithLabelValues(tenant.Name).Set(float64(c.Users))
		m.reportTime.WithLabelValues(tenant.Name).Set(float64(c.ReadTime.Unix()))
	} else {
		m.reportUsers.DeleteLabelValues(tenant.Name)
		m.reportTime.DeleteLabelValues(tenant.Name)
	}
	for _, a := range assignments {
		setRegistrationCounts(m.assignmentRegistered, a.Status.Registration, tenant.Name, a.Namespace, a.Name)
	}
}

// registrationTypes are the values of the type label.
var registrationTypes = [...]string{"deviceBound", "synced", "any", "none"}

// setRegistrationCounts sets the series of labels, one per type of passkey,
// to c's counts, or deletes them when c is nil.
func setRegistrationCounts(vec *prometheus.GaugeVec, c *passkeysv1alpha1.RegistrationCounts, labels ...string) {
	withType := func(typ string) []string { return append(labels[:len(labels):len(labels)], typ) }
	if c == nil {
		for _, typ := range registrationTypes {
			vec.DeleteLabelValues(withType(typ)...)
		}
		return
	}
	counts := [...]int32{c.DeviceBound, c.Synced, c.AnyPasskey, c.None}
	for i, typ := range registrationTypes {
		vec.WithLabelValues(withType(typ)...).Set(float64(counts[i]))
	}
}

// forgetTenant deletes a deleted tenant's series, so that tenants coming
// and going do not grow the number of series for ever.
func (m *Metrics) forgetTenant(tenant string) {
	if m == nil {
		return
	}
	for _, c := range m.collectors() {
		c.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
	}
	m.mu.Lock()
	delete(m.resources, tenant)
	m.mu.Unlock()
}
