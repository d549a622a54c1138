// Package installtest proves the install manifests work: the kustomize
// install (config/default) and the Helm chart (charts/passkey-operator) are
// rendered with the real tools, applied server-side to a real API server (so
// schemas, defaults, field validation and Pod Security admission all have
// their say) and read back.
//
// It holds tests only. They need KUBEBUILDER_ASSETS (the test control plane,
// whose folder also holds kubectl) and, for the chart, HELM: the helm binary
// `make helm` builds. `make test` sets both.
package installtest
