#!/usr/bin/env bash
# copy-media-replica.sh <recovery stack> <base stack>: the region-loss runbook's originals step
# (docs/region-loss.md). The base stack's replica (cinegit-<base>-media-replica-<account>-<region>,
# in the recovery stack's region) stays untouched, the pristine copy; its objects are copied
# into the recovery stack's own media bucket. `aws s3 sync` copies server-side (CopyObject, and
# UploadPartCopy above the multipart threshold, so originals over 5 GB copy too, which S3
# Batch Operations' Copy cannot: "Copy objects", S3 User Guide, "objects up to 5 GB"), skips
# what an earlier run copied, and can be run again until it copies nothing. Needs pulumi (the
# recovery stack's outputs), the AWS CLI and the account's credentials.
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 <recovery stack> <base stack>" >&2; exit 2; }
[ "$#" -eq 2 ] || usage
stack=$1 base=$2
require copy-media-replica pulumi aws
region=$(pulumi config get --stack "$stack" aws:region)
account=$(aws sts get-caller-identity --query Account --output text)
replica="cinegit-${base}-media-replica-${account}-${region}"
target=$(pulumi stack output --stack "$stack" mediaBucketName)
if [ "$replica" = "$target" ]; then
  echo "copy-media-replica: $stack's media bucket is the replica itself" >&2
  exit 2
fi
# Many parallel server-side copies: the CLI's default of 10 leaves S3's per-prefix request
# rates ("Best practices design patterns: optimizing Amazon S3 performance") mostly unused. The
# setting goes into a copy of the caller's CLI configuration, used for this sync only, so that
# the operator's own configuration is left as it was.
config=$(mktemp)
trap 'rm -f "$config"' EXIT
if [ -f "${AWS_CONFIG_FILE:-$HOME/.aws/config}" ]; then
  cp "${AWS_CONFIG_FILE:-$HOME/.aws/config}" "$config"
fi
AWS_CONFIG_FILE=$config aws configure set "${AWS_PROFILE:-default}.s3.max_concurrent_requests" "${COPY_CONCURRENCY:-64}"
AWS_CONFIG_FILE=$config aws s3 sync "s3://${replica}" "s3://${target}" --region "$region" --only-show-errors
echo "copy-media-replica: s3://${replica} copied into s3://${target}"
