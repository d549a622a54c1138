package controller

import (
	"strconv"

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
	lastSync        *prometheus.GaugeVec
	reconcileErrors *prometheus.CounterVec
}

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
		lastSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "passkey_operator_last_successful_sync_timestamp_seconds",
			Help: "Unix time of the tenant's last pass that read the policy from Graph and wrote what it had to.",
		}, []string{"tenant"}),
		reconcileErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkey_operator_reconcile_errors_total",
			Help: "Tenant passes that failed, by the reason their Ready condition shows.",
		}, []string{"tenant", "reason"}),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.graphRequests, m.graphDuration, m.graphThrottled, m.throttleWait, m.drifted, m.lastSync, m.reconcileErrors}
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
	// Counted from the conditions, so the gauge agrees with the Drifted
	// column of kubectl get, whatever the pass did.
	drifted := 0
	for _, obj := range append(p.res.objects(), p.tenant) {
		if meta.IsStatusConditionTrue(statusOf(obj).Conditions, passkeysv1alpha1.ConditionDrifted) {
			drifted++
		}
	}
	m.drifted.WithLabelValues(tenant).Set(float64(drifted))

	switch {
	case p.suspended:
		// Neither a success nor an error: nothing was tried.
	case p.err != nil:
		m.reconcileErrors.WithLabelValues(tenant, classify(p.err).reason).Inc()
	default:
		m.lastSync.WithLabelValues(tenant).Set(float64(p.r.now().UnixNano()) / 1e9)
	}
}

// forgetTenant deletes a deleted tenant's series, so that tenants coming
// and going do not grow the number of series for ever.
func (m *Metrics) forgetTenant(tenant string) {
	if m == nil {
		return
	}
	only := prometheus.Labels{"tenant": tenant}
	m.graphRequests.DeletePartialMatch(only)
	m.graphDuration.DeletePartialMatch(only)
	m.graphThrottled.DeletePartialMatch(only)
	m.throttleWait.DeletePartialMatch(only)
	m.drifted.DeletePartialMatch(only)
	m.lastSync.DeletePartialMatch(only)
	m.reconcileErrors.DeletePartialMatch(only)
}
