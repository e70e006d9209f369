#!/usr/bin/env bash
# destroy.sh <stack>: the whole destroy of an ephemeral stack, in the order AWS needs, ending
# with proof that nothing of the stack is left. The deploy runner runs it for destroy.yml
# (.ci/runner-pulumi.sh); by hand, with the stack's account's credentials, `pulumi` logged in
# to its backend, kubectl, the AWS CLI and jq. See docs/destroy.md.
#
#   1. scripts/pre-destroy.sh: what the cluster's controllers made in AWS (load balancers,
#      target groups, their security groups, claims' volumes, ExternalDNS records), deleted
#      while the controllers run;
#   2. the database's deletion protection is lifted, if the instance has it (staging's guard
#      against accidents outside this path; RDS refuses DeleteDBInstance while it is on:
#      "Deleting a DB instance", RDS User Guide); its final snapshot is still taken;
#   3. `pulumi destroy --target <the cluster> --target-dependents`: the cluster, its node
#      groups and everything that depends on them (a targeted component includes its
#      children, and --target-dependents every transitive dependent: pulumi/pulumi#7605,
#      #8360);
#   4. GuardDuty's runtime monitoring endpoint (com.amazonaws.<region>.guardduty-data) and its
#      GuardDutyManagedSecurityGroup-<vpc>, which GuardDuty adds to a monitored cluster's VPC
#      outside the state ("How Runtime Monitoring works with Amazon EKS clusters", GuardDuty
#      User Guide) and which keep the VPC from being deleted (hashicorp/terraform-provider-aws
#      #46747); with the cluster gone, GuardDuty does not add them back;
#   5. `pulumi destroy` of everything else; the VPC Lambda's network interfaces take 20-45
#      minutes to be released, which the provider waits for ("Lambda Hyperplane ENIs");
#   6. scripts/post-destroy.sh: log groups AWS services created again, secrets still holding
#      their names, and the scan by the stack's tags, which fails if anything is left.
# DESTROY_MESSAGE is the updates' message. Safe to run again after a failure.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <stack>" >&2; exit 2; }
[ "$#" -eq 1 ] || usage
stack=$1
cd "$(dirname "$0")/.."
if ! [[ "$stack" =~ ^[a-z][a-z0-9]{0,11}$ ]] || [ ! -f "Pulumi.${stack}.yaml" ]; then
  echo "destroy: unknown stack '${stack}'" >&2
  exit 2
fi
# A stack that protects its resources (prod) is never destroyed this way.
if grep -Eq '^  cinegit:protect: *true' "Pulumi.${stack}.yaml"; then
  echo "destroy: ${stack} protects its resources (cinegit:protect): not destroyed" >&2
  exit 2
fi
require destroy pulumi kubectl aws jq
log() { printf 'destroy [%s]: %s\n' "$stack" "$*" >&2; }
message=(--message "${DESTROY_MESSAGE:-destroy of $stack}")
region=$(pulumi config get --stack "$stack" aws:region)

state=$(pulumi stack export --stack "$stack")
cluster_urn=$(jq -r '(.deployment.resources // [])[] | select(.type == "cinegit:cluster:Cluster") | .urn' <<<"$state")
vpc=$(pulumi stack output --stack "$stack" vpcId 2>/dev/null || true)

# 1. The cluster's controllers clean up after themselves while they still run.
if [ -n "$cluster_urn" ]; then
  bash scripts/pre-destroy.sh "$stack"
fi

# 2. The database's own deletion protection.
db=$(pulumi stack output --stack "$stack" databaseEndpoint 2>/dev/null | cut -d. -f1 || true)
if [ -n "$db" ] && [ "$(aws rds describe-db-instances --region "$region" --db-instance-identifier "$db" \
  --query 'DBInstances[0].DeletionProtection' --output text 2>/dev/null || true)" = True ]; then
  log "lifting the deletion protection of $db"
  aws rds modify-db-instance --region "$region" --db-instance-identifier "$db" --no-deletion-protection --apply-immediately >/dev/null
  aws rds wait db-instance-available --region "$region" --db-instance-identifier "$db"
fi

# 3. The cluster and everything that depends on it.
if [ -n "$cluster_urn" ]; then
  log "destroying the cluster and its dependents"
  pulumi destroy --stack "$stack" --target "$cluster_urn" --target-dependents --non-interactive --yes "${message[@]}"
fi

# 4. GuardDuty's endpoint and security group in the stack's VPC.
if [ -n "$vpc" ]; then
  endpoints=$(aws ec2 describe-vpc-endpoints --region "$region" \
    --filters "Name=vpc-id,Values=$vpc" "Name=service-name,Values=com.amazonaws.$region.guardduty-data" \
    --query 'VpcEndpoints[].VpcEndpointId' --output text | tr '\t' ' ')
  if [ -n "$endpoints" ] && [ "$endpoints" != None ]; then
    log "deleting GuardDuty's endpoint(s) $endpoints in $vpc"
    # shellcheck disable=SC2086 # one argument per endpoint ID
    aws ec2 delete-vpc-endpoints --region "$region" --vpc-endpoint-ids $endpoints >/dev/null
    for _ in $(seq 60); do
      # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
      left=$(aws ec2 describe-vpc-endpoints --region "$region" \
        --filters "Name=vpc-id,Values=$vpc" "Name=service-name,Values=com.amazonaws.$region.guardduty-data" \
        --query 'VpcEndpoints[?State!=`deleted`].VpcEndpointId' --output text)
      if [ -z "$left" ] || [ "$left" = None ]; then break; fi
      sleep "${DESTROY_INTERVAL:-10}"
    done
  fi
  groups=$(aws ec2 describe-security-groups --region "$region" \
    --filters "Name=vpc-id,Values=$vpc" "Name=group-name,Values=GuardDutyManagedSecurityGroup-*" \
    --query 'SecurityGroups[].GroupId' --output text)
  for group in $groups; do
    [ "$group" = None ] && continue
    log "deleting GuardDuty's security group $group"
    aws ec2 delete-security-group --region "$region" --group-id "$group"
  done
fi

# 5. Everything else.
log "destroying the rest of the stack"
pulumi destroy --stack "$stack" --non-interactive --yes "${message[@]}"

# 6. What AWS recreated, and proof that nothing is left.
bash scripts/post-destroy.sh "$stack"
