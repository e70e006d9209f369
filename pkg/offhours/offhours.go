// Package offhours stops an environment outside working hours and starts it in the morning:
// scheduled actions on the node groups' Auto Scaling groups take them to zero (minimum,
// desired and maximum) and back to their configured sizes, and EventBridge Scheduler stops
// and starts the database through its universal target for the RDS API.
//
// Nothing fights the schedule. The cluster autoscaler stays within the Auto Scaling group's
// minimum and maximum (its AWS provider reads them from the group), so with a maximum of zero
// it cannot bring a node back at night, and in the morning it scales from the restored
// minimum again. `pulumi up` ignores the node groups' desired size always and, when the
// cluster is told about the schedule (cluster.Args.ScheduledScaling), their minimum and
// maximum too, which EKS reports from the group. A stopped RDS instance is not a difference
// Pulumi sees (its status is not an input); RDS starts a stopped instance by itself after
// seven days, which the weekend never reaches.
package offhours

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/scheduler"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Args configure the schedules.
type Args struct {
	Env stackenv.Env
	// TimeZone is the IANA zone of the times (both schedulers follow its daylight saving).
	TimeZone string
	// StopHour:StopMinute and StartHour:StartMinute are the times of day, on WorkingDays.
	StopHour, StopMinute, StartHour, StartMinute int
	// WorkingDays are cron day-of-week names (MON-FRI).
	WorkingDays string
	// NodeGroups go to zero at night and back to their sizes in the morning.
	NodeGroups []NodeGroup
	// DatabaseIdentifier and DatabaseArn name the RDS instance that stops at night.
	DatabaseIdentifier pulumi.StringInput
	DatabaseArn        pulumi.StringInput
}

// NodeGroup is one node group's Auto Scaling group and its daytime sizes.
type NodeGroup struct {
	Name                          string
	AutoscalingGroupName          pulumi.StringInput
	MinSize, DesiredSize, MaxSize int
}

// OffHours is the component.
type OffHours struct {
	pulumi.ResourceState

	// SchedulerRoleArn is the role EventBridge Scheduler calls RDS with.
	SchedulerRoleArn pulumi.StringOutput `pulumi:"schedulerRoleArn"`
}

// cronDays are the day-of-week numbers of Auto Scaling's Unix cron (0 is Sunday); EventBridge
// Scheduler takes the names.
var cronDays = map[string]string{"SUN": "0", "MON": "1", "TUE": "2", "WED": "3", "THU": "4", "FRI": "5", "SAT": "6"}

// New creates the schedules.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*OffHours, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("offhours %s: %w", name, err)
	}
	o := &OffHours{}
	if err := ctx.RegisterComponentResource("cinegit:offhours:OffHours", name, o, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(o)
	env := args.Env

	// Scheduled actions on the node groups' Auto Scaling groups ("Scheduled scaling for
	// Amazon EC2 Auto Scaling", recurrence in Unix cron with a time zone; the same pattern as
	// terraform-aws-modules/eks's eks-managed-node-group `schedules`).
	unixDays := unixCronDays(args.WorkingDays)
	for _, ng := range args.NodeGroups {
		for _, a := range []struct {
			action             string
			hour, minute       int
			min, desired, peak int
		}{
			{"stop", args.StopHour, args.StopMinute, 0, 0, 0},
			{"start", args.StartHour, args.StartMinute, ng.MinSize, ng.DesiredSize, ng.MaxSize},
		} {
			if _, err := autoscaling.NewSchedule(ctx, fmt.Sprintf("%s-%s-%s", name, ng.Name, a.action), &autoscaling.ScheduleArgs{
				AutoscalingGroupName: ng.AutoscalingGroupName,
				ScheduledActionName:  pulumi.String(env.Naming.Name("offhours", ng.Name, a.action)),
				Recurrence:           pulumi.String(fmt.Sprintf("%d %d * * %s", a.minute, a.hour, unixDays)),
				TimeZone:             pulumi.String(args.TimeZone),
				MinSize:              pulumi.Int(a.min),
				DesiredCapacity:      pulumi.Int(a.desired),
				MaxSize:              pulumi.Int(a.peak),
			}, parent); err != nil {
				return nil, err
			}
		}
	}

	role, err := schedulerRole(ctx, name, env, args.DatabaseArn, parent)
	if err != nil {
		return nil, err
	}
	o.SchedulerRoleArn = role.Arn

	groupName := env.Naming.Name("offhours")
	group, err := scheduler.NewScheduleGroup(ctx, name, &scheduler.ScheduleGroupArgs{
		Name: pulumi.String(groupName),
		Tags: env.Tags.Named(groupName).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}
	input := pulumi.All(args.DatabaseIdentifier).ApplyT(func(v []any) (string, error) {
		b, err := json.Marshal(map[string]string{"DbInstanceIdentifier": v[0].(string)})
		return string(b), err
	}).(pulumi.StringOutput)
	for _, a := range []struct {
		action, api  string
		hour, minute int
	}{
		{"stop", "stopDBInstance", args.StopHour, args.StopMinute},
		{"start", "startDBInstance", args.StartHour, args.StartMinute},
	} {
		// Universal target: EventBridge Scheduler calls the RDS API action itself
		// ("Using universal targets", EventBridge Scheduler User Guide).
		if _, err := scheduler.NewSchedule(ctx, name+"-database-"+a.action, &scheduler.ScheduleArgs{
			Name:                       pulumi.String(env.Naming.Name("database", a.action)),
			GroupName:                  group.Name,
			Description:                pulumi.String(fmt.Sprintf("Off-hours: %s CineGit %s PostgreSQL", a.action, env.Naming.Stack)),
			ScheduleExpression:         pulumi.String(fmt.Sprintf("cron(%d %d ? * %s *)", a.minute, a.hour, args.WorkingDays)),
			ScheduleExpressionTimezone: pulumi.String(args.TimeZone),
			FlexibleTimeWindow:         scheduler.ScheduleFlexibleTimeWindowArgs{Mode: pulumi.String("OFF")},
			Target: scheduler.ScheduleTargetArgs{
				Arn:     pulumi.String(fmt.Sprintf("arn:%s:scheduler:::aws-sdk:rds:%s", env.Partition, a.api)),
				RoleArn: role.Arn,
				Input:   input,
				// A stop or start that fails (the instance is already stopped, or is being
				// modified) is not worth retrying for hours.
				RetryPolicy: scheduler.ScheduleTargetRetryPolicyArgs{MaximumRetryAttempts: pulumi.Int(2), MaximumEventAgeInSeconds: pulumi.Int(3600)},
			},
		}, parent); err != nil {
			return nil, err
		}
	}
	return o, ctx.RegisterResourceOutputs(o, pulumi.Map{"schedulerRoleArn": o.SchedulerRoleArn})
}

func (a Args) check() error {
	switch {
	case a.DatabaseIdentifier == nil || a.DatabaseArn == nil:
		return fmt.Errorf("DatabaseIdentifier and DatabaseArn are required")
	case a.TimeZone == "" || a.WorkingDays == "":
		return fmt.Errorf("TimeZone and WorkingDays are required")
	case unixCronDays(a.WorkingDays) == "":
		return fmt.Errorf("WorkingDays %q must be cron day names (MON-FRI)", a.WorkingDays)
	case a.StartHour*60+a.StartMinute >= a.StopHour*60+a.StopMinute:
		return fmt.Errorf("the start time must be before the stop time")
	}
	for _, ng := range a.NodeGroups {
		if ng.AutoscalingGroupName == nil || ng.MinSize > ng.DesiredSize || ng.DesiredSize > ng.MaxSize {
			return fmt.Errorf("node group %q needs its Auto Scaling group and min <= desired <= max", ng.Name)
		}
	}
	return nil
}

// unixCronDays turns MON-FRI into 1-5; "" if a name is unknown or a range runs backwards.
func unixCronDays(days string) string {
	var out []string
	for _, part := range strings.Split(days, ",") {
		from, to, isRange := strings.Cut(part, "-")
		f, ok := cronDays[from]
		if !ok {
			return ""
		}
		if !isRange {
			out = append(out, f)
			continue
		}
		t, ok := cronDays[to]
		if !ok || t < f {
			return ""
		}
		out = append(out, f+"-"+t)
	}
	return strings.Join(out, ",")
}

// schedulerRole lets EventBridge Scheduler (for this account's schedules only) stop and start
// this one instance, and nothing else.
func schedulerRole(ctx *pulumi.Context, name string, env stackenv.Env, dbArn pulumi.StringInput, opts ...pulumi.ResourceOption) (*iam.Role, error) {
	roleName := env.Naming.NameMax(64, "offhours-scheduler")
	role, err := iam.NewRole(ctx, name+"-scheduler", &iam.RoleArgs{
		Name:             pulumi.String(roleName),
		Description:      pulumi.String("EventBridge Scheduler stops and starts CineGit " + env.Naming.Stack + " PostgreSQL outside working hours"),
		AssumeRolePolicy: iampolicy.AssumeRole([]string{"scheduler.amazonaws.com"}, env.AccountID),
		Tags:             env.Tags.Named(roleName).Map(),
	}, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-scheduler", &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: iampolicy.Document(iampolicy.Allow("StopAndStartTheDatabase", []string{"rds:StopDBInstance", "rds:StartDBInstance"}, pulumi.StringArray{dbArn})),
	}, opts...); err != nil {
		return nil, err
	}
	return role, nil
}
