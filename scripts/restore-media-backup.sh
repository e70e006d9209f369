#!/usr/bin/env bash
# restore-media-backup.sh <stack> [<recovery point ARN> | <restored bucket>]: the restore
# runbook's third media step (docs/restore.md), for versions gone from both the media bucket
# and its replica.
#   <stack>                      lists the media bucket's recovery points in the stack's vault
#                                and in the copy vault, newest first; changes nothing.
#   <stack> <recovery point ARN> starts an AWS Backup restore job of that recovery point into a
#                                new bucket (cinegit-<stack>-media-restore-<account>-<time>) in
#                                the recovery point's region, encrypted with the media key there
#                                (the replica's key in the copy region), with the program's backup
#                                role (backupRoleArn); prints the job ID and how to follow it.
#   <stack> <restored bucket>    once the job is COMPLETED, copies the restored objects into the
#                                media bucket (server side; new current versions, the history
#                                stays) and says how to delete the restored bucket.
# The restore metadata is the one AWS Backup documents for S3 ("Restore S3 data using AWS
# Backup", AWS Backup Developer Guide: DestinationBucketName, NewBucket, Encrypted,
# EncryptionType, KMSKey, CreationToken); a restore runs in the region of the recovery point
# (the original or its cross-region copy) and restores the latest version of each object as of
# the backup. Needs pulumi, the AWS CLI and jq.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <stack> [<recovery point ARN> | <restored bucket>]" >&2; exit 2; }
[ "$#" -eq 1 ] || [ "$#" -eq 2 ] || usage
stack=$1 target=${2:-}
require restore-media-backup pulumi aws jq

output() { pulumi stack output --stack "$stack" "$1"; }
region=$(pulumi config get --stack "$stack" aws:region)
media=$(output mediaBucketName)
restored_prefix="cinegit-${stack}-media-restore-"

# The vaults' regions and names, from their ARNs (arn:<partition>:backup:<region>:<account>:backup-vault:<name>).
vaults() {
  local arn
  for arn in "$(output backupVaultArn)" "$(output backupCopyVaultArn)"; do
    [ -n "$arn" ] && echo "$arn"
  done
}

if [ -z "$target" ]; then
  media_arn=$(output mediaBucketArn)
  while IFS= read -r vault; do
    IFS=: read -r _ _ _ vault_region _ _ vault_name <<<"$vault"
    echo "vault ${vault_name} (${vault_region}):"
    aws backup list-recovery-points-by-backup-vault --region "$vault_region" --backup-vault-name "$vault_name" \
      --by-resource-arn "$media_arn" --output json \
      | jq -r '(.RecoveryPoints // []) | sort_by(.CreationDate) | reverse | .[] | "  \(.RecoveryPointArn) \(.CreationDate) \(.Status) \(.BackupSizeInBytes // 0) bytes"'
  done < <(vaults)
  exit 0
fi

if [[ "$target" == "$restored_prefix"* ]]; then
  restored_region=$(aws s3api get-bucket-location --bucket "$target" --query LocationConstraint --output text)
  [ "$restored_region" = "None" ] && restored_region=us-east-1
  aws s3 cp "s3://${target}/" "s3://${media}/" --recursive --source-region "$restored_region" --region "$region" --only-show-errors
  echo "copied s3://${target} into s3://${media}"
  echo "the restored bucket is not part of the stack: once the objects are checked, empty and delete it:"
  echo "  aws s3 rb s3://${target} --force --region ${restored_region}"
  exit 0
fi

if ! [[ "$target" =~ ^arn:aws[a-z-]*:backup:([a-z0-9-]+):([0-9]{12}):recovery-point:.+$ ]]; then
  echo "restore-media-backup: '$target' is neither a recovery point ARN nor a bucket named ${restored_prefix}..." >&2
  exit 2
fi
rp_region=${BASH_REMATCH[1]} account=${BASH_REMATCH[2]}
secondary=$(pulumi config get --stack "$stack" backup | jq -r '.secondaryRegion // ""')
case "$rp_region" in
  "$region") key_alias="alias/cinegit-${stack}-media" ;;
  "$secondary") key_alias="alias/cinegit-${stack}-media-replica" ;;
  *) echo "restore-media-backup: $rp_region is neither $stack's region nor its backup.secondaryRegion" >&2; exit 2 ;;
esac
key=$(aws kms describe-key --region "$rp_region" --key-id "$key_alias" --query KeyMetadata.Arn --output text)
role=$(output backupRoleArn)
bucket="${restored_prefix}${account}-$(date -u +%Y%m%d%H%M)"
metadata=$(jq -cn --arg bucket "$bucket" --arg key "$key" \
  '{DestinationBucketName: $bucket, NewBucket: "true", Encrypted: "true", EncryptionType: "SSE-KMS", KMSKey: $key, CreationToken: $bucket}')
job=$(aws backup start-restore-job --region "$rp_region" --recovery-point-arn "$target" --iam-role-arn "$role" \
  --resource-type S3 --metadata "$metadata" --query RestoreJobId --output text)
cat <<MSG
AWS Backup restore job $job: $target into the new bucket s3://${bucket} (${rp_region})
Follow it (RUNNING, then COMPLETED):
  aws backup describe-restore-job --region $rp_region --restore-job-id $job --query '[Status,PercentDone,StatusMessage]'
Then copy the objects into the media bucket:
  scripts/restore-media-backup.sh $stack $bucket
MSG
