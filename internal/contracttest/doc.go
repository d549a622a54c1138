// Package contracttest holds the checks that keep files people and other
// tools read in step with the code, without a control plane:
//
//   - the Argo CD health check (config/argocd/health.lua) against each kind's
//     health_test.yaml and the objects captured from real runs, and the
//     states table and argocd-cm snippet in docs/gitops.md;
//   - README.md's troubleshooting table against every condition reason;
//   - the alerts and dashboard in config/monitoring against the metrics the
//     operator declares.
//
// It holds tests only, and they need nothing started: `go test
// ./internal/contracttest/` runs them alone. The captures themselves come
// from internal/controller's kstatus conformance test, which does need the
// control plane (see internal/testenv).
package contracttest
