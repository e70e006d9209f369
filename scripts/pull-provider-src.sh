#!/usr/bin/env bash
# pull-provider-src.sh <aws|random|kubernetes|all>: fetch the provider sources that say which
# input changes replace a resource, at the versions go.mod pins, into .provider-src/ (gitignored:
# third-party sources are never committed), for TestReplaceRulesFollowTheProviderSchemas
# (wholeprogram_replacerules_test.go; CINEGIT_PROVIDER_SRC_REQUIRED=1 fails rather than skips):
#
#   aws/        pulumi-aws at the SDK's tag: its bridge-metadata.json, and the upstream
#               terraform-provider-aws at the commit its `upstream` submodule pins, with
#               pulumi-aws's patches applied (what the released provider is built from);
#   random/     the same for pulumi-random, whose upstream is the terraform-provider-random
#               module version its provider/go.mod requires (from the Go module proxy);
#   kubernetes/ pulumi-kubernetes' diff.go, provider.go and helm_release.go at the SDK's tag.
#
# Needs git, go and internet access to github.com and the module proxy (ci.yml's `replace-rules`
# job runs it). Each provider is fetched afresh. See docs/testing.md, "Replacement rules".
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <aws|random|kubernetes|all>" >&2; exit 2; }
[ "$#" -eq 1 ] || usage
case $1 in
  aws | random | kubernetes) providers=$1 ;;
  all) providers="aws random kubernetes" ;;
  *) usage ;;
esac
cd "$(dirname "$0")/.."

require pull-provider-src git go
out=${CINEGIT_PROVIDER_SRC:-.provider-src}
github=${CINEGIT_GITHUB:-https://github.com}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# version <module>: the version go.mod requires.
version() { go list -m -f '{{.Version}}' "$1"; }

# fetch <owner/repo> <ref> <dir> [path...]: one commit (a tag or a full commit id), nothing of its
# history, only the paths given (all when none).
fetch() {
  local repo=$1 ref=$2 dir=$3
  shift 3
  rm -rf "$dir"
  git init -q "$dir"
  git -C "$dir" remote add origin "$github/$repo"
  local filter=()
  if [ "$#" -gt 0 ]; then
    git -C "$dir" sparse-checkout set --no-cone "$@"
    filter=(--filter=blob:none) # the checkout then fetches only the blobs of those paths
  fi
  git -C "$dir" fetch -q --depth 1 "${filter[@]}" origin "$ref"
  git -C "$dir" -c advice.detachedHead=false checkout -q FETCH_HEAD
}

# patch <dir> <patches dir>: apply a bridge's patches to its upstream, as its build does.
patch_upstream() {
  local dir=$1 patches=$2
  [ -d "$patches" ] || return 0
  shopt -s nullglob
  local files=("$patches"/*.patch)
  shopt -u nullglob
  [ "${#files[@]}" -gt 0 ] || return 0
  git -C "$dir" -c user.name=pull-provider-src -c user.email=pull-provider-src@localhost am -q --3way "${files[@]}"
}

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$out/SOURCES.tsv"; }

pull_aws() {
  local v bridge sha
  v=$(version github.com/pulumi/pulumi-aws/sdk/v6)
  bridge=$tmp/pulumi-aws
  fetch pulumi/pulumi-aws "refs/tags/$v" "$bridge" /patches/ /provider/cmd/pulumi-resource-aws/bridge-metadata.json
  sha=$(git -C "$bridge" ls-tree HEAD upstream | awk '$2 == "commit" { print $3 }')
  [ -n "$sha" ] || { echo "pull-provider-src: pulumi-aws $v has no upstream submodule" >&2; exit 1; }
  rm -rf "$out/aws" && mkdir -p "$out/aws"
  fetch hashicorp/terraform-provider-aws "$sha" "$out/aws/upstream"
  patch_upstream "$out/aws/upstream" "$bridge/patches"
  cp "$bridge/provider/cmd/pulumi-resource-aws/bridge-metadata.json" "$out/aws/"
  record aws "pulumi/pulumi-aws $v" "hashicorp/terraform-provider-aws $sha (+ pulumi-aws patches)"
}

pull_random() {
  local v bridge mod dir
  v=$(version github.com/pulumi/pulumi-random/sdk/v4)
  bridge=$tmp/pulumi-random
  fetch pulumi/pulumi-random "refs/tags/$v" "$bridge" /patches/ /provider/go.mod /provider/cmd/pulumi-resource-random/bridge-metadata.json
  mod=$(awk '$1 == "github.com/terraform-providers/terraform-provider-random" { print $1 "@" $2 }' "$bridge/provider/go.mod")
  [ -n "$mod" ] || { echo "pull-provider-src: pulumi-random $v requires no terraform-provider-random" >&2; exit 1; }
  dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "pull-provider-src: go mod download $mod failed" >&2; exit 1; }
  rm -rf "$out/random" && mkdir -p "$out/random"
  cp -R "$dir" "$out/random/upstream" && chmod -R u+w "$out/random/upstream"
  if [ -d "$bridge/patches" ]; then
    git -C "$out/random/upstream" init -q && git -C "$out/random/upstream" add -A &&
      git -C "$out/random/upstream" -c user.name=pull-provider-src -c user.email=pull-provider-src@localhost commit -qm base
    patch_upstream "$out/random/upstream" "$bridge/patches"
  fi
  cp "$bridge/provider/cmd/pulumi-resource-random/bridge-metadata.json" "$out/random/"
  record random "pulumi/pulumi-random $v" "$mod"
}

pull_kubernetes() {
  local v src
  v=$(version github.com/pulumi/pulumi-kubernetes/sdk/v4)
  src=$tmp/pulumi-kubernetes
  fetch pulumi/pulumi-kubernetes "refs/tags/$v" "$src" /provider/pkg/provider/diff.go /provider/pkg/provider/provider.go /provider/pkg/provider/helm_release.go
  rm -rf "$out/kubernetes" && mkdir -p "$out/kubernetes"
  cp "$src"/provider/pkg/provider/{diff.go,provider.go,helm_release.go} "$out/kubernetes/"
  record kubernetes "pulumi/pulumi-kubernetes $v" "provider/pkg/provider"
}

for p in $providers; do
  if [ -f "$out/SOURCES.tsv" ]; then
    grep -v "^$p	" "$out/SOURCES.tsv" >"$tmp/sources" || true
    mv "$tmp/sources" "$out/SOURCES.tsv"
  fi
  "pull_$p"
  echo "pull-provider-src: $p into $out/$p"
done
