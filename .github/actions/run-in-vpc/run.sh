#!/usr/bin/env bash
# The launcher side of a deploy runner build (see action.yml). The project's source is a fixed
# key in the versioned source bucket: the launcher uploads the commit there and starts the
# build with the new object's version (StartBuild's sourceVersion: "for Amazon S3, the version
# ID of the object that represents the build input ZIP file", AWS CodeBuild API reference), and
# passes only the command and the message (and, to the recovery runner, the recovery point).
# The launcher's policy refuses every other override (bootstrap/runner.go): the stack, the
# backend, the source and the buildspec are the project's.
set -euo pipefail
: "${RUNNER:?}" "${COMMAND:?}" "${STACK:?}" "${BUCKET:?}"

case "$RUNNER:$COMMAND" in
  pr:preview | preview:preview | preview:drift | deploy:up | deploy:destroy | recover:recover) ;;
  *) echo "::error::the ${RUNNER} runner does not run '${COMMAND}'"; exit 2 ;;
esac
extra='[]'
if [ "$RUNNER" = recover ]; then
  # The ARN copy-db-snapshot.sh accepts: an RDS snapshot, as AWS Backup names its recovery points.
  if ! [[ "${RECOVERY_POINT:-}" =~ ^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:snapshot:[A-Za-z0-9:-]+$ ]]; then
    echo "::error::the recover runner needs the recovery point's ARN (an RDS snapshot ARN), got '${RECOVERY_POINT:-}'"
    exit 2
  fi
  extra=$(jq -n --arg arn "$RECOVERY_POINT" '[{name: "RECOVERY_POINT_ARN", value: $arn, type: "PLAINTEXT"}]')
fi
project="cinegit-pulumi-${RUNNER}"
log="${RUNNER_TEMP}/pulumi-${COMMAND}-${STACK}.log"
: > "$log"
echo "log=$log" >> "$GITHUB_OUTPUT"

# The commit as checked out, to the runner's one source key (the launcher may write nothing else).
git archive --format=zip -o "${RUNNER_TEMP}/source.zip" HEAD
version=$(aws s3api put-object --bucket "$BUCKET" --key "${RUNNER}/source.zip" \
  --body "${RUNNER_TEMP}/source.zip" --query VersionId --output text)

request=$(jq -n --arg project "$project" --arg version "$version" \
  --arg command "$COMMAND" --arg message "${MESSAGE:-${GITHUB_SHA}}" --argjson extra "$extra" '{
    projectName: $project,
    sourceVersion: $version,
    environmentVariablesOverride: ([
      {name: "PULUMI_COMMAND", value: $command, type: "PLAINTEXT"},
      {name: "PULUMI_MESSAGE", value: $message, type: "PLAINTEXT"}
    ] + $extra)
  }')
build_id=$(aws codebuild start-build --cli-input-json "$request" --query build.id --output text)
echo "build-id=$build_id" >> "$GITHUB_OUTPUT"
echo "CodeBuild build ${build_id} (${project}): pulumi ${COMMAND} of ${STACK}"

# A cancelled preview stops its build. A cancelled deploy or recovery does not: stopping
# `pulumi up` half-way leaves the stack locked and half-applied; the build finishes on its own.
if [ "$RUNNER" != deploy ] && [ "$RUNNER" != recover ]; then
  trap 'aws codebuild stop-build --id "$build_id" >/dev/null || true' INT TERM
fi

token=""
drain() {
  local group="$1" stream="$2" page next
  while :; do
    page=$(aws logs get-log-events --log-group-name "$group" --log-stream-name "$stream" \
      --start-from-head ${token:+--next-token "$token"} --output json 2>/dev/null) || return 0
    jq -j '.events[].message' <<<"$page" | tee -a "$log"
    next=$(jq -r '.nextForwardToken' <<<"$page")
    [ "$next" = "$token" ] && return 0
    token="$next"
  done
}

status=IN_PROGRESS
group="" stream=""
while [ "$status" = IN_PROGRESS ]; do
  sleep 15
  # A throttled or failed status call is retried: the build runs on regardless.
  if ! info=$(aws codebuild batch-get-builds --ids "$build_id" \
    --query 'builds[0].[buildStatus, logs.groupName, logs.streamName]' --output text); then
    echo "::warning::could not read the status of ${build_id}; retrying"
    continue
  fi
  read -r status group stream <<<"$info"
  if [ -n "$stream" ] && [ "$stream" != None ]; then
    drain "$group" "$stream"
  fi
done
# CloudWatch Logs may deliver the last lines after the build reports its status.
sleep 10
if [ -n "$stream" ] && [ "$stream" != None ]; then
  drain "$group" "$stream"
fi

{
  echo "### pulumi ${COMMAND} of ${STACK}: ${status}"
  echo
  echo "CodeBuild build \`${build_id}\`"
  echo
  echo '```'
  tail -c 60000 "$log"
  echo '```'
} >> "$GITHUB_STEP_SUMMARY"

if [ "$status" != SUCCEEDED ]; then
  echo "::error::pulumi ${COMMAND} of ${STACK} ${status} (CodeBuild build ${build_id})"
  exit 1
fi
