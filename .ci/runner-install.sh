#!/usr/bin/env bash
# Installs what pulumi needs on a deploy runner (CodeBuild, Amazon Linux 2023, x86_64): the
# Pulumi CLI, kubectl (pulumi-eks runs it), the policy pack's analyzer (built here and checked). The AWS CLI v2 comes
# with CodeBuild's image. Versions come from .ci/buildspec.yml; every download is checked
# against its published SHA-256.
set -euo pipefail
: "${PULUMI_VERSION:?}" "${KUBECTL_VERSION:?}"

bin=/usr/local/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# kubectl: "Install and Set Up kubectl on Linux" (kubernetes.io/docs/tasks/tools/install-kubectl-linux).
curl -fsSLo "$tmp/kubectl" "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl"
curl -fsSLo "$tmp/kubectl.sha256" "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl.sha256"
echo "$(cat "$tmp/kubectl.sha256")  $tmp/kubectl" | sha256sum --check --strict
install -m 0755 "$tmp/kubectl" "$bin/kubectl"

# Pulumi CLI: the release tarball and its checksum file from the GitHub release.
release="https://github.com/pulumi/pulumi/releases/download/v${PULUMI_VERSION}"
tarball="pulumi-v${PULUMI_VERSION}-linux-x64.tar.gz"
curl -fsSLo "$tmp/$tarball" "$release/$tarball"
curl -fsSLo "$tmp/checksums.txt" "$release/pulumi-${PULUMI_VERSION}-checksums.txt"
(cd "$tmp" && grep " ${tarball}\$" checksums.txt | sha256sum --check --strict)
tar -xzf "$tmp/$tarball" -C "$tmp"
install -m 0755 "$tmp"/pulumi/* "$bin/"

# The policy pack's analyzer, built from this commit (policy/PulumiPolicy.yaml: runtime cinegit),
# then started as the CLI starts it and made to find a known-bad resource's and stack's
# mandatory violations: if it cannot, this install phase fails, and CodeBuild runs no build
# phase, so no pulumi command runs without its policies.
go build -o "$bin/pulumi-analyzer-policy-cinegit" ./policy/analyzer
pulumi-analyzer-policy-cinegit self-check policy

go version
kubectl version --client
aws --version
pulumi version
