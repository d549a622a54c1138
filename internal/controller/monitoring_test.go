package controller_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"
)

// checkMonitoring holds config/monitoring to the code: every alert and
// every dashboard query parses as PromQL and names only metrics the manager
// exports, and each alert tells a person what it is and how urgent.
func checkMonitoring(t *testing.T) {
	families := gather(t, crmetrics.Registry)
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
				if strings.HasPrefix(v.Name, "passkey_operator_") && !exported(families, v.Name) {
					t.Errorf("%s uses %s, which the manager does not export", where, v.Name)
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
