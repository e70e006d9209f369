#!/usr/bin/env bash
# restore-object.sh <stack> <key> [<version ID>]: the restore runbook's first media step
# (docs/restore.md): bring back an overwritten or deleted original in the stack's media bucket.
# Without a version ID it lists the key's versions and delete markers and changes nothing; with
# one, it copies that version over the current one (a new current version; the history stays:
# "Restoring previous versions", S3 User Guide). Needs pulumi (for the bucket's name and the
# region), the AWS CLI and jq.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <stack> <key> [<version ID>]" >&2; exit 2; }
[ "$#" -eq 2 ] || [ "$#" -eq 3 ] || usage
stack=$1 key=$2 version=${3:-}
require restore-object pulumi aws jq
region=$(pulumi config get --stack "$stack" aws:region)
bucket=$(pulumi stack output --stack "$stack" mediaBucketName)

if [ -z "$version" ]; then
  aws s3api list-object-versions --region "$region" --bucket "$bucket" --prefix "$key" --output json \
    | jq -r --arg key "$key" '[(.Versions // [])[] | select(.Key == $key) | "version \(.VersionId) \(.LastModified) \(.Size) bytes\(if .IsLatest then " (current)" else "" end)"],
        [(.DeleteMarkers // [])[] | select(.Key == $key) | "delete marker \(.VersionId) \(.LastModified)\(if .IsLatest then " (current: the object is deleted)" else "" end)"] | .[]'
  exit 0
fi
aws s3api copy-object --region "$region" --bucket "$bucket" --key "$key" \
  --copy-source "${bucket}/${key}?versionId=${version}" --metadata-directive COPY >/dev/null
echo "restored s3://${bucket}/${key} from version ${version}"
