#!/usr/bin/env bash
# pre-destroy.sh <stack>: remove what Kubernetes created in AWS behind Pulumi's back, so that
# `pulumi destroy --stack <stack>` can delete the VPC.
#
# Load balancers made by in-cluster controllers (Ingresses through the AWS Load Balancer
# Controller, Services of type LoadBalancer through it or EKS's own service controller) are
# not in Pulumi's state; while they exist, their network interfaces and security groups keep
# the subnets and the VPC from being deleted. The script
#   1. stops Argo CD's application and applicationset controllers, so that auto-sync does not
#      recreate what is deleted next,
#   2. deletes every Ingress and every Service of type LoadBalancer in all namespaces, while the
#      controllers that own their load balancers are still running to delete them,
#   3. waits until no load balancer tagged for this cluster (elbv2.k8s.aws/cluster=<cluster>
#      or kubernetes.io/cluster/<cluster>) is left, or fails after PRE_DESTROY_TIMEOUT seconds.
#
# Needs pulumi (logged in to the stack's backend), kubectl, the AWS CLI and jq, with AWS
# credentials for the stack's account and network access to the cluster's API endpoint.
# Safe to run twice. See docs/destroy.md.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <stack>" >&2; exit 2; }
[ "$#" -eq 1 ] || usage
stack=$1
timeout=${PRE_DESTROY_TIMEOUT:-900}
interval=${PRE_DESTROY_INTERVAL:-15}

require pre-destroy pulumi kubectl aws jq

log() { printf 'pre-destroy [%s]: %s\n' "$stack" "$*" >&2; }

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
export KUBECONFIG="$workdir/kubeconfig"
(umask 077 && pulumi stack output --stack "$stack" --show-secrets kubeconfig > "$KUBECONFIG")
cluster=$(pulumi stack output --stack "$stack" clusterName)
region=$(pulumi config get --stack "$stack" aws:region)
argocd_ns=$(pulumi config get --stack "$stack" gitops 2>/dev/null | jq -r '.namespace // empty' 2>/dev/null || true)
argocd_ns=${argocd_ns:-argocd}
if [ -z "$cluster" ] || [ ! -s "$KUBECONFIG" ]; then
  log "no clusterName or kubeconfig output: is the stack deployed?"
  exit 1
fi
log "cluster $cluster in $region, Argo CD in namespace $argocd_ns"

# 1. Argo CD stops reconciling: no auto-sync or self-heal brings anything back. The chart labels
#    its controllers by component (a StatefulSet and a Deployment in the argo-cd chart).
for component in application-controller applicationset-controller; do
  kubectl --namespace "$argocd_ns" scale statefulset,deployment \
    --selector "app.kubernetes.io/component=$component" --replicas=0 || log "could not scale $component (not installed?)"
done
kubectl --namespace "$argocd_ns" wait pod --for=delete \
  --selector app.kubernetes.io/component=application-controller --timeout=120s || true

# 2. Ingresses and LoadBalancer Services in every namespace. --wait=false: their finalizers are
#    released by the load balancer controllers once the AWS resources are gone, checked below.
kubectl delete ingress --all-namespaces --all --wait=false
kubectl get service --all-namespaces -o json \
  | jq -r '.items[] | select(.spec.type == "LoadBalancer") | "\(.metadata.namespace) \(.metadata.name)"' \
  | while read -r ns name; do
      log "deleting Service $ns/$name (type LoadBalancer)"
      kubectl --namespace "$ns" delete service "$name" --wait=false
    done

# 3. Wait for AWS to have no load balancer of this cluster left. The AWS Load Balancer
#    Controller tags what it creates elbv2.k8s.aws/cluster=<cluster>; EKS's in-tree service
#    controller tags kubernetes.io/cluster/<cluster>=owned.
remaining() {
  {
    aws resourcegroupstaggingapi get-resources --region "$region" \
      --resource-type-filters elasticloadbalancing:loadbalancer \
      --tag-filters "Key=elbv2.k8s.aws/cluster,Values=$cluster" \
      --query 'ResourceTagMappingList[].ResourceARN' --output text
    aws resourcegroupstaggingapi get-resources --region "$region" \
      --resource-type-filters elasticloadbalancing:loadbalancer \
      --tag-filters "Key=kubernetes.io/cluster/$cluster" \
      --query 'ResourceTagMappingList[].ResourceARN' --output text
  } | tr '\t' '\n' | grep -v '^None$' | grep -v '^$' | sort -u || true
}
deadline=$((SECONDS + timeout))
while :; do
  left=$(remaining)
  if [ -z "$left" ]; then
    log "no load balancer of cluster $cluster is left: run pulumi destroy --stack $stack"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "load balancers still present after ${timeout}s:"
    printf '  %s\n' "$left" >&2
    log "check the load balancer controller's logs and the objects' finalizers; do not destroy yet"
    exit 1
  fi
  log "waiting for $(printf '%s\n' "$left" | wc -l | tr -d ' ') load balancer(s) to be deleted"
  sleep "$interval"
done
