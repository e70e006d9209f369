#!/usr/bin/env bash
# Runs one pulumi command on a deploy runner, as the CodeBuild project's role: the preview
# project (read only) for preview and drift, the deploy project for up and destroy.
#   PULUMI_COMMAND  preview | drift | up | destroy
#   PULUMI_STACK    a stack with a Pulumi.<stack>.yaml in this commit
#   PULUMI_MESSAGE  the update's message (up and destroy)
set -euo pipefail
: "${PULUMI_COMMAND:?}" "${PULUMI_STACK:?}"

if ! [[ "$PULUMI_STACK" =~ ^[a-z][a-z0-9]{0,11}$ ]] || [ ! -f "Pulumi.${PULUMI_STACK}.yaml" ]; then
  echo "unknown stack '${PULUMI_STACK}'" >&2
  exit 2
fi
stack=(--stack "$PULUMI_STACK" --non-interactive --policy-pack policy)
message=(--message "${PULUMI_MESSAGE:-${CODEBUILD_BUILD_ID:-}}")

# The backend is PULUMI_BACKEND_URL (the buildspec); the stack file names its secrets provider.
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
    pulumi up "${stack[@]}" --yes "${message[@]}"
    ;;
  destroy)
    # Only stacks that are not Pulumi-protected are ever destroyed from CI (destroy.yml offers
    # dev and staging); prod's protect would stop it anyway. In-cluster load balancers block
    # the VPC's deletion, so they go first.
    case "$PULUMI_STACK" in
      dev | staging) ;;
      *) echo "destroying ${PULUMI_STACK} from CI is not allowed" >&2; exit 2 ;;
    esac
    bash scripts/pre-destroy.sh "$PULUMI_STACK"
    pulumi destroy --stack "$PULUMI_STACK" --non-interactive --yes "${message[@]}"
    ;;
  *)
    echo "unknown command '${PULUMI_COMMAND}'" >&2
    exit 2
    ;;
esac
