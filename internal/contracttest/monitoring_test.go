package contracttest

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/passkey-operator/passkey-operator/internal/controller"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// TestMonitoringReadsDeclaredMetrics holds config/monitoring to the code:
// every alert and every dashboard query parses as PromQL and names only
// metrics the operator declares, and each alert tells a person what it is
// and how urgent.
func TestMonitoringReadsDeclaredMetrics(t *testing.T) {
	declared := declaredSeries(t)
	checkQuery := func(where, expr string) {
		t.Helper()
		parsed, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
		if err != nil {
			t.Errorf("%s: %q is not PromQL: %v", where, expr, err)
			return
		}
		names := 0
		parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
			if v, ok := node.(*parser.VectorSelector); ok {
				names++
				if strings.HasPrefix(v.Name, "passkey_operator_") && !declared[v.Name] {
					t.Errorf("%s uses %s, which the operator does not declare", where, v.Name)
				}
			}
			return nil
		})
		if names == 0 {
			t.Errorf("%s: %q reads no metric", where, expr)
		}
	}

	raw, err := os.ReadFile("../../config/monitoring/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string `json:"kind"`
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert       string            `json:"alert"`
					Expr        string            `json:"expr"`
					For         string            `json:"for"`
					Labels      map[string]string `json:"labels"`
					Annotations map[string]string `json:"annotations"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &rule); err != nil || rule.Kind != "PrometheusRule" {
		t.Fatalf("config/monitoring/prometheusrule.yaml is not a PrometheusRule: %v", err)
	}
	alerts := map[string]bool{}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			checkQuery("alert "+r.Alert, r.Expr)
			if r.For == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s lacks for, a severity label, a summary or a description", r.Alert)
			}
		}
	}
	for _, want := range []string{"PasskeyPolicyDrifted", "PasskeyTenantSyncStale", "PasskeyGraphThrottled", "PasskeyTenantCredentialsFailing"} {
		if !alerts[want] {
			t.Errorf("config/monitoring/prometheusrule.yaml has no alert %s", want)
		}
	}

	raw, err = os.ReadFile("../../config/monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dashboard); err != nil {
		t.Fatalf("config/monitoring/grafana-dashboard.json: %v", err)
	}
	if len(dashboard.Panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}
	for _, p := range dashboard.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			checkQuery("dashboard panel "+p.Title, target.Expr)
		}
	}
}

// declaredSeries returns the series names controller.NewMetrics can export:
// each family's name and, for a histogram, its _bucket, _sum and _count.
func declaredSeries(t *testing.T) map[string]bool {
	t.Helper()
	metrics := controller.NewMetrics()
	descs := make(chan *prometheus.Desc)
	go func() {
		metrics.Describe(descs)
		close(descs)
	}()
	series := map[string]bool{}
	for desc := range descs {
		series[descName(t, desc)] = true
	}

	// A Desc does not say whether it describes a histogram, and a vector
	// gathers as nothing until it has a series. The histograms time Graph
	// calls, so one Graph attempt gives each a series to read the type from;
	// a histogram fed otherwise would have its _bucket, _sum and _count
	// refused here, never wrongly accepted.
	registry := prometheus.NewPedanticRegistry()
	registry.MustRegister(metrics)
	metrics.ObserveGraph(entra.Attempt{Tenant: "contoso", Operation: entra.OpGetFido2, StatusCode: 200})
	families, err := registry.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	for _, family := range families {
		if family.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				series[family.GetName()+suffix] = true
			}
		}
	}
	return series
}

// descName reads a Desc's fully-qualified name from its String(), which
// starts with it: client_golang has no getter for it.
func descName(t *testing.T, desc *prometheus.Desc) string {
	t.Helper()
	rest, ok := strings.CutPrefix(desc.String(), "Desc{fqName: ")
	quoted, err := strconv.QuotedPrefix(rest)
	if !ok || err != nil {
		t.Fatalf("no metric name in %s", desc)
	}
	name, err := strconv.Unquote(quoted)
	if err != nil {
		t.Fatal(err)
	}
	return name
}
