#!/usr/bin/env bash
# Builds the control plane that envtest runs against (kube-apiserver, etcd,
# kubectl) from source through the Go module proxy, since no release binary
# can be downloaded here. The wrapper modules live in hack/controlplane/.
#
#   hack/controlplane.sh build   build into bin/controlplane/<versions>/ unless already there
#   hack/controlplane.sh path    print that folder (for KUBEBUILDER_ASSETS); never builds
#
# The folder name carries both versions, so bumping either builds a new one
# and an old folder is simply left behind (rm -rf bin/controlplane to clean).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$root/hack/controlplane

# modver GOMOD MODULE: the version MODULE is required at in GOMOD (either
# `require M v` or a line of a require block; replace lines are skipped).
modver() {
	awk -v m="$2" '$1 == "require" { $0 = substr($0, 8) } $1 == m && $2 ~ /^v/ { print $2; exit }' "$1"
}

# The API server must be the release that matches the client libraries the
# operator is built with: k8s.io/api v0.X.Y is Kubernetes v1.X.Y.
api=$(modver "$root/go.mod" k8s.io/api)
k8s=v1.${api#v0.}
pinned=$(modver "$src/kubernetes/go.mod" k8s.io/kubernetes)
if [[ $pinned != "$k8s" ]]; then
	echo "controlplane.sh: go.mod has k8s.io/api $api, so hack/controlplane/kubernetes/go.mod" \
		"must require k8s.io/kubernetes $k8s (and its staging replaces at $api), not $pinned" >&2
	exit 1
fi
etcd=$(modver "$src/etcd/go.mod" go.etcd.io/etcd/server/v3)
dir=$root/bin/controlplane/k8s-${k8s#v}-etcd-${etcd#v}

complete() { [[ -x $dir/kube-apiserver && -x $dir/etcd && -x $dir/kubectl ]]; }

build() {
	complete && return
	echo "controlplane.sh: building kube-apiserver, kubectl $k8s and etcd $etcd into ${dir#"$root"/} (several minutes the first time)" >&2
	mkdir -p "$root/bin/controlplane"
	# Build next to the target and rename it into place, so an interrupted
	# build never leaves a folder that looks complete.
	tmp=$(mktemp -d "$root/bin/controlplane/.build.XXXXXX")
	chmod 755 "$tmp" # mktemp makes it 0700
	trap 'rm -rf "$tmp"' EXIT

	# -mod=readonly: the committed go.sum files must be complete, whatever
	# GOFLAGS says. GOWORK=off: build each wrapper module on its own.
	# -buildvcs=false: the operator's git state means nothing in these binaries.
	local flags=(-mod=readonly -buildvcs=false -trimpath)
	# Stamp the release version the way upstream's hack/lib/version.sh does;
	# otherwise /version and `kubectl version` say v0.0.0-master.
	local x="" pkg minor=${k8s#v1.}
	minor=${minor%%.*}
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		x+=" -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
	done

	export CGO_ENABLED=0 GOWORK=off
	go -C "$src/kubernetes" build "${flags[@]}" -ldflags="-s -w$x" -o "$tmp/" ./kube-apiserver ./kubectl
	go -C "$src/etcd" build "${flags[@]}" -ldflags="-s -w" -o "$tmp/etcd" .

	# Another build may have finished meanwhile; keep its folder then.
	if ! complete; then
		rm -rf "$dir" # a partial folder, e.g. a binary deleted by hand
		mv "$tmp" "$dir"
	fi
	echo "controlplane.sh: done" >&2
}

case ${1:-} in
build) build ;;
path) echo "$dir" ;;
*)
	echo "usage: $0 build|path" >&2
	exit 2
	;;
esac
