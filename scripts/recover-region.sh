#!/usr/bin/env bash
# recover-region.sh <override> <recovery point ARN>: brings a stack back in another region from
# its committed recovery override (docs/region-loss.md; for prod: recovery/prod-us-west-2.yaml
# and a recovery point of the copy vault in us-west-2). Run by the recovery runner (the standby
# CodeBuild project the bootstrap makes in the recovery region, logged in to the standby state
# bucket there), or by hand with that account's credentials, pulumi, the AWS CLI and jq.
#   1. Writes the recovery stack's settings without a restore (`cinegit recovery-config`) and
#      selects the stack, creating it with the override's secrets provider the first time.
#   2. Creates only the stack's database key (`pulumi up --target`, the key, its alias, their
#      components and provider, found in the offline plan): an RDS instance restored from a snapshot
#      is encrypted with the snapshot's key, so the recovery point is first copied under the
#      recovery stack's own key ("Copying a DB snapshot", RDS User Guide).
#   3. scripts/copy-db-snapshot.sh: the copy, under that key, in the recovery region.
#   4. Writes the settings again with database.restore naming the copy, checks the region's
#      quotas (scripts/check-quotas.sh: a region the stack never ran in has default quotas),
#      and runs `pulumi up` with the policy pack.
# Every step converges when run again: the key exists, the copy is reused, up is idempotent.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <recovery override> <recovery point ARN>" >&2; exit 2; }
[ "$#" -eq 2 ] || usage
override=$1 recovery_point=$2
cd "$(dirname "$0")/.."
[ -f "$override" ] || { echo "recover-region: no override '$override'" >&2; exit 2; }
require recover-region pulumi aws jq
bin=$(cinegit_bin)
message=${RECOVER_MESSAGE:-"recover-region $override $recovery_point"}

# 1. The settings without a restore; the stack (its state is in the backend this shell is
#    logged in to: the recovery region's standby bucket).
stack=$("$bin" recovery-config "$override")
provider=$(sed -n 's/^secretsprovider: *//p' "Pulumi.${stack}.yaml")
pulumi stack select --create --secrets-provider "$provider" "$stack"

# 2. The database key and alias, with their parents (a targeted resource's components must
#    exist too), from the offline plan of exactly these settings.
plan=$(mktemp)
trap 'rm -f "$plan"' EXIT
"$bin" plan --stack "$stack" --config-file "Pulumi.${stack}.yaml" --out "$plan" >/dev/null
mapfile -t targets < <(jq -r --arg alias "alias/cinegit-${stack}-database" '
  .deployment.resources as $all
  | ($all[] | select(.type == "aws:kms/alias:Alias" and .inputs.name == $alias) | .parent) as $key
  | [$all[] | select(.parent == $key and (.type == "aws:kms/key:Key" or .type == "aws:kms/alias:Alias"))] as $pair
  | [$pair[].urn] + [$pair[].provider // empty | sub("::[^:]*$"; "")]
    + [$key] + [$key | recurse(. as $u | $all[] | select(.urn == $u) | .parent // empty)]
  | unique[] | select(test("::pulumi:pulumi:Stack::") | not)' "$plan")
if [ "${#targets[@]}" -lt 4 ]; then
  echo "recover-region: the plan of $stack has no database key alias/cinegit-${stack}-database" >&2
  exit 1
fi
target_flags=()
for urn in "${targets[@]}"; do target_flags+=(--target "$urn"); done
pulumi up --stack "$stack" --non-interactive --yes --policy-pack policy --message "$message (database key)" "${target_flags[@]}"

# 3. The recovery point, copied under that key.
snapshot=$(bash scripts/copy-db-snapshot.sh "$stack" "$recovery_point")

# 4. The whole stack, restored from the copy.
"$bin" recovery-config --snapshot "$snapshot" "$override" >/dev/null
bash scripts/check-quotas.sh "$stack"
pulumi up --stack "$stack" --non-interactive --yes --policy-pack policy --message "$message"
echo "recover-region: $stack is up, its database restored from $snapshot (docs/region-loss.md, next: DNS)"
