#!/usr/bin/env bash
# post-destroy.sh <stack>: after `pulumi destroy --stack <stack>`, remove what AWS services
# recreated by themselves, so that the stack can be created again under the same names at once.
#
# EKS and RDS write their logs through service-linked roles that may create the log group
# again when a last batch arrives after Pulumi deleted it (EKS: /aws/eks/<cluster>/cluster,
# RDS: /aws/rds/instance/<id>/<log>); the next `pulumi up` would then fail with
# ResourceAlreadyExistsException. The script
#   1. refuses to run unless the stack's state holds no resource (nothing here is the stack's),
#   2. asks the program itself (the offline plan) for the log groups it creates under /aws/,
#      the names AWS services own, and deletes each one that exists again,
#   3. lists this stack's secrets still scheduled for deletion (whose names stay taken until
#      their recovery window ends) with the commands that free the names,
#   4. scans every region the stack uses for resources tagged project=cinegit and
#      environment=<stack> (the Resource Groups Tagging API, "GetResources"), and exits 1
#      listing each one left, except what survives by design: KMS keys waiting out their
#      deletion window and the database's final snapshot (docs/destroy.md). The tagging API
#      is eventually consistent and may list a resource for a while after its deletion, so a
#      scan that finds something waits POST_DESTROY_SETTLE seconds (300) and looks again.
#
# Needs pulumi (logged in to the stack's backend), the AWS CLI, jq, and Go or a built
# bin/cinegit (CINEGIT_BIN). Run it after the destroy and again just before recreating the
# stack if time has passed (a late log batch can arrive minutes later). Safe to run twice.
# See docs/destroy.md.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <stack>" >&2; exit 2; }
[ "$#" -eq 1 ] || usage
stack=$1
cd "$(dirname "$0")/.."

require post-destroy pulumi aws jq
log() { printf 'post-destroy [%s]: %s\n' "$stack" "$*" >&2; }

# 1. Only after a complete destroy: the state may keep the stack and its providers, nothing else.
left=$(pulumi stack export --stack "$stack" | jq '[(.deployment.resources // [])[]
  | select(.type != "pulumi:pulumi:Stack" and (.type | startswith("pulumi:providers:") | not))] | length')
if [ "$left" != 0 ]; then
  log "the stack still has $left resource(s) in its state: finish pulumi destroy first"
  exit 1
fi
region=$(pulumi config get --stack "$stack" aws:region)

# 2. The log groups the program would create under /aws/, from the offline plan.
bin=$(cinegit_bin)
"$bin" plan --stack "$stack" --format json \
  | jq -r '.resources[] | select(.type == "aws:cloudwatch/logGroup:LogGroup") | .inputs.name // empty | select(startswith("/aws/"))' \
  | sort -u | while read -r group; do
      found=$(aws logs describe-log-groups --region "$region" --log-group-name-prefix "$group" \
        --query "logGroups[?logGroupName=='$group'].logGroupName" --output text)
      if [ -n "$found" ] && [ "$found" != None ]; then
        log "deleting log group $group (recreated by its service after the destroy)"
        aws logs delete-log-group --region "$region" --log-group-name "$group"
      fi
    done

# 3. Secrets waiting out a recovery window keep their names.
# shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
aws secretsmanager list-secrets --region "$region" --include-planned-deletion \
  --filters "Key=name,Values=cinegit/$stack/" \
  --query 'SecretList[?DeletedDate!=`null`].Name' --output text | tr '\t' '\n' | grep -v '^None$' | grep -v '^$' \
  | while read -r secret; do
      log "secret $secret is scheduled for deletion and keeps its name; to free it now:"
      log "  aws secretsmanager restore-secret --region $region --secret-id $secret"
      log "  aws secretsmanager delete-secret --region $region --secret-id $secret --force-delete-without-recovery"
    done || true
# 4. Anything of the stack's left, in its region and its backups' and replica's region.
regions=("$region")
secondary=$(pulumi config get --stack "$stack" backup 2>/dev/null | jq -r '.secondaryRegion // empty' 2>/dev/null || true)
[ -n "$secondary" ] && [ "$secondary" != "$region" ] && regions+=("$secondary")
scan() {
  local r arn
  for r in "${regions[@]}"; do
    aws resourcegroupstaggingapi get-resources --region "$r" \
      --tag-filters "Key=project,Values=cinegit" "Key=environment,Values=$stack" \
      --query 'ResourceTagMappingList[].ResourceARN' --output text | tr '\t' '\n' | grep -v '^None$' | grep -v '^$' \
      | while read -r arn; do
          case "$arn" in
            arn:*:rds:*:snapshot:*-final-*) continue ;; # the final snapshot, kept by design
            arn:*:kms:*:key/*)
              state=$(aws kms describe-key --region "$r" --key-id "$arn" --query KeyMetadata.KeyState --output text 2>/dev/null || echo gone)
              case "$state" in PendingDeletion | gone) continue ;; esac ;;
          esac
          echo "$arn"
        done
  done
}
left=$(scan)
if [ -n "$left" ]; then
  log "tagged resources still listed; looking again in ${POST_DESTROY_SETTLE:-300}s (the tagging API lags deletions)"
  sleep "${POST_DESTROY_SETTLE:-300}"
  left=$(scan)
fi
if [ -n "$left" ]; then
  log "left behind, tagged project=cinegit environment=$stack:"
  printf '%s\n' "$left" | sed 's/^/  /' >&2
  log "delete them (or find what re-created them) before recreating the stack"
  exit 1
fi
log "done: nothing of $stack is left in ${regions[*]}; the stack can be created again"
