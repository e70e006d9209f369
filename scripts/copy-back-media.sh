#!/usr/bin/env bash
# copy-back-media.sh <stack> [<prefix>]: the restore runbook's second media step
# (docs/restore.md): refill the stack's media bucket from its cross-region replica after the
# bucket or its region was lost. It creates an S3 Batch Operations Copy job in the stack's
# region (a copy job runs in the destination's region: "Copy objects", Restrictions and
# limitations, S3 User Guide) whose manifest S3 generates by listing the replica
# (S3JobManifestGenerator: no S3 Inventory, no manifest file), run as the program's copy-back
# role (mediaCopyBackRoleArn), with a completion report of every task in the logs bucket
# (mediaCopyBackReportPrefix). The job waits for confirmation once S3 has listed the objects,
# so that the count can be checked before anything is written; it prints the job ID and the
# commands to check, start and follow it.
#
# A Batch Operations copy takes objects of up to 5 GB; larger originals are left out of the
# job and copied here, one by one, with the CLI's server-side multipart copy (UploadPartCopy:
# the data does not pass through this machine). Copies are new current versions: whatever the
# media bucket still holds stays as a noncurrent version. Needs pulumi, the AWS CLI and jq.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <stack> [<key prefix>]" >&2; exit 2; }
[ "$#" -eq 1 ] || [ "$#" -eq 2 ] || usage
stack=$1 prefix=${2:-}
require copy-back-media pulumi aws jq

# CopyObject's limit, which the Batch Operations Copy operation inherits (5 GiB).
max_copy_bytes=5368709120

output() { pulumi stack output --stack "$stack" "$1"; }
region=$(pulumi config get --stack "$stack" aws:region)
replica_region=$(pulumi config get --stack "$stack" backup | jq -r '.secondaryRegion // ""')
replica=$(output mediaReplicaBucketName)
role=$(output mediaCopyBackRoleArn)
if [ -z "$replica" ] || [ -z "$role" ] || [ -z "$replica_region" ]; then
  echo "copy-back-media: stack $stack has no media replica (backup.mediaReplication)" >&2
  exit 2
fi
media=$(output mediaBucketName)
logs=$(output logsBucketName)
report_prefix=$(output mediaCopyBackReportPrefix)
# arn:<partition>:iam::<account>:role/<name>
IFS=: read -r _ partition _ _ account _ <<<"$role"

filter=$(jq -cn --arg prefix "$prefix" --argjson max "$max_copy_bytes" \
  '{ObjectSizeLessThanBytes: ($max + 1)} + (if $prefix == "" then {} else {KeyNameConstraint: {MatchAnyPrefix: [$prefix]}} end)')
generator=$(jq -cn --arg replica "arn:${partition}:s3:::${replica}" --argjson filter "$filter" \
  '{S3JobManifestGenerator: {SourceBucket: $replica, EnableManifestOutput: false, Filter: $filter}}')
operation=$(jq -cn --arg media "arn:${partition}:s3:::${media}" \
  '{S3PutObjectCopy: {TargetResource: $media, MetadataDirective: "COPY", BucketKeyEnabled: true}}')
report=$(jq -cn --arg logs "arn:${partition}:s3:::${logs}" --arg prefix "$report_prefix" \
  '{Bucket: $logs, Prefix: $prefix, Format: "Report_CSV_20180820", Enabled: true, ReportScope: "AllTasks"}')

job=$(aws s3control create-job --region "$region" --account-id "$account" \
  --confirmation-required --priority 10 --role-arn "$role" \
  --client-request-token "cinegit-${stack}-copy-back-$(date -u +%Y%m%dT%H%M%SZ)" \
  --description "CineGit ${stack}: copy media back from ${replica}${prefix:+ (prefix ${prefix})}" \
  --manifest-generator "$generator" --operation "$operation" --report "$report" \
  --query JobId --output text)

cat <<MSG
S3 Batch Operations job $job (copy s3://${replica}/${prefix} to s3://${media}/${prefix}, objects up to 5 GiB)
It lists the replica, then waits for confirmation (status Suspended). Check its object count:
  aws s3control describe-job --region $region --account-id $account --job-id $job --query 'Job.[Status,ProgressSummary.TotalNumberOfTasks]'
Start it:
  aws s3control update-job-status --region $region --account-id $account --job-id $job --requested-job-status Ready
Follow it (Active, then Complete; failed tasks are listed in the report):
  aws s3control describe-job --region $region --account-id $account --job-id $job --query 'Job.[Status,ProgressSummary]'
Report: s3://${logs}/${report_prefix}/job-${job}/
MSG

# Objects above the copy limit: copied here, server side, one multipart copy each.
large=$(aws s3api list-objects-v2 --region "$replica_region" --bucket "$replica" --prefix "$prefix" \
  --query "Contents[?Size > \`${max_copy_bytes}\`].Key" --output json | jq -r '(. // [])[]')
if [ -z "$large" ]; then
  echo "no object above 5 GiB under '${prefix}': the job copies everything"
  exit 0
fi
echo "objects above 5 GiB, copied now (server side):"
while IFS= read -r key; do
  aws s3 cp "s3://${replica}/${key}" "s3://${media}/${key}" --source-region "$replica_region" --region "$region" --only-show-errors
  echo "  copied ${key}"
done <<<"$large"
