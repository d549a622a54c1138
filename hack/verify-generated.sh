#!/usr/bin/env bash
# Fails when a generated file differs from what the generators produce now.
# It compares checksums before and after regenerating instead of using
# `git diff`, so it gives the same answer in a dirty work tree as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

generated() {
  find api -name 'zz_generated.*.go'
  # config/rbac appears only once some controller has RBAC markers.
  find config/crd/bases $(ls -d config/rbac 2>/dev/null) -type f -name '*.yaml'
  # The Helm chart's copies of the CRDs and of config/monitoring.
  find charts/passkey-operator/crds charts/passkey-operator/files -type f
  # The CRDs passkeyctl validate embeds.
  find internal/manifests/crds -type f
  # The API reference, rendered from the CRDs; a missing one shows up as new.
  if [[ -f docs/api.md ]]; then echo docs/api.md; fi
}

snapshot() { generated | sort | xargs sha256sum; }

before=$(snapshot)
make --no-print-directory -s generate manifests docs >/dev/null
after=$(snapshot)

if [[ "$before" != "$after" ]]; then
  echo "Generated files were stale and have been regenerated; review and commit them:" >&2
  diff <(echo "$before") <(echo "$after") | grep '^>' | awk '{print "  " $3}' >&2
  exit 1
fi
