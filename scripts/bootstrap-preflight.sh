#!/usr/bin/env bash
# bootstrap-preflight.sh <stack>: before `pulumi up` of an account's bootstrap (bootstrap/,
# docs/bootstrap.md), find what the account already has that would stop the bootstrap halfway,
# and say what to set. AWS allows one GuardDuty detector per account and region (CreateDetector
# fails on a second: "Enabling GuardDuty", GuardDuty User Guide), one AWS-services cost anomaly
# monitor per account ("Creating your cost monitors", Cost Management User Guide), and only an
# organization's management account activates cost allocation tags ("Activating user-defined
# cost allocation tags", AWS Billing User Guide); an organization trail, analyzer or delegated
# GuardDuty administrator already covers what the bootstrap would create. The cost allocation tag
# of a brand-new account needs nothing here: the bootstrap defers it by itself until the tag is
# in the billing data, and a later run activates it.
#
# Reads bootstrap/Pulumi.<stack>.yaml (its accountId, region, guardDutyRegions and switches),
# asks the account with the AWS CLI, prints one line per finding with the `pulumi config set` that
# resolves it, and exits 1 when a finding would fail the bootstrap, 0 otherwise. Run it again
# after setting what it says: it converges. Needs the AWS CLI and jq, with the account's
# credentials.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <stack>" >&2; exit 2; }
[ "$#" -eq 1 ] || usage
stack=$1
cd "$(dirname "$0")/.."
file="bootstrap/Pulumi.${stack}.yaml"
if ! [[ "$stack" =~ ^[a-z][a-z0-9]{0,11}$ ]] || [ ! -f "$file" ]; then
  echo "bootstrap-preflight: no bootstrap stack file $file" >&2
  exit 2
fi
require bootstrap-preflight aws jq

# value <key> <default>: a scalar of the stack file's cinegit-bootstrap namespace.
value() {
  local v
  v=$(sed -n "s/^  cinegit-bootstrap:$1: *\"\{0,1\}\([^\"#]*[^\" #]\)\"\{0,1\} *\(#.*\)\{0,1\}$/\1/p" "$file")
  echo "${v:-$2}"
}
on() { [ "$(value "$1" true)" = true ]; }

account=$(value accountId "")
region=$(sed -n 's/^  aws:region: *\([a-z0-9-]*\) *$/\1/p' "$file")
region=${region:-us-east-1}
regions=("$region")
while read -r r; do
  [ -n "$r" ] && [ "$r" != "$region" ] && regions+=("$r")
done < <(value guardDutyRegions '["us-west-2"]' | jq -r '.[]')

blocking=0
finding() { # finding <blocking 0|1> <message> <config key to set false>
  printf '%s: %s\n  pulumi config set --stack %s cinegit-bootstrap:%s false   # in bootstrap/\n' \
    "$([ "$1" = 1 ] && echo BLOCKS || echo note)" "$2" "$stack" "$3"
  [ "$1" = 1 ] && blocking=1
  return 0
}

caller=$(aws sts get-caller-identity --query Account --output text)
if [ "$caller" != "$account" ]; then
  echo "BLOCKS: the credentials are for account $caller; $file is for $account"
  exit 1
fi

if on guardDuty; then
  for r in "${regions[@]}"; do
    detector=$(aws guardduty list-detectors --region "$r" --query 'DetectorIds[0]' --output text)
    [ -z "$detector" ] || [ "$detector" = None ] && continue
    admin=$(aws guardduty get-administrator-account --region "$r" --detector-id "$detector" \
      --query 'Administrator.AccountId' --output text 2>/dev/null || true)
    if [ -n "$admin" ] && [ "$admin" != None ]; then
      finding 1 "GuardDuty in $r is managed by the organization's administrator account $admin" guardDuty
    else
      finding 1 "a GuardDuty detector ($detector) already exists in $r; keep it and turn the bootstrap's off, or adopt it with pulumi import" guardDuty
    fi
  done
fi

if on costAnomalyMonitor; then
  # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
  monitor=$(aws ce get-anomaly-monitors --region us-east-1 \
    --query 'AnomalyMonitors[?MonitorType==`DIMENSIONAL` && MonitorDimension==`SERVICE`].MonitorArn | [0]' --output text)
  if [ -n "$monitor" ] && [ "$monitor" != None ]; then
    finding 1 "the account already has its AWS services cost monitor ($monitor)" costAnomalyMonitor
  fi
fi

management=$(aws organizations describe-organization --query 'Organization.MasterAccountId' --output text 2>/dev/null || true)
member=false
if [ -n "$management" ] && [ "$management" != None ] && [ "$management" != "$account" ]; then
  member=true
fi
if on activateCostAllocationTag && [ "$member" = true ]; then
  finding 1 "the account is a member of an organization (management account $management), which alone activates cost allocation tags" activateCostAllocationTag
fi

if on cloudTrail; then
  # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
  orgtrail=$(aws cloudtrail describe-trails --region "$region" --query 'trailList[?IsOrganizationTrail==`true`].Name | [0]' --output text)
  if [ -n "$orgtrail" ] && [ "$orgtrail" != None ]; then
    finding 0 "the organization trail $orgtrail already records this account (a second trail only costs)" cloudTrail
  fi
fi

if on accessAnalyzer; then
  analyzer=$(aws accessanalyzer list-analyzers --region "$region" --type ORGANIZATION --query 'analyzers[0].name' --output text 2>/dev/null || true)
  if [ -n "$analyzer" ] && [ "$analyzer" != None ]; then
    finding 0 "the organization analyzer $analyzer already covers this account" accessAnalyzer
  fi
fi

if on spotServiceLinkedRole; then
  if aws iam get-role --role-name AWSServiceRoleForEC2Spot --query Role.Arn --output text >/dev/null 2>&1; then
    finding 1 "EC2's Spot service-linked role AWSServiceRoleForEC2Spot already exists (the account used Spot before)" spotServiceLinkedRole
  fi
fi

if [ "$blocking" = 1 ]; then
  echo "bootstrap-preflight: set the BLOCKS lines above, then run this again"
  exit 1
fi
echo "bootstrap-preflight: account $account is ready for pulumi up --stack $stack"
