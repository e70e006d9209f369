#!/usr/bin/env bash
# Runs one pulumi command on a deploy runner, as the CodeBuild project's role: the
# pull-request project (read only) for pull requests' previews, the preview project (read only)
# for the default branch's previews and drift checks, the deploy project for up and destroy.
#   PULUMI_STACK, PULUMI_BACKEND_URL, CINEGIT_RUNNER  fixed by the project (bootstrap/runner.go)
# The recovery project (in the recovery region, bootstrap/recovery.go) runs recover.
#   PULUMI_COMMAND  preview | drift | up | destroy | recover (the launcher's policy allows the runner's own)
#   PULUMI_MESSAGE  the update's message (up, destroy and recover)
#   CINEGIT_RECOVERY_OVERRIDE  fixed by the recovery project: the override it recovers from
#   RECOVERY_POINT_ARN         the recovery point, from the recovery launcher
set -euo pipefail
: "${PULUMI_COMMAND:?}" "${PULUMI_STACK:?}" "${PULUMI_BACKEND_URL:?}" "${CINEGIT_RUNNER:?}"

# The recovery: its stack file is generated from the override (scripts/recover-region.sh), so
# there is none to check yet; the override must name the project's stack. The backend is the
# recovery region's standby state bucket.
if [ "$CINEGIT_RUNNER" = recover ]; then
  : "${CINEGIT_RECOVERY_OVERRIDE:?}" "${RECOVERY_POINT_ARN:?}"
  if [ "$PULUMI_COMMAND" != recover ]; then
    echo "the recover runner does not run '${PULUMI_COMMAND}'" >&2
    exit 2
  fi
  if ! grep -qx "stack: ${PULUMI_STACK}" "$CINEGIT_RECOVERY_OVERRIDE"; then
    echo "${CINEGIT_RECOVERY_OVERRIDE} is not the override of ${PULUMI_STACK}" >&2
    exit 2
  fi
  pulumi login "$PULUMI_BACKEND_URL"
  RECOVER_MESSAGE="${PULUMI_MESSAGE:-${CODEBUILD_BUILD_ID:-}}" \
    exec bash scripts/recover-region.sh "$CINEGIT_RECOVERY_OVERRIDE" "$RECOVERY_POINT_ARN"
fi

if ! [[ "$PULUMI_STACK" =~ ^[a-z][a-z0-9]{0,11}$ ]] || [ ! -f "Pulumi.${PULUMI_STACK}.yaml" ]; then
  echo "unknown stack '${PULUMI_STACK}'" >&2
  exit 2
fi
# The launcher's policy is the gate; this only makes a misrouted build fail with a clear message.
case "$CINEGIT_RUNNER:$PULUMI_COMMAND" in
  pr:preview | preview:preview | preview:drift | deploy:up | deploy:destroy) ;;
  *) echo "the ${CINEGIT_RUNNER} runner does not run '${PULUMI_COMMAND}'" >&2; exit 2 ;;
esac
stack=(--stack "$PULUMI_STACK" --non-interactive --policy-pack policy)
message=(--message "${PULUMI_MESSAGE:-${CODEBUILD_BUILD_ID:-}}")

# The backend is the account's state bucket (the project's PULUMI_BACKEND_URL); the stack file
# names its secrets provider (an alias, which resolves to the account's own key).
pulumi login "$PULUMI_BACKEND_URL"
case "$PULUMI_COMMAND" in
  preview)
    pulumi preview "${stack[@]}" --diff
    ;;
  drift)
    pulumi preview "${stack[@]}" --diff --refresh --expect-no-changes
    ;;
  up)
    # Every quota the stack can exhaust, against the account's own values, before anything is
    # created: a short one stops here with the increase to request.
    bash scripts/check-quotas.sh "$PULUMI_STACK"
    # An off-hours stack asleep (dev at night) is woken for the update and put back to sleep
    # after it, whatever its outcome (scripts/offhours.sh).
    offhours_state=$(mktemp)
    trap 'bash scripts/offhours.sh sleep "$PULUMI_STACK" "$offhours_state"' EXIT
    bash scripts/offhours.sh wake "$PULUMI_STACK" "$offhours_state"
    pulumi up "${stack[@]}" --yes "${message[@]}"
    ;;
  destroy)
    # Only a stack whose launcher allows destroy gets here (bootstrap's allowDestroy).
    # scripts/destroy.sh refuses a stack that protects its resources, empties what the
    # cluster made, destroys in two passes around GuardDuty's endpoint, and fails unless the
    # scan by the stack's tags finds nothing left.
    DESTROY_MESSAGE="${PULUMI_MESSAGE:-${CODEBUILD_BUILD_ID:-}}" bash scripts/destroy.sh "$PULUMI_STACK"
    ;;
  *)
    echo "unknown command '${PULUMI_COMMAND}'" >&2
    exit 2
    ;;
esac
