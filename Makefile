# passkey-operator — every command a developer or CI runs.
# `make test` is the whole CI: it builds whatever it needs (tools, the test
# control plane) into bin/, verifies generated files and lint, and runs all tests.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

ROOT := $(abspath .)
BIN := $(ROOT)/bin

# Tool versions come from hack/tools/go.mod, the single place they are pinned.
tool_version = $(shell cd hack/tools && go list -m -f '{{.Version}}' $(1))
CONTROLLER_GEN_VERSION ?= $(call tool_version,sigs.k8s.io/controller-tools)
GOLANGCI_LINT_VERSION ?= $(call tool_version,github.com/golangci/golangci-lint/v2)
CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
GOLANGCI_LINT := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
# Helm has its own module (hack/tools/helm) so its Kubernetes libraries do
# not drag controller-tools' and golangci-lint's along.
HELM_VERSION ?= $(shell cd hack/tools/helm && go list -m -f '{{.Version}}' helm.sh/helm/v3)
HELM := $(BIN)/helm-$(HELM_VERSION)

# The image docker-build tags; not built in CI (no container engine there).
IMG ?= ghcr.io/passkey-operator/passkey-operator:dev

GO_TEST_FLAGS ?= -count=1

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2} /^##@/ {printf "\n%s\n", substr($$0, 5)}' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code for the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs (config/crd/bases) and RBAC (config/rbac) from markers; copy CRDs and monitoring into the chart.
	$(CONTROLLER_GEN) crd rbac:roleName=passkey-operator-manager paths=./... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	rm -f charts/passkey-operator/crds/*.yaml
	cp config/crd/bases/*.yaml charts/passkey-operator/crds/
	rm -f internal/manifests/crds/*.yaml
	cp config/crd/bases/*.yaml internal/manifests/crds/
	cp config/monitoring/prometheusrule.yaml config/monitoring/grafana-dashboard.json config/admission/attestation-with-synced.yaml charts/passkey-operator/files/

.PHONY: docs
docs: manifests ## Generate the API reference (docs/api.md) from the CRDs.
	go run ./hack/apidocs -crds config/crd/bases -out docs/api.md

.PHONY: fmt
fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go' | grep -v '^hack/controlplane/')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint with .golangci.yml.
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

.PHONY: verify
verify: ## Fail when generated files are stale or gofmt, go vet or the linter complain.
	hack/verify-generated.sh
	@unformatted=$$(gofmt -l api cmd internal); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on: $$unformatted (run make fmt)"; exit 1; fi
	$(MAKE) --no-print-directory vet lint

##@ Run locally

# Where run-local and local-up keep their state: kubeconfig, emulator CA,
# logs and the env file scripts source.
LOCAL_DIR ?= .local

.PHONY: local-binaries
local-binaries: envtest
	go build -o $(BIN)/manager ./cmd/manager
	go build -o $(BIN)/entra-emulator ./cmd/entra-emulator
	go build -o $(BIN)/localenv ./hack/localenv
	go build -o $(BIN)/passkeyctl ./cmd/passkeyctl
	ln -sf "$$(hack/controlplane.sh path)/kubectl" $(BIN)/kubectl

.PHONY: run-local
run-local: local-binaries ## Run control plane, emulator and operator here with config/samples applied; Ctrl-C stops all.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh path)" $(BIN)/localenv run --dir $(LOCAL_DIR)

.PHONY: local-up
local-up: local-binaries ## Like run-local, in the background; returns once the samples are Ready ($(LOCAL_DIR)/env).
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh path)" $(BIN)/localenv up --dir $(LOCAL_DIR)

.PHONY: local-down
local-down: ## Stop what local-up started.
	go build -o $(BIN)/localenv ./hack/localenv
	$(BIN)/localenv down --dir $(LOCAL_DIR)

##@ Test

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kubectl from the Go module proxy into bin/ (cached).
	@hack/controlplane.sh build

.PHONY: envtest-path
envtest-path: ## Print the folder holding the test control plane (the value for KUBEBUILDER_ASSETS).
	@hack/controlplane.sh path

.PHONY: test
test: verify envtest $(HELM) ## Verify, then run every test against the real control plane.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh path)" HELM="$(HELM)" go test $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: envtest ## Run the benchmarks (Graph-call budget, apply→Ready, GET→PATCH window, throttled neighbour, memory and sweep up to 1,000 tenants; about 40 minutes). Figures: docs/performance.md.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh path)" go test -run '^$$' -bench . -benchtime 5x -timeout 90m ./internal/controller/ ./hack/localenv/

# The fault soak's knobs: SOAK_SEED=N replays a run (0 draws a seed and
# prints it); SOAK_DURATION is the chaos, setup and convergence add about
# three minutes.
SOAK_SEED ?= 0
SOAK_TENANTS ?= 50
SOAK_DURATION ?= 7m
SOAK_REPORT ?= $(LOCAL_DIR)/soak-report.txt

.PHONY: soak
soak: local-binaries ## Run the fault soak (about 10 minutes; SOAK_SEED=N replays one). See docs/reliability.md.
	mkdir -p $(dir $(SOAK_REPORT))
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh path)" $(BIN)/localenv soak --seed $(SOAK_SEED) \
		--tenants $(SOAK_TENANTS) --duration $(SOAK_DURATION) --report $(SOAK_REPORT)

##@ Tools

$(CONTROLLER_GEN):
	cd hack/tools && go build -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen

$(GOLANGCI_LINT):
	cd hack/tools && go build -o $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

# The -X flags are the ones helm's own Makefile sets: without them `helm
# version` lacks the patch version and `helm template`/`lint` assume
# Kubernetes 1.20, older than the chart's kubeVersion allows.
HELM_K8S_MINOR = $(word 2,$(subst ., ,$(shell cd hack/tools/helm && go list -m -f '{{.Version}}' k8s.io/client-go)))
$(HELM):
	cd hack/tools/helm && go build -trimpath -ldflags "-s -w \
		-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
		-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR) \
		-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR)" \
		-o $@ helm.sh/helm/v3/cmd/helm

.PHONY: helm
helm: $(HELM) ## Build helm from the Go module proxy into bin/ (the tests use it; print its path with `make -s helm-path`).

.PHONY: helm-path
helm-path: ## Print the path of the helm binary the tests use.
	@echo $(HELM)

##@ Image

.PHONY: docker-build
docker-build: ## Build the manager image (IMG=ghcr.io/passkey-operator/passkey-operator:dev unless set; needs docker, not run in CI).
	docker build -t $(IMG) .
