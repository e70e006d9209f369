#!/usr/bin/env bash
# offhours.sh wake|sleep <stack> <statefile>: let a deploy run while an off-hours stack sleeps.
#
# A stack with cinegit:offHours (dev) has its node groups at zero and its database stopped
# outside working hours (pkg/offhours). A `pulumi up` then would wait on Kubernetes objects no
# node can run and on a database it cannot modify (RDS refuses to modify a stopped instance:
# "Stopping an Amazon RDS DB instance temporarily", RDS User Guide). The deploy runner runs
#   wake:  start the database if it is stopped (waiting until it is available), give each node
#          group's Auto Scaling group its daytime sizes (those of its off-hours "start"
#          scheduled action) if it is at zero, and wait until the minimum is in service;
#          what it changed is written to <statefile>;
#   sleep: undo exactly what wake changed, so the stack is asleep again until its morning.
# A stack without off-hours, a stack not deployed yet, or one already awake: nothing to do.
# Staging and prod have no off-hours, so their deploys never wait on a schedule. Needs pulumi
# (logged in to the stack's backend), the AWS CLI and jq. OFFHOURS_TIMEOUT bounds the waits
# (1200 s).
set -euo pipefail
# shellcheck source=lib/common.bash
source "$(dirname "$0")/lib/common.bash"

usage() { echo "usage: $0 wake|sleep <stack> <statefile>" >&2; exit 2; }
[ "$#" -eq 3 ] || usage
action=$1 stack=$2 statefile=$3
case "$action" in wake | sleep) ;; *) usage ;; esac
require offhours pulumi aws jq
log() { printf 'offhours [%s]: %s\n' "$stack" "$*" >&2; }
timeout=${OFFHOURS_TIMEOUT:-1200}
interval=${OFFHOURS_INTERVAL:-20}

if [ "$action" = sleep ]; then
  [ -s "$statefile" ] || exit 0
  region=$(pulumi config get --stack "$stack" aws:region)
  while read -r kind name; do
    case "$kind" in
      asg)
        log "back to sleep: $name to zero"
        aws autoscaling update-auto-scaling-group --region "$region" --auto-scaling-group-name "$name" \
          --min-size 0 --max-size 0 --desired-capacity 0
        ;;
      db)
        log "back to sleep: stopping $name"
        aws rds stop-db-instance --region "$region" --db-instance-identifier "$name" >/dev/null
        ;;
    esac
  done < "$statefile"
  exit 0
fi

: > "$statefile"
enabled=$(pulumi config get --stack "$stack" offHours 2>/dev/null | jq -r '.enabled // false' 2>/dev/null || echo false)
cluster=$(pulumi stack output --stack "$stack" clusterName 2>/dev/null || true)
if [ "$enabled" != true ] || [ -z "$cluster" ]; then
  exit 0
fi
region=$(pulumi config get --stack "$stack" aws:region)

# The database first: it takes longest.
db=$(pulumi stack output --stack "$stack" databaseEndpoint 2>/dev/null | cut -d. -f1 || true)
if [ -n "$db" ]; then
  status=$(aws rds describe-db-instances --region "$region" --db-instance-identifier "$db" \
    --query 'DBInstances[0].DBInstanceStatus' --output text)
  if [ "$status" = stopping ]; then
    aws rds wait db-instance-stopped --region "$region" --db-instance-identifier "$db"
    status=stopped
  fi
  if [ "$status" = stopped ]; then
    log "waking: starting $db"
    aws rds start-db-instance --region "$region" --db-instance-identifier "$db" >/dev/null
    echo "db $db" >> "$statefile"
  fi
fi

# The node groups: each asleep group takes the sizes of its morning action.
prefix="cinegit-${stack}-offhours-"
asleep=()
while read -r name min desired max; do
  [ -z "$name" ] && continue
  current=$(aws autoscaling describe-auto-scaling-groups --region "$region" --auto-scaling-group-names "$name" \
    --query 'AutoScalingGroups[0].MaxSize' --output text)
  [ "$current" = 0 ] || continue
  log "waking: $name to min $min, desired $desired, max $max"
  aws autoscaling update-auto-scaling-group --region "$region" --auto-scaling-group-name "$name" \
    --min-size "$min" --max-size "$max" --desired-capacity "$desired"
  echo "asg $name" >> "$statefile"
  asleep+=("$name:$min")
done < <(aws autoscaling describe-scheduled-actions --region "$region" --output json \
  | jq -r --arg p "$prefix" '.ScheduledUpdateGroupActions[]
      | select((.ScheduledActionName | startswith($p)) and (.ScheduledActionName | endswith("-start")))
      | "\(.AutoScalingGroupName) \(.MinSize) \(.DesiredCapacity) \(.MaxSize)"')

# The update waits for what it needs: nodes in service, then the database.
deadline=$((SECONDS + timeout))
for group in "${asleep[@]}"; do
  name=${group%:*} min=${group##*:}
  while :; do
    # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
    up=$(aws autoscaling describe-auto-scaling-groups --region "$region" --auto-scaling-group-names "$name" \
      --query 'length(AutoScalingGroups[0].Instances[?LifecycleState==`InService`])' --output text)
    [ "$up" -ge "$min" ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$name has $up of $min instances in service after ${timeout}s"
      exit 1
    fi
    sleep "$interval"
  done
done
if grep -q '^db ' "$statefile"; then
  aws rds wait db-instance-available --region "$region" --db-instance-identifier "$db"
fi
log "awake for the deploy"
