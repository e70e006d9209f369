#!/usr/bin/env bash
# pull-charts.sh <stack|all>: pull every Helm chart the stack (or all three) installs, at the
# version the stack files pin, from the chart's own repository into .charts/<chart>-<version>/
# (gitignored: third-party chart archives are never committed), keep the archive and unpack it
# beside it, and record each chart's repository and the archive's sha256 in .charts/SOURCES.tsv.
# `go test -tags charts -run TestChartsRender .` renders the releases with these charts
# (wholeprogram_charts_test.go; set CINEGIT_CHARTS_REQUIRED=1 to fail rather than skip when one
# is missing). Charts already pulled
# are kept; delete .charts/ to pull afresh.
#
# Needs helm 3 or 4, jq, internet access to the chart repositories, and Go or a built bin/cinegit
# (CINEGIT_BIN). See docs/testing.md, "Charts in tests".
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <dev|staging|prod|all>" >&2; exit 2; }
[ "$#" -eq 1 ] || usage
case $1 in
  dev | staging | prod) stacks=$1 ;;
  all) stacks="dev staging prod" ;;
  *) usage ;;
esac
cd "$(dirname "$0")/.."

require pull-charts helm jq sha256sum
bin=$(cinegit_bin)

work=${CINEGIT_CHARTS:-.charts} # the directory the tests read (CINEGIT_CHARTS, as there)
mkdir -p "$work"
releases=$(for stack in $stacks; do
  "$bin" plan --stack "$stack" --format json |
    jq -r '.resources[] | select(.type == "kubernetes:helm.sh/v3:Release") | [.inputs.chart, .inputs.version, (.inputs.repositoryOpts.repo // "")] | @tsv'
done | sort -u)

while IFS=$'\t' read -r chart version repo; do
  # An OCI chart (oci://registry/path/name) has no repository: Helm pulls the reference.
  name=${chart##*/}
  dir="$work/$name-$version"
  archive="$dir/$name-$version.tgz"
  if [ ! -f "$archive" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    helm_pull "$chart" "$repo" "$version" --destination "$dir" >&2
    tar -xzf "$archive" -C "$dir"
  fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$version" "${repo:-$chart}" "$(sha256sum "$archive" | cut -d' ' -f1)"
done <<<"$releases" >"$work/SOURCES.tsv"
echo "pull-charts: $(wc -l <"$work/SOURCES.tsv") charts in $work (sources and digests in $work/SOURCES.tsv)" >&2
