package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// mediaProcessingWant is what each stack file promises about media processing.
var mediaProcessingWant = map[string]struct {
	azs                      int
	memory, concurrency      float64
	logDays, imagesToKeep    float64
	forceDelete, protect     bool
	quotaPods, queueAgeAlarm string
}{
	"dev":     {2, 3008, 2, 7, 5, true, false, "2", "3600"},
	"staging": {3, 10240, 10, 30, 10, true, false, "4", "1800"},
	"prod":    {3, 10240, 50, 365, 20, false, true, "10", "1800"},
}

// testImageTag is the tag the image pipeline would set once the image is pushed.
const testImageTag = "ffmpeg-2026.11.1"

// runWithImage runs the whole program for a stack whose file has mediaProcessing.imageTag set,
// as after the image pipeline's pull request; the stack files themselves leave it unset, so
// that a new stack's first `pulumi up` works.
func runWithImage(t testing.TB, stack string, preview bool) *harness.Result {
	t.Helper()
	return runSetting(t, stack, preview, "mediaProcessing", "imageTag", nil, testImageTag)
}

// forEachImageRun runs f for every stack with an image tag, in update and preview mode.
func forEachImageRun(t *testing.T, f func(t *testing.T, r *harness.Result)) {
	for _, stack := range stacks {
		for _, preview := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/image/preview=%v", stack, preview), func(t *testing.T) {
				f(t, runWithImage(t, stack, preview))
			})
		}
	}
}

// A new stack's first `pulumi up`, from the stack files as committed (no image tag): no
// function, mapping, function alarms or Job template (Lambda would refuse the missing image),
// but the repository to push it to, the queue that keeps events meanwhile, the rule feeding
// it and its alarms, and an output naming exactly what is missing.
func TestMediaProcessingFirstDeployNeedsNoImage(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		for _, typ := range []string{"aws:lambda/function:Function", "aws:lambda/eventSourceMapping:EventSourceMapping"} {
			if n := len(r.ByType(typ)); n != 0 {
				t.Errorf("%d %s before the image is pushed: the first pulumi up would fail", n, typ)
			}
		}
		if r.Named("kubernetes:core/v1:ConfigMap", "mediaprocessing-job-template") != nil {
			t.Error("the Job template names an image that does not exist yet")
		}
		for _, a := range r.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
			if strings.HasPrefix(a.Name, "mediaprocessing-function-") {
				t.Errorf("alarm %s watches a function that does not exist", a.Name)
			}
		}
		for _, want := range [][2]string{
			{"aws:ecr/repository:Repository", "mediaprocessing-ffmpeg"}, {"aws:sqs/queue:Queue", "mediaprocessing"},
			{"aws:sqs/queue:Queue", "mediaprocessing-dlq"}, {"aws:cloudwatch/eventRule:EventRule", "mediaprocessing-object-created"},
			{"aws:cloudwatch/eventTarget:EventTarget", "mediaprocessing-object-created"},
			{"aws:cloudwatch/metricAlarm:MetricAlarm", "mediaprocessing-rule-failed-invocations"},
			{"aws:cloudwatch/metricAlarm:MetricAlarm", "mediaprocessing-queue-age"},
		} {
			mpOne(t, r, want[0], want[1])
		}
		e, ok := r.Exports["mediaFunctionStatus"]
		if !ok {
			t.Fatal("no export mediaFunctionStatus")
		}
		if r.Preview {
			return
		}
		repo := r.Exports["mediaEcrRepositoryUrl"].Value.(string)
		status, _ := e.Value.(string)
		for _, want := range []string{"pending", "push the image to " + repo + ":<tag>", "set cinegit:mediaProcessing.imageTag"} {
			if !strings.Contains(status, want) {
				t.Errorf("mediaFunctionStatus %q lacks %q", status, want)
			}
		}
		if got := r.Exports["mediaFunctionName"].Value; got != "" {
			t.Errorf("mediaFunctionName = %v before the function exists", got)
		}
	})
}

// Setting the tag adds exactly the function and what depends on it; everything else keeps its
// URN (nothing is replaced when the image arrives).
func TestMediaProcessingImageTagAddsOnlyTheFunction(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			before, after := map[string]bool{}, map[string]bool{}
			for _, res := range run(t, stack, false).Resources {
				before[res.URN] = true
			}
			var added []string
			for _, res := range runWithImage(t, stack, false).Resources {
				after[res.URN] = true
				if !before[res.URN] {
					added = append(added, res.Type+" "+res.Name)
				}
			}
			for urn := range before {
				if !after[urn] {
					t.Errorf("%s disappears when the image tag is set", urn)
				}
			}
			slices.Sort(added)
			want := []string{
				"aws:cloudwatch/metricAlarm:MetricAlarm mediaprocessing-function-errors",
				"aws:cloudwatch/metricAlarm:MetricAlarm mediaprocessing-function-throttles",
				"aws:lambda/eventSourceMapping:EventSourceMapping mediaprocessing-ffmpeg",
				"aws:lambda/function:Function mediaprocessing-ffmpeg",
				"kubernetes:core/v1:ConfigMap mediaprocessing-job-template",
			}
			if !slices.Equal(added, want) {
				t.Errorf("the image tag adds %v, want %v", added, want)
			}
		})
	}
}

// mpOne returns the one resource of a type and logical name.
func mpOne(t *testing.T, r *harness.Result, typ, name string) *harness.Resource {
	t.Helper()
	res := r.Named(typ, name)
	if res == nil {
		t.Fatalf("no %s %q", typ, name)
	}
	return res
}

func TestMediaProcessingPerStack(t *testing.T) {
	forEachImageRun(t, func(t *testing.T, r *harness.Result) {
		w := mediaProcessingWant[r.Stack]
		comp := r.Component("cinegit:mediaprocessing:MediaProcessing")
		if comp == nil {
			t.Fatal("no media processing component")
		}
		fn := mpOne(t, r, "aws:lambda/function:Function", "mediaprocessing-ffmpeg")
		if fn.Parent != comp.URN {
			t.Error("the function must belong to the media processing component")
		}
		// No stack reserves concurrency (a new account's quota of 10 cannot leave Lambda its
		// 100 unreserved); each caps its pipeline on the queue's mapping instead.
		for path, want := range map[string]any{
			"memorySize": w.memory, "reservedConcurrentExecutions": nil, "timeout": 900.0,
			"ephemeralStorage.size": 10240.0, "packageType": "Image", "tracingConfig.mode": "Active",
		} {
			if got := fn.Input(path); got != want {
				t.Errorf("function %s = %v, want %v", path, got, want)
			}
		}
		mapping := mpOne(t, r, "aws:lambda/eventSourceMapping:EventSourceMapping", "mediaprocessing-ffmpeg")
		if got := mapping.Input("scalingConfig.maximumConcurrency"); got != w.concurrency {
			t.Errorf("mapping maximumConcurrency = %v, want %v", got, w.concurrency)
		}
		if !r.Preview && !strings.HasSuffix(fn.InputString("imageUri"), ":"+testImageTag) {
			t.Errorf("function image %q", fn.InputString("imageUri"))
		}
		logs := mpOne(t, r, "aws:cloudwatch/logGroup:LogGroup", "mediaprocessing-function")
		if logs.Input("retentionInDays") != w.logDays {
			t.Errorf("function log retention %v, want %v", logs.Input("retentionInDays"), w.logDays)
		}
		repo := mpOne(t, r, "aws:ecr/repository:Repository", "mediaprocessing-ffmpeg")
		if repo.Input("forceDelete") != w.forceDelete || repo.InputString("imageTagMutability") != "IMMUTABLE" {
			t.Errorf("repository forceDelete %v (want %v), mutability %s", repo.Input("forceDelete"), w.forceDelete, repo.InputString("imageTagMutability"))
		}
		for _, res := range []*harness.Resource{
			repo, mpOne(t, r, "aws:kms/key:Key", "mediaprocessing"), mpOne(t, r, "aws:efs/fileSystem:FileSystem", "mediaprocessing-scratch"),
		} {
			if res.Protect != w.protect {
				t.Errorf("%s protect=%v, want %v", res.Name, res.Protect, w.protect)
			}
		}
		quota := mpOne(t, r, "kubernetes:core/v1:ResourceQuota", "mediaprocessing-quota")
		if quota.InputString("spec.hard.pods") != w.quotaPods {
			t.Errorf("jobs quota pods %q, want %s", quota.InputString("spec.hard.pods"), w.quotaPods)
		}
	})
}

// The function reaches EFS in every AZ of the network's private subnets, and runs in them.
func TestMediaProcessingUsesThePrivateSubnetsOfEveryAZ(t *testing.T) {
	forEachImageRun(t, func(t *testing.T, r *harness.Result) {
		w := mediaProcessingWant[r.Stack]
		private := tierSubnets(r, "private")
		if len(private) != w.azs {
			t.Fatalf("%d private subnets, want %d", len(private), w.azs)
		}
		mts := r.ByType("aws:efs/mountTarget:MountTarget")
		if len(mts) != w.azs {
			t.Fatalf("%d mount targets, want one per AZ (%d)", len(mts), w.azs)
		}
		for _, mt := range mts {
			az := strings.TrimPrefix(mt.Name, "mediaprocessing-scratch-")
			subnet := r.Named("aws:ec2/subnet:Subnet", "network-private-"+az)
			if subnet == nil || !slices.Contains(mt.PropertyDependencies["subnetId"], subnet.URN) {
				t.Errorf("mount target %s is not in the private subnet of %s", mt.Name, az)
			}
			if !r.Preview && mt.InputString("subnetId") != subnet.ID {
				t.Errorf("mount target %s: subnet %q, want %q", mt.Name, mt.InputString("subnetId"), subnet.ID)
			}
		}
		fn := mpOne(t, r, "aws:lambda/function:Function", "mediaprocessing-ffmpeg")
		for _, s := range private {
			if !slices.Contains(fn.PropertyDependencies["vpcConfig"], s) {
				t.Errorf("the function does not run in %s", s)
			}
		}
		for _, mt := range mts {
			if !slices.Contains(fn.Dependencies, mt.URN) {
				t.Errorf("the function must wait for mount target %s", mt.Name)
			}
		}
		if fn.InputString("fileSystemConfig.localMountPath") != "/mnt/scratch" {
			t.Errorf("mount path %q", fn.InputString("fileSystemConfig.localMountPath"))
		}
	})
}

// New objects in MediaStore's media bucket reach the function: the bucket announces them on
// EventBridge, the rule matches that bucket, the queue feeds the function.
func TestMediaBucketEventsReachTheFunction(t *testing.T) {
	forEachImageRun(t, func(t *testing.T, r *harness.Result) {
		bucket := mpOne(t, r, "aws:s3/bucketV2:BucketV2", "mediastore-media")
		var notifies bool
		for _, n := range r.ByType("aws:s3/bucketNotification:BucketNotification") {
			if n.Input("eventbridge") == true && (n.InputString("bucket") == bucket.InputString("bucket") || r.Preview) {
				notifies = true
			}
		}
		if !notifies {
			t.Error("the media bucket must send its events to EventBridge")
		}
		rule := mpOne(t, r, "aws:cloudwatch/eventRule:EventRule", "mediaprocessing-object-created")
		target := mpOne(t, r, "aws:cloudwatch/eventTarget:EventTarget", "mediaprocessing-object-created")
		queue := mpOne(t, r, "aws:sqs/queue:Queue", "mediaprocessing")
		fn := mpOne(t, r, "aws:lambda/function:Function", "mediaprocessing-ffmpeg")
		mapping := mpOne(t, r, "aws:lambda/eventSourceMapping:EventSourceMapping", "mediaprocessing-ffmpeg")
		if len(rule.PropertyDependencies["eventPattern"]) == 0 {
			t.Error("the rule's pattern must come from MediaStore's media bucket")
		}
		if !r.DependsOn(target, rule) || !slices.Contains(target.PropertyDependencies["arn"], queue.URN) ||
			!slices.Contains(mapping.PropertyDependencies["eventSourceArn"], queue.URN) || !slices.Contains(mapping.PropertyDependencies["functionName"], fn.URN) {
			t.Error("bucket -> rule -> queue -> function wiring is broken")
		}
		mediaKey := mpOne(t, r, "aws:kms/key:Key", "mediastore-media")
		if r.Preview {
			return
		}
		var pattern struct {
			Detail struct{ Bucket struct{ Name []string } }
		}
		if err := json.Unmarshal([]byte(rule.InputString("eventPattern")), &pattern); err != nil {
			t.Fatal(err)
		}
		if len(pattern.Detail.Bucket.Name) != 1 || pattern.Detail.Bucket.Name[0] != bucket.InputString("bucket") {
			t.Errorf("the rule matches %v, not the media bucket %s", pattern.Detail.Bucket.Name, bucket.InputString("bucket"))
		}
		role := mpOne(t, r, "aws:iam/role:Role", "mediaprocessing-function")
		policy := role.InputString("inlinePolicies[0].policy")
		for _, want := range []string{bucket.Outputs["arn"].StringValue() + "/*", mediaKey.Outputs["arn"].StringValue()} {
			if !strings.Contains(policy, want) {
				t.Errorf("the function's role does not name %s", want)
			}
		}
		if fn.InputString("environment.variables.MEDIA_BUCKET") != bucket.InputString("bucket") {
			t.Errorf("MEDIA_BUCKET = %q", fn.InputString("environment.variables.MEDIA_BUCKET"))
		}
	})
}

// The EKS fallback lives on the cluster: its Kubernetes provider, its OIDC provider.
func TestMediaJobsRunOnTheCluster(t *testing.T) {
	forEachImageRun(t, func(t *testing.T, r *harness.Result) {
		k8s := mpOne(t, r, "pulumi:providers:kubernetes", "cluster-k8s")
		for _, typ := range []string{"Namespace", "ServiceAccount", "ResourceQuota", "LimitRange", "ConfigMap"} {
			for _, res := range r.ByType("kubernetes:core/v1:" + typ) {
				if strings.HasPrefix(res.Name, "mediaprocessing-") && harness.ProviderURN(res.Provider) != k8s.URN {
					t.Errorf("%s %s must use the cluster's Kubernetes provider", typ, res.Name)
				}
			}
		}
		ns := mpOne(t, r, "kubernetes:core/v1:Namespace", "mediaprocessing-namespace")
		if ns.InputString("metadata.name") != "media" {
			t.Errorf("namespace %q", ns.InputString("metadata.name"))
		}
		role := mpOne(t, r, "aws:iam/role:Role", "mediaprocessing-jobs")
		if len(role.PropertyDependencies["assumeRolePolicy"]) == 0 {
			t.Error("the jobs role must trust the cluster's OIDC provider")
		}
		if r.Preview {
			return
		}
		trust := role.InputString("assumeRolePolicy")
		for _, want := range []string{":oidc-provider/oidc.eks.", `"system:serviceaccount:media:media-jobs"`, `"sts.amazonaws.com"`, "sts:AssumeRoleWithWebIdentity"} {
			if !strings.Contains(trust, want) {
				t.Errorf("jobs role trust lacks %s: %s", want, trust)
			}
		}
		if strings.Contains(trust, "StringLike") {
			t.Error("the jobs role trust must match exactly (StringEquals)")
		}
		data, _ := mpOne(t, r, "kubernetes:core/v1:ConfigMap", "mediaprocessing-job-template").Input("data").(map[string]any)
		tmpl, _ := data["job.json"].(string)
		for _, want := range []string{`"workload":"media"`, `"key":"workload"`, `"effect":"NoSchedule"`, `"serviceAccountName":"media-jobs"`} {
			if !strings.Contains(tmpl, want) {
				t.Errorf("job template lacks %s (it must target the cluster's media nodes)", want)
			}
		}
	})
}

// The function's and the jobs' policies name exact resources for every data action: no
// wildcard actions, and no Resource "*" for S3, KMS, SQS, EFS or CloudWatch Logs.
func TestMediaProcessingIAMNamesExactResources(t *testing.T) {
	forEachImageRun(t, func(t *testing.T, r *harness.Result) {
		if r.Preview {
			return // the documents hold ARNs of resources being created: unknown in a preview
		}
		docs := map[string]string{
			"function": mpOne(t, r, "aws:iam/role:Role", "mediaprocessing-function").InputString("inlinePolicies[0].policy"),
			"jobs":     mpOne(t, r, "aws:iam/rolePolicy:RolePolicy", "mediaprocessing-jobs").InputString("policy"),
		}
		for who, text := range docs {
			var doc struct {
				Statement []struct {
					Sid      string
					Action   []string
					Resource []string
				}
			}
			if err := json.Unmarshal([]byte(text), &doc); err != nil {
				t.Fatalf("%s policy: %v", who, err)
			}
			if len(doc.Statement) == 0 {
				t.Fatalf("%s policy has no statements", who)
			}
			for _, st := range doc.Statement {
				for _, a := range st.Action {
					service, _, _ := strings.Cut(a, ":")
					if strings.Contains(a, "*") {
						t.Errorf("%s %s: wildcard action %s", who, st.Sid, a)
					}
					if slices.Contains([]string{"s3", "kms", "sqs", "elasticfilesystem", "logs"}, service) && slices.Contains(st.Resource, "*") {
						t.Errorf("%s %s: %s on Resource *", who, st.Sid, a)
					}
				}
			}
		}
	})
}

func TestMediaProcessingExports(t *testing.T) {
	forEachImageRun(t, func(t *testing.T, r *harness.Result) {
		for _, name := range []string{"mediaQueueUrl", "mediaFunctionName", "mediaFunctionStatus", "mediaEcrRepositoryUrl", "mediaJobsRoleArn", "mediaAlarmTopicArn"} {
			e, ok := r.Exports[name]
			if !ok {
				t.Errorf("no export %s", name)
				continue
			}
			if !r.Preview && (!e.Known || e.Value == "" || e.Value == nil) {
				t.Errorf("export %s is empty", name)
			}
		}
		if r.Preview {
			return
		}
		if got := r.Exports["mediaFunctionName"].Value; got != "cinegit-"+r.Stack+"-media-ffmpeg" {
			t.Errorf("mediaFunctionName = %v", got)
		}
		if got, _ := r.Exports["mediaFunctionStatus"].Value.(string); !strings.HasPrefix(got, "ready: ") || !strings.HasSuffix(got, ":"+testImageTag) {
			t.Errorf("mediaFunctionStatus = %q", got)
		}
	})
}

// TestMediaProcessingPassesThePolicyPack runs the whole pack over every stack and requires no
// finding, mandatory or advisory, on the media processing component's resources.
func TestMediaProcessingPassesThePolicyPack(t *testing.T) {
	check := func(t *testing.T, r *harness.Result) {
		rep := policyReport(t, r)
		comp := r.Component("cinegit:mediaprocessing:MediaProcessing")
		mine := map[string]bool{comp.URN: true}
		for _, d := range r.Descendants(comp.URN) {
			mine[d.URN] = true
		}
		for _, f := range append(rep.Violations(), rep.Warnings()...) {
			if mine[f.URN] {
				t.Errorf("%s %s: %s: %s", f.Type, f.Name, f.Rule, f.Message)
			}
		}
	}
	forEachRun(t, check)
	forEachImageRun(t, check)
}
