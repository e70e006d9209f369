#!/usr/bin/env bash
# copy-db-snapshot.sh <stack> <source snapshot ARN>: the restore runbook's cross-region step
# (docs/restore.md). database.restore.snapshotIdentifier takes a snapshot of the stack's region
# encrypted with the stack's database key; a recovery point copied to the secondary region (or a
# snapshot of another region) is copied here first, re-encrypted with that key ("Copying a DB
# snapshot", RDS User Guide: a cross-region copy of an encrypted snapshot names a KMS key of
# the destination region). Prints the new snapshot's identifier for database.restore once the
# copy is available. Needs pulumi (for the stack's region), the AWS CLI and the stack's
# account's credentials.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <stack> <source snapshot ARN>" >&2; exit 2; }
[ "$#" -eq 2 ] || usage
stack=$1 source_arn=$2
if ! [[ "$source_arn" =~ ^arn:aws[a-z-]*:rds:([a-z0-9-]+):[0-9]{12}:snapshot:([A-Za-z0-9:-]+)$ ]]; then
  echo "copy-db-snapshot: '$source_arn' is not an RDS DB snapshot ARN" >&2
  exit 2
fi
source_region=${BASH_REMATCH[1]} name=${BASH_REMATCH[2]}
require copy-db-snapshot pulumi aws
region=$(pulumi config get --stack "$stack" aws:region)
# A recovery point's name (awsbackup:job-...) has a colon, which identifiers may not.
target="cinegit-${stack}-copy-$(printf '%s' "${name//:/-}" | tr '[:upper:]' '[:lower:]' | tr -cd 'a-z0-9-' | tail -c 40)"
target=${target%-}
# A copy made by an earlier run is reused (the region-loss recovery runs this again when it
# is run again); a copy within one region takes no --source-region, which only generates the
# presigned URL of a cross-region copy (CopyDBSnapshot, RDS API reference: PreSignedUrl).
if ! aws rds describe-db-snapshots --region "$region" --db-snapshot-identifier "$target" >/dev/null 2>&1; then
  from=()
  [ "$source_region" = "$region" ] || from=(--source-region "$source_region")
  aws rds copy-db-snapshot --region "$region" "${from[@]}" \
    --source-db-snapshot-identifier "$source_arn" --target-db-snapshot-identifier "$target" \
    --kms-key-id "alias/cinegit-${stack}-database" --copy-tags >/dev/null
fi
aws rds wait db-snapshot-available --region "$region" --db-snapshot-identifier "$target"
echo "$target"
