#!/usr/bin/env bash
# Where a stack's runner lives, from the stack file alone: the account is the one
# aws:allowedAccountIds names, and the bootstrap names everything in it after the account
# (bootstrap/: the launcher roles cinegit-github-<runner>, the source bucket
# cinegit-runner-sources-<account>). The recovery runner is in the recovery region REGION
# (the bootstrap's recoveryRegion), with the source bucket cinegit-runner-sources-<account>-<region>.
# Writes role-arn, bucket, region and session-seconds to $GITHUB_OUTPUT. workflows_test.go runs
# this script on every stack file.
set -euo pipefail
: "${RUNNER:?}" "${STACK:?}"
REGION=${REGION:-}

case "$RUNNER" in
  pr | preview) session=7200 ;;   # bootstrap's PreviewSessionHours
  deploy) session=14400 ;;        # bootstrap's deploySessionHours default
  recover) session=21600 ;;       # bootstrap's RecoverSessionHours
  *) echo "::error::unknown runner '${RUNNER}'"; exit 2 ;;
esac
file="Pulumi.${STACK}.yaml"
if ! [[ "$STACK" =~ ^[a-z][a-z0-9]{0,11}$ ]] || [ ! -f "$file" ]; then
  echo "::error::unknown stack '${STACK}'"
  exit 2
fi
account=$(sed -n 's/^  aws:allowedAccountIds: *\["\{0,1\}\([0-9]\{12\}\)"\{0,1\}\] *$/\1/p' "$file")
region=$(sed -n 's/^  aws:region: *\([a-z0-9-]*\) *$/\1/p' "$file")
if [ -z "$account" ] || [ -z "$region" ]; then
  echo "::error::${file} names no single aws:allowedAccountIds account or aws:region"
  exit 2
fi
bucket="cinegit-runner-sources-${account}"
if [ "$RUNNER" = recover ]; then
  if ! [[ "$REGION" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]$ ]] || [ "$REGION" = "$region" ]; then
    echo "::error::the recover runner needs its region, other than ${file}'s ${region}: got '${REGION}'"
    exit 2
  fi
  region=$REGION bucket="${bucket}-${REGION}"
elif [ -n "$REGION" ] && [ "$REGION" != "$region" ]; then
  echo "::error::the ${RUNNER} runner is in ${file}'s region ${region}, not '${REGION}'"
  exit 2
fi
{
  echo "role-arn=arn:aws:iam::${account}:role/cinegit-github-${RUNNER}"
  echo "bucket=${bucket}"
  echo "region=${region}"
  echo "session-seconds=${session}"
} >> "$GITHUB_OUTPUT"
