#!/usr/bin/env bash
# check-quotas.sh <stack>: before `pulumi up`, compare what the stack needs of every AWS quota
# it can exhaust (`plan --quotas`: Elastic IPs, VPCs, NAT gateways per AZ, interface endpoints,
# EC2 vCPUs, Lambda concurrency, EKS clusters, CloudWatch Logs resource policies) with the
# account's own values in Service Quotas, and fail, naming each quota that is short with the
# increase to request, before anything is created. A quota Service Quotas does not hold (fixed
# ones, such as the 10 CloudWatch Logs resource policies per Region) is compared with its
# documented value.
#
# The needs assume the stack is alone in its account and Region: what else the account holds
# adds to them. Needs the AWS CLI (servicequotas:GetServiceQuota and GetAWSDefaultServiceQuota)
# and jq. The deploy runner runs it before every `pulumi up` (.ci/runner-pulumi.sh).
# Exit codes: 0 every quota fits, 1 one is short, 2 bad usage or a missing tool.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <stack>" >&2; exit 2; }
[ "$#" -eq 1 ] || usage
stack=$1
cd "$(dirname "$0")/.."

require check-quotas aws jq
bin=$(cinegit_bin)

needs=$("$bin" plan --stack "$stack" --quotas --format json |
  jq -r '.quotas[] | [.service, .code, .region, (.where // ""), .need, .default, .name] | map(tostring) | join("\u001f")')

# value <service> <code> <region>: the account's value of a quota, or AWS's default where the
# account has never changed it (get-service-quota then answers NoSuchResourceException).
value() {
  aws service-quotas get-service-quota --service-code "$1" --quota-code "$2" --region "$3" \
    --query Quota.Value --output text 2>/dev/null ||
    aws service-quotas get-aws-default-service-quota --service-code "$1" --quota-code "$2" --region "$3" \
      --query Quota.Value --output text
}

short=0
# Fields are separated by US (0x1f), which, unlike a tab, keeps empty fields (a quota without a
# code, a region-wide one without a VPC or AZ).
while IFS=$'\x1f' read -r service code region where need default name; do
  [ -n "$service" ] || continue
  if [ -n "$code" ]; then
    have=$(value "$service" "$code" "$region")
  else
    have=$default
  fi
  place=$region${where:+ $where}
  if awk -v n="$need" -v h="$have" 'BEGIN { exit !(n > h) }'; then
    short=1
    echo "check-quotas: $stack needs $need of \"$name\" in $place; the account has $have." >&2
    if [ -n "$code" ]; then
      echo "  request it: aws service-quotas request-service-quota-increase --service-code $service --quota-code $code --desired-value $need --region $region" >&2
    else
      echo "  this quota cannot be raised: the stack must need less" >&2
    fi
  else
    echo "check-quotas: $name in $place: $need of $have"
  fi
done <<<"$needs"
exit "$short"
