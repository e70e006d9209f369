#!/usr/bin/env bash
# build.sh [outdir]: builds etcd and kube-apiserver from this module (everything from the Go
# module proxy at the versions go.mod pins) into outdir (default: the repository's bin/), for
# the real-server test (`go test -tags apiserver -run TestAPIServer .`). The first build takes
# about 7 minutes on two cores; later ones only relink (Go's build cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../bin}
mkdir -p "$out"
cd "$here"

# The version kube-apiserver reports at /version, as Kubernetes' own build stamps it
# (hack/lib/version.sh sets the same variables); without it the server says v0.0.0-master.
version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=${version#v1.}
minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"

go build -o "$out/etcd" ./etcd
go build -ldflags "$ldflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
echo "build.sh: etcd and kube-apiserver $version in $out" >&2
