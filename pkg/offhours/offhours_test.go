package offhours

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	asgScheduleType = "aws:autoscaling/schedule:Schedule"
	scheduleType    = "aws:scheduler/schedule:Schedule"
	dbArn           = "arn:aws:rds:us-east-1:123456789012:db:cinegit-dev-postgres"
)

func devArgs() Args {
	return Args{
		TimeZone: "Europe/Berlin", StopHour: 20, StopMinute: 0, StartHour: 7, StartMinute: 30, WorkingDays: "MON-FRI",
		NodeGroups: []NodeGroup{
			{Name: "general", AutoscalingGroupName: pulumi.String("eks-general-asg"), MinSize: 1, DesiredSize: 1, MaxSize: 3},
			{Name: "media", AutoscalingGroupName: pulumi.String("eks-media-asg"), MinSize: 0, DesiredSize: 0, MaxSize: 4},
		},
		DatabaseIdentifier: pulumi.String("cinegit-dev-postgres"),
		DatabaseArn:        pulumi.String(dbArn),
	}
}

func run(t *testing.T, preview bool) *harness.Result {
	t.Helper()
	r, err := harness.RunComponent("us-east-1", preview, func(ctx *pulumi.Context, p harness.Providers) error {
		args := devArgs()
		args.Env = harness.Env("dev", "us-east-1")
		_, err := New(ctx, "offhours", args, pulumi.Provider(p.AWS))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNodeGroupsGoToZeroAtNightAndBackInTheMorning(t *testing.T) {
	r := run(t, false)
	want := map[string][4]any{
		"offhours-general-stop":  {"0 20 * * 1-5", 0.0, 0.0, 0.0},
		"offhours-general-start": {"30 7 * * 1-5", 1.0, 1.0, 3.0},
		"offhours-media-stop":    {"0 20 * * 1-5", 0.0, 0.0, 0.0},
		"offhours-media-start":   {"30 7 * * 1-5", 0.0, 0.0, 4.0},
	}
	got := r.ByType(asgScheduleType)
	if len(got) != len(want) {
		t.Fatalf("want %d scheduled actions, got %d", len(want), len(got))
	}
	for _, s := range got {
		w, ok := want[s.Name]
		if !ok {
			t.Fatalf("unexpected scheduled action %s", s.Name)
		}
		have := [4]any{s.Input("recurrence"), s.Input("minSize"), s.Input("desiredCapacity"), s.Input("maxSize")}
		if have != w {
			t.Errorf("%s: %v, want %v", s.Name, have, w)
		}
		if s.InputString("timeZone") != "Europe/Berlin" || !strings.HasPrefix(s.InputString("autoscalingGroupName"), "eks-") {
			t.Errorf("%s: time zone %q group %q", s.Name, s.InputString("timeZone"), s.InputString("autoscalingGroupName"))
		}
	}
}

func TestDatabaseStopsAndStartsThroughTheSchedulerWithALeastPrivilegeRole(t *testing.T) {
	r := run(t, false)
	want := map[string][2]string{
		"offhours-database-stop":  {"cron(0 20 ? * MON-FRI *)", "arn:aws:scheduler:::aws-sdk:rds:stopDBInstance"},
		"offhours-database-start": {"cron(30 7 ? * MON-FRI *)", "arn:aws:scheduler:::aws-sdk:rds:startDBInstance"},
	}
	for name, w := range want {
		s := r.Named(scheduleType, name)
		if s == nil {
			t.Fatalf("no schedule %s", name)
		}
		if s.InputString("scheduleExpression") != w[0] || s.InputString("target.arn") != w[1] || s.InputString("scheduleExpressionTimezone") != "Europe/Berlin" {
			t.Errorf("%s: %s %s", name, s.InputString("scheduleExpression"), s.InputString("target.arn"))
		}
		if s.InputString("target.input") != `{"DbInstanceIdentifier":"cinegit-dev-postgres"}` {
			t.Errorf("%s input %s", name, s.InputString("target.input"))
		}
	}
	pol := r.Named("aws:iam/rolePolicy:RolePolicy", "offhours-scheduler")
	var doc struct {
		Statement []struct{ Action, Resource []string }
	}
	if err := json.Unmarshal([]byte(pol.InputString("policy")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 1 || len(doc.Statement[0].Resource) != 1 || doc.Statement[0].Resource[0] != dbArn ||
		strings.Join(doc.Statement[0].Action, ",") != "rds:StopDBInstance,rds:StartDBInstance" {
		t.Errorf("scheduler role policy %+v: only stop and start of this instance", doc)
	}
	trust := r.Named("aws:iam/role:Role", "offhours-scheduler").InputString("assumeRolePolicy")
	if !strings.Contains(trust, "scheduler.amazonaws.com") || !strings.Contains(trust, "aws:SourceAccount") {
		t.Errorf("trust %s", trust)
	}
}

func TestUnixCronDays(t *testing.T) {
	for in, want := range map[string]string{"MON-FRI": "1-5", "MON,WED,FRI": "1,3,5", "SUN": "0", "MON-SUN": "", "FRI-MON": "", "XYZ": ""} {
		if got := unixCronDays(in); got != want {
			t.Errorf("unixCronDays(%q) = %q, want %q", in, got, want)
		}
	}
}
