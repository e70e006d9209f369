#!/usr/bin/env bash
# bump-chart.sh <release> <version>: show what bumping one Helm release's chart to <version>
# changes in the rendered manifests of every stack, before the version is changed in the stack
# files. <release> is the release's Pulumi resource name as `plan` lists it (cluster-karpenter,
# secrets-operator, observability-stack, observability-crds, observability-loki,
# observability-alloy, gitops).
#
# For each stack (dev, staging, prod) the script asks the program itself (the offline plan, as
# JSON) for the release's chart, repository, pinned version, namespace and typed values; pulls
# the pinned and the new chart with `helm pull` into .charts/ (gitignored: chart archives are
# never committed); renders both with `helm template` and the stack's values (CRDs included);
# and prints `diff -u` of the two renderings. Nothing is deployed and no file under version
# control changes. Adopt the version afterwards in Pulumi.<stack>.yaml (and, for
# kube-prometheus-stack, its prometheus-operator-crds line in pkg/observability/crds.go).
#
# Needs helm 3, jq, internet access to the chart repositories, and Go or a built bin/cinegit
# (CINEGIT_BIN). See docs/chart-bump.md.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <release> <version>   (e.g. $0 observability-loki 18.12.0)" >&2; exit 2; }
[ "$#" -eq 2 ] || usage
release=$1
version=$2
[[ $release =~ ^[a-z0-9-]+$ ]] || usage
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "bump-chart: $version is not an exact chart version (major.minor.patch)" >&2; exit 2; }
cd "$(dirname "$0")/.."

require bump-chart helm jq
bin=$(cinegit_bin)

work=.charts
mkdir -p "$work/rendered"

# pull <chart> <repo> <version>: the chart's directory, pulled once ("" repo: an OCI chart).
pull() {
  local name=${1##*/}
  local dir="$work/$name-$3"
  if [ ! -d "$dir/$name" ]; then
    helm_pull "$1" "$2" "$3" --untar --untardir "$dir" >&2
  fi
  echo "$dir/$name"
}

found=0
for stack in dev staging prod; do
  plan="$work/rendered/$stack-plan.json"
  "$bin" plan --stack "$stack" --format json >"$plan"
  rel=$(jq -c --arg r "$release" '[.resources[] | select(.type == "kubernetes:helm.sh/v3:Release" and .name == $r)][0] // empty' "$plan")
  if [ -z "$rel" ]; then
    echo "bump-chart [$stack]: no release $release" >&2
    continue
  fi
  found=1
  chart=$(jq -r '.inputs.chart' <<<"$rel")
  repo=$(jq -r '.inputs.repositoryOpts.repo // ""' <<<"$rel")
  old=$(jq -r '.inputs.version' <<<"$rel")
  name=$(jq -r '.inputs.name' <<<"$rel")
  namespace=$(jq -r '.inputs.namespace' <<<"$rel")
  values="$work/rendered/$stack-$release-values.json"
  jq '.inputs.values' <<<"$rel" >"$values"

  for v in "$old" "$version"; do
    helm template "$name" "$(pull "$chart" "$repo" "$v")" --namespace "$namespace" \
      --values "$values" --include-crds >"$work/rendered/$stack-$release-$v.yaml"
  done
  echo "=== $stack: $chart $old -> $version ($release)"
  diff -u "$work/rendered/$stack-$release-$old.yaml" "$work/rendered/$stack-$release-$version.yaml" || true
done
if [ "$found" = 0 ]; then
  echo "bump-chart: no stack has a release named $release" >&2
  exit 1
fi
