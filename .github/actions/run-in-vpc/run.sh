#!/usr/bin/env bash
# The launcher side of a deploy runner build (see action.yml). StartBuild takes the commit from
# S3 through sourceTypeOverride/sourceLocationOverride, so CodeBuild needs no GitHub webhook,
# token or CodeConnections connection ("StartBuild", AWS CodeBuild API reference).
set -euo pipefail
: "${RUNNER:?}" "${COMMAND:?}" "${STACK:?}" "${BUCKET:?}"

case "$RUNNER:$COMMAND" in
  preview:preview | preview:drift | deploy:up | deploy:destroy) ;;
  *) echo "::error::the ${RUNNER} runner does not run '${COMMAND}'"; exit 2 ;;
esac
project="cinegit-pulumi-${RUNNER}"
log="${RUNNER_TEMP}/pulumi-${COMMAND}-${STACK}.log"
: > "$log"
echo "log=$log" >> "$GITHUB_OUTPUT"

# The commit as checked out; the launcher role may only write under its runner's prefix.
key="${RUNNER}/${GITHUB_RUN_ID}-${GITHUB_RUN_ATTEMPT}-${STACK}-${COMMAND}.zip"
git archive --format=zip -o "${RUNNER_TEMP}/source.zip" HEAD
aws s3 cp "${RUNNER_TEMP}/source.zip" "s3://${BUCKET}/${key}" --only-show-errors

request=$(jq -n --arg project "$project" --arg location "${BUCKET}/${key}" \
  --arg command "$COMMAND" --arg stack "$STACK" --arg message "${MESSAGE:-${GITHUB_SHA}}" '{
    projectName: $project,
    sourceTypeOverride: "S3",
    sourceLocationOverride: $location,
    buildspecOverride: ".ci/buildspec.yml",
    environmentVariablesOverride: [
      {name: "PULUMI_COMMAND", value: $command, type: "PLAINTEXT"},
      {name: "PULUMI_STACK", value: $stack, type: "PLAINTEXT"},
      {name: "PULUMI_MESSAGE", value: $message, type: "PLAINTEXT"}
    ]
  }')
build_id=$(aws codebuild start-build --cli-input-json "$request" --query build.id --output text)
echo "build-id=$build_id" >> "$GITHUB_OUTPUT"
echo "CodeBuild build ${build_id} (${project}): pulumi ${COMMAND} of ${STACK}"

# A cancelled preview stops its build. A cancelled deploy does not: stopping `pulumi up`
# half-way leaves the stack locked and half-applied; the build finishes on its own.
if [ "$RUNNER" = preview ]; then
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
