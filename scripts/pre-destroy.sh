#!/usr/bin/env bash
# pre-destroy.sh <stack>: remove what Kubernetes created in AWS behind Pulumi's back, while the
# controllers that made it still run to delete it, so that `pulumi destroy` can delete the VPC.
# scripts/destroy.sh runs it first.
#
# Load balancers, target groups and security groups made by in-cluster controllers (Ingresses
# through the AWS Load Balancer Controller, Services of type LoadBalancer through it or EKS's
# own service controller), the EBS volumes of persistent volume claims, and the DNS records
# ExternalDNS wrote are not in Pulumi's state; the first keep the subnets and the VPC from being
# deleted ("Delete your VPC": its dependencies, Amazon VPC User Guide), the records keep the
# hosted zone from being deleted (HostedZoneNotEmpty, Route 53 DeleteHostedZone), and volumes
# would outlive the stack and bill. The script
#   1. stops Argo CD's application and applicationset controllers, so that auto-sync does not
#      recreate what is deleted next,
#   2. deletes every Ingress and every Service of type LoadBalancer in all namespaces,
#   3. deletes every StatefulSet and PersistentVolumeClaim (the gp3 class reclaims with Delete,
#      so the EBS CSI driver deletes each volume: "Persistent Volumes", Reclaiming, Kubernetes
#      docs),
#   4. deletes Karpenter's NodePools, so that Karpenter, still running on the general group,
#      drains and terminates the instances it launched and deletes its launch templates
#      (its termination finalizers: Karpenter docs, concepts/disruption, "Termination
#      Controller"); the destroy would otherwise delete the controller before them,
#   5. waits until no load balancer, target group or controller-made security group tagged for
#      this cluster (elbv2.k8s.aws/cluster=<cluster>, or kubernetes.io/cluster/<cluster> on load
#      balancers), no instance Karpenter launched for it (karpenter.sh/nodepool and
#      eks:eks-cluster-name=<cluster>), no volume of a claim with the stack's tags, and no record ExternalDNS owns
#      (its TXT registry: "external-dns/owner=<cluster>") in the stack's zone is left, or fails
#      after PRE_DESTROY_TIMEOUT seconds.
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

# 3. Workloads with volumes, then every claim: the CSI driver deletes the volumes (reclaim
#    policy Delete) while it still runs.
kubectl delete statefulset --all-namespaces --all --wait=false
kubectl delete persistentvolumeclaim --all-namespaces --all --wait=false

# 4. Karpenter's pools: deleting a NodePool deletes its NodeClaims, and Karpenter terminates
#    their instances before it releases them. --wait=false: the wait below watches EC2.
kubectl delete nodepools.karpenter.sh --all --wait=false || log "no NodePools (Karpenter not installed?)"

# 5. Wait for AWS. The AWS Load Balancer Controller tags what it creates (load balancers,
#    target groups, its security groups) elbv2.k8s.aws/cluster=<cluster> ("Tags", AWS Load
#    Balancer Controller docs); EKS's in-tree service controller tags its load balancers
#    kubernetes.io/cluster/<cluster>=owned; the EBS CSI driver gives volumes the stack's tags
#    (the add-on's extraVolumeTags) and CSIVolumeName; ExternalDNS keeps a TXT record beside
#    each record it owns, "heritage=external-dns,external-dns/owner=<cluster>" ("TXT
#    registry", ExternalDNS docs), and deletes both within its one-minute interval.
zone=$(pulumi stack output --stack "$stack" dnsZoneId 2>/dev/null || true)
remaining() {
  {
    aws resourcegroupstaggingapi get-resources --region "$region" \
      --resource-type-filters elasticloadbalancing:loadbalancer elasticloadbalancing:targetgroup ec2:security-group \
      --tag-filters "Key=elbv2.k8s.aws/cluster,Values=$cluster" \
      --query 'ResourceTagMappingList[].ResourceARN' --output text
    aws resourcegroupstaggingapi get-resources --region "$region" \
      --resource-type-filters elasticloadbalancing:loadbalancer \
      --tag-filters "Key=kubernetes.io/cluster/$cluster" \
      --query 'ResourceTagMappingList[].ResourceARN' --output text
    aws ec2 describe-instances --region "$region" \
      --filters "Name=tag:eks:eks-cluster-name,Values=$cluster" "Name=tag-key,Values=karpenter.sh/nodepool" \
        "Name=instance-state-name,Values=pending,running,stopping,stopped,shutting-down" \
      --query 'Reservations[].Instances[].InstanceId' --output text
    aws ec2 describe-volumes --region "$region" \
      --filters "Name=tag:environment,Values=$stack" "Name=tag:project,Values=cinegit" "Name=tag-key,Values=CSIVolumeName" \
      --query 'Volumes[].VolumeId' --output text
    if [ -n "$zone" ]; then
      aws route53 list-resource-record-sets --hosted-zone-id "$zone" --output json \
        | jq -r --arg owner "external-dns/owner=$cluster" \
          '.ResourceRecordSets[] | select(.Type == "TXT") | select(any(.ResourceRecords[]?; .Value | contains($owner))) | "record \(.Name)"'
    fi
  } | tr '\t' '\n' | grep -v '^None$' | grep -v '^$' | sort -u || true
}
deadline=$((SECONDS + timeout))
while :; do
  left=$(remaining)
  if [ -z "$left" ]; then
    log "nothing the cluster's controllers made is left: the stack can be destroyed"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "still present after ${timeout}s:"
    printf '  %s\n' "$left" >&2
    log "check the controllers' logs and the objects' finalizers; do not destroy yet"
    exit 1
  fi
  log "waiting for $(printf '%s\n' "$left" | wc -l | tr -d ' ') resource(s) to be deleted"
  sleep "$interval"
done
