package mediaprocessing

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/kube/netpolcheck"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const (
	region     = "eu-west-1"
	account    = harness.AccountID
	issuerHost = "oidc.eks." + region + ".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
	oidcArn    = "arn:aws:iam::" + account + ":oidc-provider/" + issuerHost
	mediaArn   = "arn:aws:s3:::cinegit-dev-media-123456789012-eu-west-1"
	proxiesArn = "arn:aws:s3:::cinegit-dev-proxies-123456789012-eu-west-1"
	thumbsArn  = "arn:aws:s3:::cinegit-dev-thumbnails-123456789012-eu-west-1"
	mediaKey   = "arn:aws:kms:" + region + ":" + account + ":key/media-key"
)

// Resource types this component registers.
const (
	tKey         = "aws:kms/key:Key"
	tQueue       = "aws:sqs/queue:Queue"
	tRule        = "aws:cloudwatch/eventRule:EventRule"
	tTarget      = "aws:cloudwatch/eventTarget:EventTarget"
	tRepo        = "aws:ecr/repository:Repository"
	tRepoPolicy  = "aws:ecr/repositoryPolicy:RepositoryPolicy"
	tLifecycle   = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
	tSG          = "aws:ec2/securityGroup:SecurityGroup"
	tEgress      = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tIngress     = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tFS          = "aws:efs/fileSystem:FileSystem"
	tMount       = "aws:efs/mountTarget:MountTarget"
	tAccessPoint = "aws:efs/accessPoint:AccessPoint"
	tFSPolicy    = "aws:efs/fileSystemPolicy:FileSystemPolicy"
	tRole        = "aws:iam/role:Role"
	tInline      = "aws:iam/rolePolicy:RolePolicy"
	tLogGroup    = "aws:cloudwatch/logGroup:LogGroup"
	tFunction    = "aws:lambda/function:Function"
	tMapping     = "aws:lambda/eventSourceMapping:EventSourceMapping"
	tTopic       = "aws:sns/topic:Topic"
	tTopicPolicy = "aws:sns/topicPolicy:TopicPolicy"
	tSub         = "aws:sns/topicSubscription:TopicSubscription"
	tAlarm       = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tNamespace   = "kubernetes:core/v1:Namespace"
	tSA          = "kubernetes:core/v1:ServiceAccount"
	tQuota       = "kubernetes:core/v1:ResourceQuota"
	tLimits      = "kubernetes:core/v1:LimitRange"
	tConfigMap   = "kubernetes:core/v1:ConfigMap"
)

var azs = []string{region + "a", region + "b", region + "c"}

func testArgs() Args {
	return Args{
		Env: stackenv.Env{
			Naming:    naming.New("cinegit", "dev"),
			Tags:      tags.Set(tags.Base("cinegit", "dev", nil)),
			AccountID: account,
			Partition: harness.Partition,
			Region:    region,
		},
		VpcID:                pulumi.String("vpc-0123"),
		AvailabilityZones:    azs,
		PrivateSubnetIDs:     pulumi.ToStringArray([]string{"subnet-a", "subnet-b", "subnet-c"}),
		MediaBucketName:      pulumi.String("cinegit-dev-media-123456789012-eu-west-1"),
		MediaBucketArn:       pulumi.String(mediaArn),
		ProxiesBucketName:    pulumi.String("cinegit-dev-proxies-123456789012-eu-west-1"),
		ProxiesBucketArn:     pulumi.String(proxiesArn),
		ThumbnailsBucketName: pulumi.String("cinegit-dev-thumbnails-123456789012-eu-west-1"),
		ThumbnailsBucketArn:  pulumi.String(thumbsArn),
		MediaKeyArn:          pulumi.String(mediaKey),
		Function: Function{
			ImageTag: "ffmpeg-2026.11.1", Architecture: "x86_64", MemoryMB: 3008, EphemeralStorageMB: 10240,
			TimeoutSeconds: 900, LogRetentionDays: 14,
		},
		Queue:                 Queue{MaximumConcurrency: 2, BatchSize: 1, MaxBatchingWindowSeconds: 5, MaxReceiveCount: 3, MessageRetentionDays: 4, DeadLetterRetentionDays: 14},
		ImagesToKeep:          10,
		ScratchTransitionToIA: "AFTER_7_DAYS",
		Alarms:                Alarms{OldestMessageAgeSeconds: 3600, ErrorThreshold: 1, ThrottleThreshold: 1},
		OidcProviderArn:       pulumi.String(oidcArn),
		OidcIssuer:            pulumi.String(issuerHost),
		MediaNodeSelector:     map[string]string{"workload": "media"},
		MediaNodeTaint:        Taint{Key: "workload", Value: "media", Effect: "NoSchedule"},
		Jobs: Jobs{
			DefaultCPU: "2", DefaultMemory: "4Gi", MaxCPU: "7", MaxMemory: "12Gi", MaxEphemeralStorage: "150Gi",
			QuotaCPU: "16", QuotaMemory: "48Gi", QuotaPods: 4,
		},
		Network: kube.ClusterNetwork{
			VpcCIDR:           "10.0.0.0/16",
			ServiceCIDR:       pulumi.String("172.20.0.0/16"),
			ControlPlaneCIDRs: []string{"10.0.32.0/20", "10.0.48.0/20", "10.0.64.0/20"},
			NodeCIDRs:         []string{"10.0.32.0/20", "10.0.48.0/20", "10.0.64.0/20"},
		},
	}
}

// component runs New under mocks with testArgs wired to the test's providers, and exports the
// outputs the tests read.
var component = harness.ComponentTest[Args]{
	Region: region,
	Args: func(p harness.Providers) Args {
		args := testArgs()
		args.KubernetesProvider = p.Kubernetes
		return args
	},
	New: func(ctx *pulumi.Context, p harness.Providers, args Args) error {
		m, err := New(ctx, "mediaprocessing", args, pulumi.Provider(p.AWS))
		if err != nil {
			return err
		}
		ctx.Export("queueUrl", m.QueueURL)
		ctx.Export("functionName", m.FunctionName)
		ctx.Export("functionStatus", m.FunctionStatus)
		ctx.Export("ecrRepositoryUrl", m.EcrRepositoryURL)
		ctx.Export("jobsRoleArn", m.JobsRoleArn)
		ctx.Export("functionSecurityGroupId", m.FunctionSecurityGroupID)
		return nil
	},
}

// both runs f in update and preview mode.
func both(t *testing.T, mutate func(*Args), f func(t *testing.T, r *harness.Result)) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			f(t, component.MustRun(t, preview, mutate))
		})
	}
}

func one(t *testing.T, r *harness.Result, typ, name string) *harness.Resource {
	t.Helper()
	res := r.Named(typ, name)
	if res == nil {
		t.Fatalf("no %s %q", typ, name)
	}
	return res
}

// doc is an IAM policy document as rendered by pkg/iampolicy.
type doc struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal map[string][]string
		Action    []string
		Resource  []string
		Condition map[string]map[string][]string
	}
}

func parseDoc(t *testing.T, s string) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("policy %q: %v", s, err)
	}
	return d
}

func (d doc) sid(t *testing.T, sid string) (st struct {
	Sid       string
	Effect    string
	Principal map[string][]string
	Action    []string
	Resource  []string
	Condition map[string]map[string][]string
}) {
	t.Helper()
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s
		}
	}
	t.Fatalf("no statement %s in %+v", sid, d)
	return st
}

func TestBucketEventsReachTheFunctionThroughTheQueue(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		rule := one(t, r, tRule, "mediaprocessing-object-created")
		target := one(t, r, tTarget, "mediaprocessing-object-created")
		queue := one(t, r, tQueue, "mediaprocessing")
		dlq := one(t, r, tQueue, "mediaprocessing-dlq")
		fn := one(t, r, tFunction, "mediaprocessing-ffmpeg")
		mapping := one(t, r, tMapping, "mediaprocessing-ffmpeg")

		if !slices.Contains(target.PropertyDependencies["rule"], rule.URN) || !slices.Contains(target.PropertyDependencies["arn"], queue.URN) {
			t.Error("the rule's target must be the queue")
		}
		if !slices.Contains(target.PropertyDependencies["deadLetterConfig"], dlq.URN) {
			t.Error("events EventBridge cannot deliver must go to the dead-letter queue")
		}
		if !slices.Contains(mapping.PropertyDependencies["eventSourceArn"], queue.URN) || !slices.Contains(mapping.PropertyDependencies["functionName"], fn.URN) {
			t.Error("the event source mapping must connect the queue to the function")
		}
		if mapping.Input("batchSize") != 1.0 || mapping.Input("maximumBatchingWindowInSeconds") != 5.0 {
			t.Errorf("batch settings: %v %v", mapping.Input("batchSize"), mapping.Input("maximumBatchingWindowInSeconds"))
		}
		if got := mapping.Input("functionResponseTypes"); fmt.Sprint(got) != "[ReportBatchItemFailures]" {
			t.Errorf("partial batch failures must be reported, got %v", got)
		}
		if mapping.Input("scalingConfig.maximumConcurrency") != 2.0 {
			t.Errorf("the mapping must cap the pipeline's concurrency: %v", mapping.Input("scalingConfig"))
		}
		if r.Preview {
			return
		}
		var pattern map[string]any
		if err := json.Unmarshal([]byte(rule.InputString("eventPattern")), &pattern); err != nil {
			t.Fatal(err)
		}
		want := `map[detail:map[bucket:map[name:[cinegit-dev-media-123456789012-eu-west-1]]] detail-type:[Object Created] source:[aws.s3]]`
		if fmt.Sprint(pattern) != want {
			t.Errorf("event pattern %v, want %s", pattern, want)
		}
		// The queues accept messages from this rule only, over TLS only.
		ruleArn := "arn:aws:events:" + region + ":" + account + ":rule/cinegit-dev-media-object-created"
		for _, q := range []*harness.Resource{queue, dlq} {
			d := parseDoc(t, q.InputString("policy"))
			allow := d.sid(t, "AllowMediaObjectCreatedRule")
			if fmt.Sprint(allow.Principal["Service"]) != "[events.amazonaws.com]" || fmt.Sprint(allow.Action) != "[sqs:SendMessage]" ||
				fmt.Sprint(allow.Condition["ArnEquals"]["aws:SourceArn"]) != "["+ruleArn+"]" ||
				fmt.Sprint(allow.Resource) != "["+q.Outputs["arn"].StringValue()+"]" {
				t.Errorf("%s: queue policy must let exactly the rule send: %+v", q.Name, allow)
			}
			if deny := d.sid(t, "DenyInsecureTransport"); deny.Effect != "Deny" || deny.Condition["Bool"]["aws:SecureTransport"][0] != "false" {
				t.Errorf("%s: queue policy must deny non-TLS requests", q.Name)
			}
		}
	})
}

func TestQueuesAreEncryptedWithARedrivePolicy(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		key := one(t, r, tKey, "mediaprocessing")
		queue := one(t, r, tQueue, "mediaprocessing")
		dlq := one(t, r, tQueue, "mediaprocessing-dlq")
		for _, q := range []*harness.Resource{queue, dlq} {
			if !slices.Contains(q.PropertyDependencies["kmsMasterKeyId"], key.URN) || q.Input("sqsManagedSseEnabled") == true {
				t.Errorf("%s must be encrypted with the pipeline key", q.Name)
			}
		}
		if !slices.Contains(queue.PropertyDependencies["redrivePolicy"], dlq.URN) {
			t.Error("the queue's redrive policy must name the dead-letter queue")
		}
		if queue.Input("messageRetentionSeconds") != float64(4*86400) || dlq.Input("messageRetentionSeconds") != float64(14*86400) {
			t.Errorf("retention: queue %v, dlq %v", queue.Input("messageRetentionSeconds"), dlq.Input("messageRetentionSeconds"))
		}
		if r.Preview {
			return
		}
		var redrive map[string]any
		if err := json.Unmarshal([]byte(queue.InputString("redrivePolicy")), &redrive); err != nil {
			t.Fatal(err)
		}
		if redrive["deadLetterTargetArn"] != dlq.Outputs["arn"].StringValue() || redrive["maxReceiveCount"] != 3.0 {
			t.Errorf("redrive policy %v", redrive)
		}
		var allow map[string]any
		if err := json.Unmarshal([]byte(dlq.InputString("redriveAllowPolicy")), &allow); err != nil {
			t.Fatal(err)
		}
		if allow["redrivePermission"] != "byQueue" || fmt.Sprint(allow["sourceQueueArns"]) != "["+queue.Outputs["arn"].StringValue()+"]" {
			t.Errorf("only the media queue may redrive into the dead-letter queue: %v", allow)
		}
	})
}

func TestVisibilityTimeoutCoversSixFunctionRuns(t *testing.T) {
	for _, tc := range []struct{ timeout, window int }{{900, 5}, {60, 0}, {300, 300}} {
		r := component.MustRun(t, false, func(a *Args) {
			a.Function.TimeoutSeconds = tc.timeout
			a.Queue.MaxBatchingWindowSeconds = tc.window
			a.Alarms.OldestMessageAgeSeconds = 3600
		})
		queue := one(t, r, tQueue, "mediaprocessing")
		fn := one(t, r, tFunction, "mediaprocessing-ffmpeg")
		got := queue.Input("visibilityTimeoutSeconds").(float64)
		if got < 6*fn.Input("timeout").(float64) || got != float64(6*tc.timeout+tc.window) || got > 43200 {
			t.Errorf("timeout %d window %d: visibility timeout %v", tc.timeout, tc.window, got)
		}
	}
}

func TestMountTargetInEveryPrivateSubnetAZ(t *testing.T) {
	for _, zones := range [][]string{azs[:2], azs} {
		t.Run(fmt.Sprintf("%d AZs", len(zones)), func(t *testing.T) {
			mutate := func(a *Args) {
				a.AvailabilityZones = zones
				ids := make([]string, len(zones))
				for i, az := range zones {
					ids[i] = "subnet-" + az
				}
				a.PrivateSubnetIDs = pulumi.ToStringArray(ids)
			}
			both(t, mutate, func(t *testing.T, r *harness.Result) {
				fs := one(t, r, tFS, "mediaprocessing-scratch")
				sg := one(t, r, tSG, "mediaprocessing-scratch")
				mts := r.ByType(tMount)
				if len(mts) != len(zones) {
					t.Fatalf("%d mount targets for %d AZs", len(mts), len(zones))
				}
				subnets := map[string]bool{}
				for i, az := range zones {
					mt := one(t, r, tMount, "mediaprocessing-scratch-"+az)
					if !r.DependsOn(mt, fs) || !slices.Contains(mt.PropertyDependencies["securityGroups"], sg.URN) {
						t.Errorf("mount target in %s must be on the file system behind its security group", az)
					}
					if !r.Preview {
						subnets[mt.InputString("subnetId")] = true
						if mt.InputString("subnetId") != "subnet-"+zones[i] {
							t.Errorf("mount target in %s is in subnet %s", az, mt.InputString("subnetId"))
						}
					}
				}
				if !r.Preview && len(subnets) != len(zones) {
					t.Errorf("mount targets share subnets: %v", subnets)
				}
			})
		})
	}
}

func TestFunctionMountsTheAccessPointUnderMnt(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		fn := one(t, r, tFunction, "mediaprocessing-ffmpeg")
		ap := one(t, r, tAccessPoint, "mediaprocessing-scratch")
		path := fn.InputString("fileSystemConfig.localMountPath")
		if !strings.HasPrefix(path, "/mnt/") || strings.Count(path, "/") != 2 || path != ScratchMountPath {
			t.Errorf("mount path %q must be a directory directly under /mnt/", path)
		}
		if !slices.Contains(fn.PropertyDependencies["fileSystemConfig"], ap.URN) {
			t.Error("the function must mount the access point")
		}
		// AWS requires the mount targets to be available before the function is created.
		for _, mt := range r.ByType(tMount) {
			if !slices.Contains(fn.Dependencies, mt.URN) {
				t.Errorf("the function does not wait for %s", mt.Name)
			}
		}
		if ap.Input("posixUser.uid") != float64(ScratchUID) || ap.Input("posixUser.gid") != float64(ScratchGID) {
			t.Errorf("access point POSIX user: %v", ap.Input("posixUser"))
		}
		ci := ap.Input("rootDirectory.creationInfo")
		if ap.InputString("rootDirectory.path") == "" || ci == nil || ap.Input("rootDirectory.creationInfo.ownerUid") != float64(ScratchUID) ||
			ap.InputString("rootDirectory.creationInfo.permissions") != "0750" {
			t.Errorf("access point root directory must be created for the POSIX user: %v", ap.Input("rootDirectory"))
		}
		if fn.InputString("environment.variables.SCRATCH_DIR") != ScratchMountPath {
			t.Error("the function must be told where its scratch space is")
		}
	})
}

func TestFunctionSettings(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		fn := one(t, r, tFunction, "mediaprocessing-ffmpeg")
		repo := one(t, r, tRepo, "mediaprocessing-ffmpeg")
		key := one(t, r, tKey, "mediaprocessing")
		logs := one(t, r, tLogGroup, "mediaprocessing-function")
		sg := one(t, r, tSG, "mediaprocessing-function")
		for path, want := range map[string]any{
			"name": "cinegit-dev-media-ffmpeg", "packageType": "Image", "memorySize": 3008.0,
			"ephemeralStorage.size": 10240.0, "timeout": 900.0, "reservedConcurrentExecutions": nil,
			"tracingConfig.mode": "Active", "loggingConfig.logFormat": "JSON",
		} {
			if got := fn.Input(path); got != want {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		if fmt.Sprint(fn.Input("architectures")) != "[x86_64]" {
			t.Errorf("architectures %v", fn.Input("architectures"))
		}
		if !slices.Contains(fn.PropertyDependencies["imageUri"], repo.URN) || !slices.Contains(fn.PropertyDependencies["kmsKeyArn"], key.URN) ||
			!slices.Contains(fn.PropertyDependencies["loggingConfig"], logs.URN) || !slices.Contains(fn.PropertyDependencies["vpcConfig"], sg.URN) {
			t.Error("the function must use the repository's image, the pipeline key, its log group and its security group")
		}
		if logs.InputString("name") != "/aws/lambda/cinegit-dev-media-ffmpeg" || logs.Input("retentionInDays") != 14.0 ||
			!slices.Contains(logs.PropertyDependencies["kmsKeyId"], key.URN) {
			t.Errorf("log group must be /aws/lambda/<function>, retained and encrypted: %v", logs.Inputs)
		}
		// Environment variables carry names only, no secrets.
		vars, _ := fn.Input("environment.variables").(map[string]any)
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
			if l := strings.ToLower(k); strings.Contains(l, "secret") || strings.Contains(l, "password") || strings.Contains(l, "token") {
				t.Errorf("environment variable %s looks like a secret", k)
			}
		}
		sort.Strings(keys)
		if !r.Preview {
			if fmt.Sprint(keys) != "[MEDIA_BUCKET PROXIES_BUCKET SCRATCH_DIR THUMBNAILS_BUCKET]" {
				t.Errorf("environment: %v", keys)
			}
			if fn.InputString("imageUri") != repo.Outputs["repositoryUrl"].StringValue()+":ffmpeg-2026.11.1" {
				t.Errorf("image %q", fn.InputString("imageUri"))
			}
			if fmt.Sprint(fn.Input("vpcConfig.subnetIds")) != "[subnet-a subnet-b subnet-c]" {
				t.Errorf("the function must run in the private subnets: %v", fn.Input("vpcConfig.subnetIds"))
			}
			if fn.InputString("loggingConfig.logGroup") != logs.InputString("name") {
				t.Error("the function must log to the pre-created group")
			}
		}
	})
	r := component.MustRun(t, false, func(a *Args) { a.Function.Architecture = "arm64"; a.Function.MemoryMB = 10240 })
	if fn := one(t, r, tFunction, "mediaprocessing-ffmpeg"); fmt.Sprint(fn.Input("architectures")) != "[arm64]" || fn.Input("memorySize") != 10240.0 {
		t.Errorf("architecture and memory come from the arguments: %v %v", fn.Input("architectures"), fn.Input("memorySize"))
	}
}

func TestRepositoryIsImmutableScannedEncryptedAndPruned(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		repo := one(t, r, tRepo, "mediaprocessing-ffmpeg")
		key := one(t, r, tKey, "mediaprocessing")
		fn := one(t, r, tFunction, "mediaprocessing-ffmpeg")
		policy := one(t, r, tRepoPolicy, "mediaprocessing-ffmpeg")
		if repo.InputString("imageTagMutability") != "IMMUTABLE" || repo.Input("imageScanningConfiguration.scanOnPush") != true ||
			repo.InputString("encryptionConfigurations[0].encryptionType") != "KMS" ||
			!slices.Contains(repo.PropertyDependencies["encryptionConfigurations"], key.URN) || repo.Input("forceDelete") != false {
			t.Errorf("repository settings: %v", repo.Inputs)
		}
		if !slices.Contains(fn.Dependencies, policy.URN) {
			t.Error("the function must wait for the repository policy (Lambda would write its own)")
		}
		lc := one(t, r, tLifecycle, "mediaprocessing-ffmpeg")
		var rules struct {
			Rules []struct {
				Selection map[string]any
				Action    map[string]any
			}
		}
		if err := json.Unmarshal([]byte(lc.InputString("policy")), &rules); err != nil {
			t.Fatal(err)
		}
		if len(rules.Rules) != 1 || rules.Rules[0].Selection["countType"] != "imageCountMoreThan" || rules.Rules[0].Selection["countNumber"] != 10.0 ||
			rules.Rules[0].Action["type"] != "expire" {
			t.Errorf("lifecycle must keep the last 10 images: %+v", rules)
		}
		if r.Preview {
			return
		}
		d := parseDoc(t, policy.InputString("policy"))
		st := d.sid(t, "LambdaECRImageRetrievalPolicy")
		fnArn := "arn:aws:lambda:" + region + ":" + account + ":function:cinegit-dev-media-ffmpeg"
		if fmt.Sprint(st.Principal["Service"]) != "[lambda.amazonaws.com]" || fmt.Sprint(st.Action) != "[ecr:BatchGetImage ecr:GetDownloadUrlForLayer]" ||
			fmt.Sprint(st.Condition["StringLike"]["aws:sourceArn"]) != "["+fnArn+" "+fnArn+":*]" || fnArn != fn.Outputs["arn"].StringValue() {
			t.Errorf("only this function may pull: %+v", st)
		}
	})
	r := component.MustRun(t, false, func(a *Args) { a.EcrForceDelete = true; a.ImagesToKeep = 3 })
	if repo := one(t, r, tRepo, "mediaprocessing-ffmpeg"); repo.Input("forceDelete") != true {
		t.Error("forceDelete comes from the arguments")
	}
	if lc := one(t, r, tLifecycle, "mediaprocessing-ffmpeg"); !strings.Contains(lc.InputString("policy"), `"countNumber":3`) {
		t.Errorf("lifecycle count comes from the arguments: %s", lc.InputString("policy"))
	}
}

func TestScratchFileSystem(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		fs := one(t, r, tFS, "mediaprocessing-scratch")
		key := one(t, r, tKey, "mediaprocessing")
		if fs.Input("encrypted") != true || !slices.Contains(fs.PropertyDependencies["kmsKeyId"], key.URN) {
			t.Error("the file system must be encrypted with the pipeline key")
		}
		if fs.InputString("throughputMode") != "elastic" || fs.InputString("performanceMode") != "generalPurpose" {
			t.Errorf("throughput %q performance %q", fs.InputString("throughputMode"), fs.InputString("performanceMode"))
		}
		if fs.InputString("lifecyclePolicies[0].transitionToIa") != "AFTER_7_DAYS" || fs.InputString("lifecyclePolicies[1].transitionToPrimaryStorageClass") != "AFTER_1_ACCESS" {
			t.Errorf("lifecycle: %v", fs.Input("lifecyclePolicies"))
		}
		// Scratch is not worth keeping: EFS's automatic backups are off, explicitly.
		bp := one(t, r, "aws:efs/backupPolicy:BackupPolicy", "mediaprocessing-scratch")
		if bp.InputString("backupPolicy.status") != "DISABLED" || !slices.Contains(bp.PropertyDependencies["fileSystemId"], fs.URN) {
			t.Errorf("scratch backup policy %v", bp.Inputs)
		}
		if r.Preview {
			return
		}
		policy := one(t, r, tFSPolicy, "mediaprocessing-scratch")
		d := parseDoc(t, policy.InputString("policy"))
		tls := d.sid(t, "DenyInsecureTransport")
		if tls.Effect != "Deny" || fmt.Sprint(tls.Condition["Bool"]["aws:SecureTransport"]) != "[false]" || fmt.Sprint(tls.Principal["AWS"]) != "[*]" {
			t.Errorf("file system policy must deny non-TLS access: %+v", tls)
		}
		ap := one(t, r, tAccessPoint, "mediaprocessing-scratch")
		outside := d.sid(t, "DenyAccessOutsideTheAccessPoint")
		if outside.Effect != "Deny" || fmt.Sprint(outside.Condition["StringNotEquals"]["elasticfilesystem:AccessPointArn"]) != "["+ap.Outputs["arn"].StringValue()+"]" {
			t.Errorf("file system policy must deny mounts outside the access point: %+v", outside)
		}
	})
}

func TestSecurityGroupsReachOnlyTheFileSystemAndS3(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		fnSG := one(t, r, tSG, "mediaprocessing-function")
		efsSG := one(t, r, tSG, "mediaprocessing-scratch")
		for _, sg := range []*harness.Resource{fnSG, efsSG} {
			if sg.Input("ingress") != nil || sg.Input("egress") != nil {
				t.Errorf("%s: rules are separate resources", sg.Name)
			}
		}
		if len(r.ByType(tEgress)) != 2 || len(r.ByType(tIngress)) != 1 {
			t.Fatalf("want 2 egress rules and 1 ingress rule, got %d and %d", len(r.ByType(tEgress)), len(r.ByType(tIngress)))
		}
		nfs := one(t, r, tEgress, "mediaprocessing-function-nfs")
		if !slices.Contains(nfs.PropertyDependencies["securityGroupId"], fnSG.URN) || !slices.Contains(nfs.PropertyDependencies["referencedSecurityGroupId"], efsSG.URN) ||
			nfs.Input("fromPort") != 2049.0 || nfs.Input("toPort") != 2049.0 || nfs.InputString("ipProtocol") != "tcp" {
			t.Errorf("function egress to EFS: %v", nfs.Inputs)
		}
		s3 := one(t, r, tEgress, "mediaprocessing-function-s3")
		if s3.Input("fromPort") != 443.0 || s3.Input("toPort") != 443.0 || s3.Input("cidrIpv4") != nil {
			t.Errorf("function egress to S3 must be HTTPS to the prefix list, not a CIDR: %v", s3.Inputs)
		}
		if !r.Preview && s3.InputString("prefixListId") != "pl-offline0s3" {
			t.Errorf("S3 egress goes to S3's prefix list, got %q", s3.InputString("prefixListId"))
		}
		in := one(t, r, tIngress, "mediaprocessing-scratch-nfs")
		if !slices.Contains(in.PropertyDependencies["securityGroupId"], efsSG.URN) || !slices.Contains(in.PropertyDependencies["referencedSecurityGroupId"], fnSG.URN) ||
			in.Input("fromPort") != 2049.0 || in.Input("cidrIpv4") != nil {
			t.Errorf("EFS ingress must come from the function only: %v", in.Inputs)
		}
	})
}

// dataServices are the services whose actions must name exact resources.
var dataServices = []string{"s3", "kms", "sqs", "elasticfilesystem", "logs"}

func inlinePolicy(t *testing.T, role *harness.Resource) doc {
	t.Helper()
	return parseDoc(t, role.InputString("inlinePolicies[0].policy"))
}

func TestFunctionRoleIsLeastPrivilege(t *testing.T) {
	r := component.MustRun(t, false, nil)
	role := one(t, r, tRole, "mediaprocessing-function")
	trust := parseDoc(t, role.InputString("assumeRolePolicy"))
	if len(trust.Statement) != 1 || fmt.Sprint(trust.Statement[0].Principal["Service"]) != "[lambda.amazonaws.com]" {
		t.Errorf("only Lambda assumes the function's role: %+v", trust)
	}
	d := inlinePolicy(t, role)
	for _, st := range d.Statement {
		for _, a := range st.Action {
			svc, _, _ := strings.Cut(a, ":")
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %s", st.Sid, a)
			}
			if slices.Contains(dataServices, svc) && slices.Contains(st.Resource, "*") {
				t.Errorf("%s: data action %s on Resource *", st.Sid, a)
			}
		}
		if st.Effect != "Allow" {
			t.Errorf("%s: unexpected effect %s", st.Sid, st.Effect)
		}
	}
	queueArn := "arn:aws:sqs:" + region + ":" + account + ":cinegit-dev-media-ingest"
	fs := one(t, r, tFS, "mediaprocessing-scratch").Outputs["arn"].StringValue()
	ap := one(t, r, tAccessPoint, "mediaprocessing-scratch").Outputs["arn"].StringValue()
	key := one(t, r, tKey, "mediaprocessing").Outputs["arn"].StringValue()
	logGroup := "arn:aws:logs:" + region + ":" + account + ":log-group:/aws/lambda/cinegit-dev-media-ffmpeg"
	for sid, want := range map[string]string{
		"ReadMedia":                      "[s3:GetObject] [" + mediaArn + "/*]",
		"WriteRenditions":                "[s3:PutObject s3:AbortMultipartUpload] [" + proxiesArn + "/* " + thumbsArn + "/*]",
		"UseMediaKeyThroughS3":           "[kms:Decrypt kms:GenerateDataKey] [" + mediaKey + "]",
		"ConsumeMediaQueue":              "[sqs:ReceiveMessage sqs:DeleteMessage sqs:GetQueueAttributes sqs:ChangeMessageVisibility] [" + queueArn + "]",
		"DecryptMediaQueueMessages":      "[kms:Decrypt] [" + key + "]",
		"MountScratchThroughAccessPoint": "[elasticfilesystem:ClientMount elasticfilesystem:ClientWrite] [" + fs + "]",
		"WriteOwnLogs":                   "[logs:CreateLogStream logs:PutLogEvents] [" + logGroup + " " + logGroup + ":log-stream:*]",
	} {
		st := d.sid(t, sid)
		if got := fmt.Sprint(st.Action) + " " + fmt.Sprint(st.Resource); got != want {
			t.Errorf("%s: %s, want %s", sid, got, want)
		}
	}
	if c := d.sid(t, "UseMediaKeyThroughS3").Condition; fmt.Sprint(c["StringEquals"]["kms:ViaService"]) != "[s3."+region+".amazonaws.com]" {
		t.Errorf("the media key is usable through S3 only: %v", c)
	}
	if c := d.sid(t, "DecryptMediaQueueMessages").Condition; fmt.Sprint(c["StringEquals"]["kms:ViaService"]) != "[sqs."+region+".amazonaws.com]" ||
		fmt.Sprint(c["StringEquals"]["kms:EncryptionContext:aws:sqs:arn"]) != "["+queueArn+"]" {
		t.Errorf("the pipeline key is usable through SQS for the queue only: %v", c)
	}
	if c := d.sid(t, "MountScratchThroughAccessPoint").Condition; fmt.Sprint(c["StringEquals"]["elasticfilesystem:AccessPointArn"]) != "["+ap+"]" {
		t.Errorf("EFS only through the access point: %v", c)
	}
	if fmt.Sprint(d.sid(t, "ManageNetworkInterfaces").Resource) != "[arn:aws:ec2:"+region+":"+account+":*]" {
		t.Error("network interfaces are managed in this account and region only")
	}
	if len(r.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")) != 0 {
		t.Error("no managed policies: their logs:* and ec2 grants are broader than the function needs")
	}
}

func TestJobsRoleTrustsExactlyTheServiceAccount(t *testing.T) {
	r := component.MustRun(t, false, nil)
	role := one(t, r, tRole, "mediaprocessing-jobs")
	if role.InputString("name") != "cinegit-dev-irsa-media-media-jobs" {
		t.Errorf("role name %q", role.InputString("name"))
	}
	var trust struct {
		Statement []struct {
			Effect    string
			Action    any
			Principal map[string]any
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(role.InputString("assumeRolePolicy")), &trust); err != nil {
		t.Fatal(err)
	}
	if len(trust.Statement) != 1 {
		t.Fatalf("one trust statement, got %+v", trust)
	}
	st := trust.Statement[0]
	want := map[string]map[string]any{"StringEquals": {
		issuerHost + ":sub": "system:serviceaccount:media:media-jobs",
		issuerHost + ":aud": "sts.amazonaws.com",
	}}
	if st.Effect != "Allow" || st.Action != "sts:AssumeRoleWithWebIdentity" || st.Principal["Federated"] != oidcArn || fmt.Sprint(st.Condition) != fmt.Sprint(want) {
		t.Errorf("trust must be exactly media/media-jobs through the cluster's OIDC provider: %+v", st)
	}
}

func TestJobsRoleHasTheFunctionsDataPermissionsOnly(t *testing.T) {
	r := component.MustRun(t, false, nil)
	fnDoc := inlinePolicy(t, one(t, r, tRole, "mediaprocessing-function"))
	jobs := one(t, r, tInline, "mediaprocessing-jobs")
	jobsDoc := parseDoc(t, jobs.InputString("policy"))
	var sids []string
	for _, st := range jobsDoc.Statement {
		sids = append(sids, st.Sid)
		if fmt.Sprint(st) != fmt.Sprint(fnDoc.sid(t, st.Sid)) {
			t.Errorf("%s differs from the function's statement", st.Sid)
		}
	}
	want := []string{"ReadMedia", "WriteRenditions", "UseMediaKeyThroughS3", "ConsumeMediaQueue", "DecryptMediaQueueMessages"}
	if fmt.Sprint(sids) != fmt.Sprint(want) {
		t.Errorf("jobs statements %v, want %v (no EFS, logs, network or X-Ray)", sids, want)
	}
}

func TestKubernetesFallbackNamespace(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		ns := one(t, r, tNamespace, "mediaprocessing-namespace")
		sa := one(t, r, tSA, "mediaprocessing-jobs")
		quota := one(t, r, tQuota, "mediaprocessing-quota")
		limits := one(t, r, tLimits, "mediaprocessing-limits")
		cm := one(t, r, tConfigMap, "mediaprocessing-job-template")
		k8s := r.Named("pulumi:providers:kubernetes", "k8s")
		for _, res := range []*harness.Resource{ns, sa, quota, limits, cm} {
			if harness.ProviderURN(res.Provider) != k8s.URN {
				t.Errorf("%s must use the cluster's Kubernetes provider", res.Name)
			}
			if res != ns && !r.DependsOn(res, ns) {
				t.Errorf("%s must be created in the namespace", res.Name)
			}
		}
		if ns.InputString("metadata.name") != "media" {
			t.Errorf("namespace %q", ns.InputString("metadata.name"))
		}
		nsLabels, _ := ns.Input("metadata.labels").(map[string]any)
		for _, mode := range []string{"enforce", "audit", "warn"} {
			if nsLabels["pod-security.kubernetes.io/"+mode] != "restricted" {
				t.Errorf("pod security %s must be restricted: %v", mode, nsLabels)
			}
		}
		role := one(t, r, tRole, "mediaprocessing-jobs")
		if sa.InputString("metadata.name") != "media-jobs" || sa.Input("automountServiceAccountToken") != false ||
			!slices.Contains(sa.PropertyDependencies["metadata"], role.URN) {
			t.Errorf("service account: %v", sa.Inputs)
		}
		if !r.Preview {
			ann, _ := sa.Input("metadata.annotations").(map[string]any)
			if ann["eks.amazonaws.com/role-arn"] != role.Outputs["arn"].StringValue() {
				t.Errorf("service account must carry the IRSA role: %v", ann)
			}
		}
		hard, _ := quota.Input("spec.hard").(map[string]any)
		if hard["requests.cpu"] != "16" || hard["limits.memory"] != "48Gi" || hard["pods"] != "4" {
			t.Errorf("quota: %v", hard)
		}
		if limits.InputString("spec.limits[0].type") != "Container" || limits.InputString("spec.limits[0].default.cpu") != "2" ||
			limits.InputString("spec.limits[0].defaultRequest.memory") != "4Gi" || limits.InputString("spec.limits[0].max.memory") != "12Gi" ||
			limits.InputString("spec.limits[0].max.ephemeral-storage") != "150Gi" {
			t.Errorf("limit range: %v", limits.Input("spec"))
		}
	})
}

// Nothing reaches a job, and a job reaches only DNS, HTTPS outside the VPC and the cluster's
// Services, and the interface endpoints where the VPC has them.
func TestJobsReachOnlyDNSHTTPSOutAndTheEndpoints(t *testing.T) {
	job := netpolcheck.Endpoint{Namespace: Namespace, Labels: appLabels, IP: "10.0.40.9"}
	ip := func(a string) netpolcheck.Endpoint { return netpolcheck.Endpoint{IP: a} }
	for _, tc := range []struct {
		name      string
		endpoints bool
		from, to  netpolcheck.Endpoint
		proto     string
		port      int
		want      bool
	}{
		{"S3 and STS on the internet", false, job, ip("52.216.8.10"), "TCP", 443, true},
		{"kube-dns", false, job, netpolcheck.Endpoint{Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}}, "UDP", 53, true},
		{"the VPC on 443", false, job, ip("10.0.50.4"), "TCP", 443, false},
		{"a ClusterIP on 443", false, job, ip("172.20.0.1"), "TCP", 443, false},
		{"the internet on 80", false, job, ip("52.216.8.10"), "TCP", 80, false},
		{"the database", false, job, ip("10.0.96.5"), "TCP", 5432, false},
		{"interface endpoints where there are none", false, job, ip("10.0.50.4"), "TCP", 443, false},
		{"interface endpoints", true, job, ip("10.0.50.4"), "TCP", 443, true},
		{"a pod calling a job", false, netpolcheck.Endpoint{Namespace: "cinegit", Labels: map[string]string{"app": "media"}}, job, "TCP", 8080, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := component.MustRun(t, false, func(a *Args) {
				if tc.endpoints {
					a.Network.EndpointCIDRs = a.Network.NodeCIDRs
				}
			})
			if got := netpolcheck.Registered(r).Allowed(tc.from, tc.to, tc.proto, tc.port); got != tc.want {
				t.Errorf("%v -> %v %s/%d: allowed %v, want %v", tc.from, tc.to, tc.proto, tc.port, got, tc.want)
			}
		})
	}
}

func TestJobTemplateRunsOnMediaNodesUnderRestrictedPodSecurity(t *testing.T) {
	r := component.MustRun(t, false, nil)
	cm := one(t, r, tConfigMap, "mediaprocessing-job-template")
	var job struct {
		Kind string
		Spec struct {
			Template struct {
				Spec struct {
					ServiceAccountName string
					NodeSelector       map[string]string
					Tolerations        []map[string]string
					SecurityContext    map[string]any
					Containers         []struct {
						Image           string
						SecurityContext map[string]any
					}
				}
			}
		}
	}
	data, _ := cm.Input("data").(map[string]any)
	text, _ := data["job.json"].(string)
	if err := json.Unmarshal([]byte(text), &job); err != nil {
		t.Fatal(err)
	}
	s := job.Spec.Template.Spec
	if job.Kind != "Job" || s.ServiceAccountName != "media-jobs" || s.NodeSelector["workload"] != "media" || s.NodeSelector["kubernetes.io/arch"] != "amd64" {
		t.Errorf("job placement: %+v", job)
	}
	if len(s.Tolerations) != 1 || s.Tolerations[0]["key"] != "workload" || s.Tolerations[0]["value"] != "media" || s.Tolerations[0]["effect"] != "NoSchedule" {
		t.Errorf("job must tolerate the media taint: %v", s.Tolerations)
	}
	if s.SecurityContext["runAsNonRoot"] != true || len(s.Containers) != 1 || s.Containers[0].SecurityContext["allowPrivilegeEscalation"] != false {
		t.Errorf("job must satisfy the restricted pod security standard: %+v", s)
	}
	repo := one(t, r, tRepo, "mediaprocessing-ffmpeg")
	if s.Containers[0].Image != repo.Outputs["repositoryUrl"].StringValue()+":ffmpeg-2026.11.1" {
		t.Errorf("job image %q", s.Containers[0].Image)
	}
}

// The templates a job is made from: no running job is disrupted by the node provisioner, every
// job ends within its deadline (shorter than the pools' termination grace), and a GPU template
// exists exactly where the cluster has GPU nodes, asking for one GPU and NVENC's libraries.
func TestJobTemplatesForCPUAndGPUNodes(t *testing.T) {
	type job struct {
		Spec struct {
			ActiveDeadlineSeconds int
			Template              struct {
				Metadata struct{ Annotations map[string]string }
				Spec     struct {
					NodeSelector map[string]string
					Tolerations  []map[string]string
					Containers   []struct {
						Env       []map[string]string
						Resources struct{ Limits map[string]any }
					}
				}
			}
		}
	}
	parse := func(t *testing.T, text string) job {
		var j job
		if err := json.Unmarshal([]byte(text), &j); err != nil {
			t.Fatal(err)
		}
		return j
	}
	for _, gpu := range []bool{false, true} {
		t.Run(fmt.Sprintf("gpu=%v", gpu), func(t *testing.T) {
			r := component.MustRun(t, false, func(a *Args) {
				a.JobAnnotations = map[string]string{"karpenter.sh/do-not-disrupt": "true"}
				if gpu {
					a.GPUNodeSelector = map[string]string{"workload": "gpu"}
					a.GPUNodeTaint = Taint{Key: "nvidia.com/gpu", Value: "true", Effect: "NoSchedule"}
				}
			})
			data, _ := one(t, r, tConfigMap, "mediaprocessing-job-template").Input("data").(map[string]any)
			cpu := parse(t, data["job.json"].(string))
			if cpu.Spec.Template.Metadata.Annotations["karpenter.sh/do-not-disrupt"] != "true" || cpu.Spec.ActiveDeadlineSeconds != JobDeadlineSeconds {
				t.Errorf("CPU job: annotations %v deadline %d", cpu.Spec.Template.Metadata.Annotations, cpu.Spec.ActiveDeadlineSeconds)
			}
			if _, ok := cpu.Spec.Template.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; ok {
				t.Error("the CPU job asks for a GPU")
			}
			text, ok := data[GPUTemplateKey].(string)
			if ok != gpu {
				t.Fatalf("GPU template present=%v, want %v", ok, gpu)
			}
			if !gpu {
				return
			}
			g := parse(t, text)
			s := g.Spec.Template.Spec
			if s.NodeSelector["workload"] != "gpu" || s.NodeSelector["kubernetes.io/arch"] != "amd64" || len(s.Tolerations) != 1 || s.Tolerations[0]["key"] != "nvidia.com/gpu" {
				t.Errorf("GPU job placement %v %v", s.NodeSelector, s.Tolerations)
			}
			if s.Containers[0].Resources.Limits["nvidia.com/gpu"] != 1.0 || g.Spec.Template.Metadata.Annotations["karpenter.sh/do-not-disrupt"] != "true" {
				t.Errorf("GPU job limits %v", s.Containers[0].Resources.Limits)
			}
			caps := ""
			for _, e := range s.Containers[0].Env {
				if e["name"] == "NVIDIA_DRIVER_CAPABILITIES" {
					caps = e["value"]
				}
			}
			if !strings.Contains(caps, "video") {
				t.Errorf("NVIDIA_DRIVER_CAPABILITIES %q: NVENC needs video", caps)
			}
		})
	}
}

func TestKeyPolicyLetsServicesUseThePipelineKeyForTheirResourcesOnly(t *testing.T) {
	r := component.MustRun(t, false, nil)
	key := one(t, r, tKey, "mediaprocessing")
	if key.Input("enableKeyRotation") != true {
		t.Error("rotation")
	}
	d := parseDoc(t, key.InputString("policy"))
	// EventBridge's deliveries to the encrypted queues: what the SQS Developer Guide asks of
	// an AWS service event source's key policy (kms:GenerateDataKey and kms:Decrypt for the
	// service principal), bound to the two queues by SQS's encryption context, and no
	// aws:SourceArn/aws:SourceAccount: the SNS Developer Guide says those are not supported
	// for EventBridge in a KMS key policy, and a key the request lacks denies silently.
	ev := d.sid(t, "AllowEventBridgeToEncryptForTheQueues")
	queues := "[arn:aws:sqs:" + region + ":" + account + ":cinegit-dev-media-ingest arn:aws:sqs:" + region + ":" + account + ":cinegit-dev-media-ingest-dlq]"
	if ev.Effect != "Allow" || fmt.Sprint(ev.Principal["Service"]) != "[events.amazonaws.com]" ||
		fmt.Sprint(ev.Action) != "[kms:GenerateDataKey kms:Decrypt]" || fmt.Sprint(ev.Resource) != "[*]" {
		t.Errorf("EventBridge must be able to generate and decrypt the queues' data keys: %+v", ev)
	}
	if len(ev.Condition) != 1 || fmt.Sprint(ev.Condition["StringEquals"]) != "map[kms:EncryptionContext:aws:sqs:arn:"+queues+"]" {
		t.Errorf("EventBridge's grant must be bound to the queues by encryption context only: %v", ev.Condition)
	}
	for _, st := range d.Statement {
		if fmt.Sprint(st.Principal["Service"]) != "[events.amazonaws.com]" {
			continue
		}
		for op, kv := range st.Condition {
			for k := range kv {
				if l := strings.ToLower(k); l == "aws:sourcearn" || l == "aws:sourceaccount" || l == "aws:sourceorgid" {
					t.Errorf("%s: %s %s is not documented for EventBridge's KMS requests: deliveries would fail", st.Sid, op, k)
				}
			}
		}
	}
	cw := d.sid(t, "AllowCloudWatchAlarmsToEncryptForTheTopic")
	if fmt.Sprint(cw.Principal["Service"]) != "[cloudwatch.amazonaws.com]" ||
		fmt.Sprint(cw.Condition["ArnLike"]["aws:SourceArn"]) != "[arn:aws:cloudwatch:"+region+":"+account+":alarm:cinegit-dev-media-processing-*]" {
		t.Errorf("CloudWatch statement: %+v", cw)
	}
	d.sid(t, "CloudWatchLogsEncryptsThisAccountsLogGroups")
	for _, a := range r.ByType(tAlarm) {
		if !strings.HasPrefix(a.InputString("name"), "cinegit-dev-media-processing-") {
			t.Errorf("alarm %q falls outside the key policy's alarm pattern", a.InputString("name"))
		}
	}
}

func TestAlarmsNotifyTheEncryptedTopic(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		topic := one(t, r, tTopic, "mediaprocessing-alarms")
		key := one(t, r, tKey, "mediaprocessing")
		if !slices.Contains(topic.PropertyDependencies["kmsMasterKeyId"], key.URN) {
			t.Error("the alarm topic must be encrypted with the pipeline key")
		}
		want := map[string]struct {
			metric, watched string
			threshold       float64
		}{
			"mediaprocessing-dlq-not-empty":           {"ApproximateNumberOfMessagesVisible", "mediaprocessing-dlq", 0},
			"mediaprocessing-queue-age":               {"ApproximateAgeOfOldestMessage", "mediaprocessing", 3600},
			"mediaprocessing-rule-failed-invocations": {"FailedInvocations", "mediaprocessing-object-created", 1},
			"mediaprocessing-rule-dlq-failures":       {"InvocationsFailedToBeSentToDlq", "mediaprocessing-object-created", 1},
			"mediaprocessing-function-errors":         {"Errors", "mediaprocessing-ffmpeg", 1},
			"mediaprocessing-function-throttles":      {"Throttles", "mediaprocessing-ffmpeg", 1},
		}
		alarms := r.ByType(tAlarm)
		if len(alarms) != len(want) {
			t.Fatalf("%d alarms, want %d", len(alarms), len(want))
		}
		for _, a := range alarms {
			w, ok := want[a.Name]
			if !ok {
				t.Errorf("unexpected alarm %s", a.Name)
				continue
			}
			watched := r.ByURN(a.PropertyDependencies["dimensions"][0])
			if a.InputString("metricName") != w.metric || a.Input("threshold") != w.threshold || watched == nil || watched.Name != w.watched {
				t.Errorf("%s: %s > %v on %v", a.Name, a.InputString("metricName"), a.Input("threshold"), a.PropertyDependencies["dimensions"])
			}
			if !slices.Contains(a.PropertyDependencies["alarmActions"], topic.URN) {
				t.Errorf("%s must notify the topic", a.Name)
			}
		}
		if len(r.ByType(tSub)) != 0 {
			t.Error("no email subscription unless one is configured")
		}
		if !r.Preview {
			d := parseDoc(t, one(t, r, tTopicPolicy, "mediaprocessing-alarms").InputString("policy"))
			if st := d.sid(t, "AllowPipelineAlarms"); fmt.Sprint(st.Principal["Service"]) != "[cloudwatch.amazonaws.com]" {
				t.Errorf("topic policy: %+v", st)
			}
		}
	})
	r := component.MustRun(t, false, func(a *Args) { a.Alarms.Email = "media-oncall@cinegit.io" })
	if sub := one(t, r, tSub, "mediaprocessing-alarms-email"); sub.InputString("protocol") != "email" || sub.InputString("endpoint") != "media-oncall@cinegit.io" {
		t.Errorf("subscription: %v", sub.Inputs)
	}
}

func TestProtectCoversTheStatefulResources(t *testing.T) {
	for _, protect := range []bool{false, true} {
		r := component.MustRun(t, false, func(a *Args) { a.Protect = protect })
		for _, res := range []*harness.Resource{
			one(t, r, tKey, "mediaprocessing"), one(t, r, tFS, "mediaprocessing-scratch"), one(t, r, tRepo, "mediaprocessing-ffmpeg"),
		} {
			if res.Protect != protect {
				t.Errorf("%s protect=%v, want %v", res.Name, res.Protect, protect)
			}
		}
		if one(t, r, tQueue, "mediaprocessing").Protect {
			t.Error("queues hold transient messages and are not protected")
		}
	}
}

func TestEveryResourceIsTaggedAndParented(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		comp := r.Component("cinegit:mediaprocessing:MediaProcessing")
		if comp == nil {
			t.Fatal("no component")
		}
		untagged := map[string]bool{tTarget: true, tRepoPolicy: true, tLifecycle: true, tMount: true, tFSPolicy: true, tInline: true,
			tTopicPolicy: true, tSub: true, "aws:kms/alias:Alias": true, "aws:efs/backupPolicy:BackupPolicy": true}
		for _, res := range r.Descendants(comp.URN) {
			if res.Parent != comp.URN {
				t.Errorf("%s %s is not a direct child of the component", res.Type, res.Name)
			}
			if !strings.HasPrefix(res.Type, "aws:") || untagged[res.Type] {
				continue
			}
			for k, v := range map[string]string{"project": "cinegit", "environment": "dev", "managed-by": "pulumi"} {
				if res.InputString("tags."+k) != v {
					t.Errorf("%s %s: tag %s=%q", res.Type, res.Name, k, res.InputString("tags."+k))
				}
			}
			if res.InputString("tags.Name") == "" {
				t.Errorf("%s %s has no Name tag", res.Type, res.Name)
			}
		}
	})
}

func TestPreviewRegistersTheSameResources(t *testing.T) {
	urns := func(r *harness.Result) string {
		var out []string
		for _, res := range r.Resources {
			out = append(out, res.URN)
		}
		sort.Strings(out)
		return strings.Join(out, "\n")
	}
	if up, pre := urns(component.MustRun(t, false, nil)), urns(component.MustRun(t, true, nil)); up != pre {
		t.Fatalf("preview and update differ:\n%s\n---\n%s", up, pre)
	}
}

func TestOutputs(t *testing.T) {
	r := component.MustRun(t, false, nil)
	for name, want := range map[string]string{
		"queueUrl":         "https://sqs." + region + ".amazonaws.com/" + account + "/cinegit-dev-media-ingest",
		"functionName":     "cinegit-dev-media-ffmpeg",
		"ecrRepositoryUrl": account + ".dkr.ecr." + region + ".amazonaws.com/cinegit-dev-ffmpeg",
		"jobsRoleArn":      "arn:aws:iam::" + account + ":role/cinegit-dev-irsa-media-media-jobs",
	} {
		if e := r.Exports[name]; !e.Known || e.Value != want {
			t.Errorf("%s = %v, want %s", name, e.Value, want)
		}
	}
}

func TestInvalidArgumentsAreRefused(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Args)
		want   string
	}{
		{"mapping concurrency below Lambda's minimum", func(a *Args) { a.Queue.MaximumConcurrency = 1 }, "2-1000"},
		{"mapping concurrency above Lambda's maximum", func(a *Args) { a.Queue.MaximumConcurrency = 1001 }, "2-1000"},
		{"reservation below the mapping's cap", func(a *Args) { r := 5; a.Queue.MaximumConcurrency = 10; a.Function.ReservedConcurrency = &r }, "throttled"},
		{"latest tag", func(a *Args) { a.Function.ImageTag = "latest" }, "versioned"},
		{"memory beyond Lambda", func(a *Args) { a.Function.MemoryMB = 10241 }, "128-10240"},
		{"ephemeral storage beyond Lambda", func(a *Args) { a.Function.EphemeralStorageMB = 20000 }, "512-10240"},
		{"timeout beyond 15 minutes", func(a *Args) { a.Function.TimeoutSeconds = 901 }, "1-900"},
		{"unknown architecture", func(a *Args) { a.Function.Architecture = "aarch64" }, "x86_64 or arm64"},
		{"one AZ", func(a *Args) { a.AvailabilityZones = azs[:1] }, "at least 2"},
		{"bad AZ", func(a *Args) { a.AvailabilityZones = []string{"a", "b"} }, "availability zone name"},
		{"no Kubernetes provider", func(a *Args) { a.KubernetesProvider = nil }, "KubernetesProvider"},
		{"no media taint", func(a *Args) { a.MediaNodeTaint = Taint{} }, "MediaNodeTaint"},
		{"dead letters expire first", func(a *Args) { a.Queue.DeadLetterRetentionDays = 4 }, "retention"},
		{"age alarm within a run", func(a *Args) { a.Alarms.OldestMessageAgeSeconds = 60 }, "exceed the function timeout"},
		{"no VPC range for the network policies", func(a *Args) { a.Network.VpcCIDR = "" }, "cluster network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := component.Run(false, tt.mutate)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
		})
	}
}

// The rule's permanent delivery failures alarm on the topic: a queue or key policy that refuses
// EventBridge would otherwise drop every new-media event without any queue alarm firing.
// Metric, namespace and dimension from "Monitoring Amazon EventBridge" (eb-monitoring.html):
// AWS/Events, RuleName for rules on the default bus.
func TestRuleDeliveryFailuresAlarm(t *testing.T) {
	for _, pending := range []bool{false, true} {
		t.Run(fmt.Sprintf("pending=%v", pending), func(t *testing.T) {
			both(t, func(a *Args) {
				if pending {
					a.Function.ImageTag = ""
				}
			}, func(t *testing.T, r *harness.Result) {
				rule := one(t, r, tRule, "mediaprocessing-object-created")
				topic := one(t, r, tTopic, "mediaprocessing-alarms")
				for name, metric := range map[string]string{
					"mediaprocessing-rule-failed-invocations": "FailedInvocations",
					"mediaprocessing-rule-dlq-failures":       "InvocationsFailedToBeSentToDlq",
				} {
					a := one(t, r, tAlarm, name)
					if a.InputString("namespace") != "AWS/Events" || a.InputString("metricName") != metric || a.InputString("statistic") != "Sum" ||
						a.InputString("comparisonOperator") != "GreaterThanOrEqualToThreshold" || a.Input("threshold") != 1.0 ||
						a.InputString("treatMissingData") != "notBreaching" {
						t.Errorf("%s: %v", name, a.Inputs)
					}
					if !slices.Contains(a.PropertyDependencies["dimensions"], rule.URN) || !slices.Contains(a.PropertyDependencies["alarmActions"], topic.URN) {
						t.Errorf("%s must watch the rule and notify the topic", name)
					}
					if !r.Preview && a.InputString("dimensions.RuleName") != "cinegit-dev-media-object-created" {
						t.Errorf("%s dimensions %v", name, a.Input("dimensions"))
					}
					if !strings.HasPrefix(a.InputString("name"), "cinegit-dev-media-processing-") {
						t.Errorf("%s %q falls outside the key and topic policies' alarm pattern", name, a.InputString("name"))
					}
				}
			})
		})
	}
}

// Without an image tag the first deployment of a stack must succeed: everything but the
// function and what needs it, and an output that names exactly what is missing.
func TestWithoutImageTagTheFunctionWaits(t *testing.T) {
	pending := func(a *Args) { a.Function.ImageTag = "" }
	both(t, pending, func(t *testing.T, r *harness.Result) {
		for _, typ := range []string{tFunction, tMapping, tConfigMap} {
			if got := r.ByType(typ); len(got) != 0 {
				t.Errorf("%d %s registered before the image exists", len(got), typ)
			}
		}
		for _, a := range r.ByType(tAlarm) {
			if strings.Contains(a.Name, "function-") {
				t.Errorf("alarm %s watches a function that does not exist", a.Name)
			}
		}
		for _, want := range [][2]string{
			{tRepo, "mediaprocessing-ffmpeg"}, {tRepoPolicy, "mediaprocessing-ffmpeg"}, {tQueue, "mediaprocessing"}, {tQueue, "mediaprocessing-dlq"},
			{tRule, "mediaprocessing-object-created"}, {tTarget, "mediaprocessing-object-created"}, {tTopic, "mediaprocessing-alarms"},
			{tAlarm, "mediaprocessing-queue-age"}, {tAlarm, "mediaprocessing-dlq-not-empty"}, {tRole, "mediaprocessing-function"},
			{tNamespace, "mediaprocessing-namespace"}, {tRole, "mediaprocessing-jobs"},
		} {
			one(t, r, want[0], want[1])
		}
		if r.Preview {
			return
		}
		if e := r.Exports["functionName"]; !e.Known || e.Value != "" {
			t.Errorf("functionName = %v, want empty while pending", e.Value)
		}
		status, _ := r.Exports["functionStatus"].Value.(string)
		repo := account + ".dkr.ecr." + region + ".amazonaws.com/cinegit-dev-ffmpeg"
		for _, want := range []string{"pending", "push the image to " + repo + ":<tag>", "cinegit:mediaProcessing.imageTag"} {
			if !strings.Contains(status, want) {
				t.Errorf("functionStatus %q lacks %q", status, want)
			}
		}
	})
	urns := func(r *harness.Result) []string {
		var out []string
		for _, res := range r.Resources {
			out = append(out, res.URN)
		}
		sort.Strings(out)
		return out
	}
	if up, pre := urns(component.MustRun(t, false, pending)), urns(component.MustRun(t, true, pending)); !slices.Equal(up, pre) {
		t.Errorf("preview and update register different resources while pending")
	}
	r := component.MustRun(t, false, nil)
	if status, _ := r.Exports["functionStatus"].Value.(string); !strings.HasPrefix(status, "ready: cinegit-dev-media-ffmpeg runs ") ||
		!strings.HasSuffix(status, ":ffmpeg-2026.11.1") {
		t.Errorf("functionStatus %q once the tag is set", status)
	}
}

// The pipeline's concurrency is capped on the mapping, and nothing is reserved unless asked:
// a reservation must leave the account 100 unreserved executions, which a new account's quota
// of 10 cannot (configuration-concurrency.html).
func TestConcurrencyIsCappedOnTheMappingAndReservedOnlyOnRequest(t *testing.T) {
	tests := []struct {
		name         string
		max          int
		reserved     *int
		wantReserved any
	}{
		{"default: no reservation", 2, nil, nil},
		{"wide mapping, still no reservation", 50, nil, nil},
		{"reservation on a raised quota", 50, func() *int { r := 60; return &r }(), 60.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			both(t, func(a *Args) { a.Queue.MaximumConcurrency = tt.max; a.Function.ReservedConcurrency = tt.reserved }, func(t *testing.T, r *harness.Result) {
				fn := one(t, r, tFunction, "mediaprocessing-ffmpeg")
				mapping := one(t, r, tMapping, "mediaprocessing-ffmpeg")
				if got := fn.Input("reservedConcurrentExecutions"); got != tt.wantReserved {
					t.Errorf("reservedConcurrentExecutions = %v, want %v", got, tt.wantReserved)
				}
				if got := mapping.Input("scalingConfig.maximumConcurrency"); got != float64(tt.max) {
					t.Errorf("scalingConfig.maximumConcurrency = %v, want %d", got, tt.max)
				}
			})
		})
	}
}
