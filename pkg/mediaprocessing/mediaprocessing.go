// Package mediaprocessing is CineGit's media pipeline: new media in the media bucket becomes
// proxies and thumbnails.
//
// The path of one object: S3 announces it on the default EventBridge bus ("Object Created"),
// a rule matching the media bucket sends the event to an SQS queue (KMS-encrypted, with a
// dead-letter queue), and an event source mapping hands batches to the FFmpeg Lambda function,
// which reads the original, writes the renditions to the proxies and thumbnails buckets and
// reports the messages it could not process (partial batch failures), so that only those are
// retried and, after maxReceiveCount tries, parked in the dead-letter queue.
//
// The function is a container image from an ECR repository made here; it runs in the private
// subnets with an EFS access point mounted at /mnt/scratch for files larger than its /tmp.
// Jobs longer than Lambda's 15 minutes or bigger than its limits run as Kubernetes Jobs in the
// `media` namespace on the cluster's tainted media nodes, with the same narrow AWS permissions
// through IRSA. Alarms on the queues, the rule's deliveries and the function notify an
// encrypted SNS topic.
//
// Deploying a new stack: Lambda only creates a function from an image that exists, and the
// repository is created here. So the function comes in two steps, decided by configuration
// alone (preview and update register the same resources): without Function.ImageTag the
// component creates everything but the function, its event source mapping, its alarms and
// the EKS Job template; the queue keeps new-media events meanwhile and FunctionStatus says
// which image to push. Once the image is pushed, setting the tag creates the rest.
package mediaprocessing

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// ScratchMountPath is where the function mounts its EFS access point. Lambda requires a path
// directly under /mnt/.
const ScratchMountPath = "/mnt/scratch"

// Kubernetes names of the EKS fallback.
const (
	// Namespace is where long and large FFmpeg jobs run.
	Namespace = "media"
	// ServiceAccount is the identity of those jobs; its IRSA role has the function's data
	// permissions.
	ServiceAccount = "media-jobs"
	// JobTemplateConfigMap holds the Job manifest that the job dispatcher instantiates.
	JobTemplateConfigMap = "ffmpeg-job-template"
)

// Args configure media processing.
type Args struct {
	Env stackenv.Env

	// VpcID is the VPC of the private subnets.
	VpcID pulumi.StringInput
	// AvailabilityZones are the AZs of PrivateSubnetIDs, in the same order: one EFS mount
	// target is made per AZ, with no need to resolve the subnet IDs first.
	AvailabilityZones []string
	// PrivateSubnetIDs are the subnets the function runs in, one per AZ.
	PrivateSubnetIDs pulumi.StringArrayInput

	// The buckets: originals are read from the media bucket, renditions written to the
	// proxies and thumbnails buckets. MediaKeyArn is the KMS key all three are encrypted with.
	MediaBucketName      pulumi.StringInput
	MediaBucketArn       pulumi.StringInput
	ProxiesBucketName    pulumi.StringInput
	ProxiesBucketArn     pulumi.StringInput
	ThumbnailsBucketName pulumi.StringInput
	ThumbnailsBucketArn  pulumi.StringInput
	MediaKeyArn          pulumi.StringInput

	// Function sizes the FFmpeg function.
	Function Function
	// Queue tunes the queue and its event source mapping.
	Queue Queue
	// ImagesToKeep is how many images the repository keeps; EcrForceDelete lets a destroy
	// delete the repository with its images.
	ImagesToKeep   int
	EcrForceDelete bool
	// ScratchTransitionToIA is the EFS lifecycle transition to Infrequent Access
	// ("AFTER_7_DAYS").
	ScratchTransitionToIA string
	// Alarms tune the alarms.
	Alarms Alarms

	// The EKS fallback: the cluster's IAM OIDC provider and issuer (host/path, no scheme),
	// its Kubernetes provider, and how its media nodes are selected and tainted.
	OidcProviderArn    pulumi.StringInput
	OidcIssuer         pulumi.StringInput
	KubernetesProvider *kubernetes.Provider
	MediaNodeSelector  map[string]string
	MediaNodeTaint     Taint
	// JobAnnotations go on every job's pod: the node provisioner's "do not disrupt" marker,
	// so that no running transcode is evicted to consolidate or replace its node.
	JobAnnotations map[string]string
	// GPUNodeSelector and GPUNodeTaint, where the cluster has GPU nodes, add a second Job
	// template (job-gpu.json) that requests one GPU for FFmpeg's NVENC encoders. Empty: none.
	GPUNodeSelector map[string]string
	GPUNodeTaint    Taint
	// Jobs bounds the media namespace.
	Jobs Jobs
	// Network is where the cluster's pods live: the media namespace denies by default and lets
	// jobs reach only DNS, HTTPS out of the VPC and the VPC's interface endpoints.
	Network kube.ClusterNetwork

	// Protect marks the pipeline key, the file system and the repository with Pulumi's protect.
	Protect bool
}

// Function sizes the FFmpeg Lambda function, within Lambda's limits.
type Function struct {
	// ImageTag is the tag of the image in the repository (immutable tags). Empty means the
	// image is not pushed yet: the function and what depends on it are not created.
	ImageTag string
	// Architecture is x86_64 or arm64.
	Architecture string
	// MemoryMB (128-10240), EphemeralStorageMB (512-10240) and TimeoutSeconds (1-900).
	MemoryMB           int
	EphemeralStorageMB int
	TimeoutSeconds     int
	// ReservedConcurrency, when set, reserves concurrent executions for the function (at
	// least Queue.MaximumConcurrency). Nil reserves nothing: a new account's quota (10)
	// cannot spare a reservation, since Lambda keeps 100 unreserved.
	ReservedConcurrency *int
	// LogRetentionDays is the function log group's retention.
	LogRetentionDays int
}

// Queue tunes the queue, its dead-letter queue and the event source mapping.
type Queue struct {
	// MaximumConcurrency caps the function instances the event source mapping runs (2-1000).
	MaximumConcurrency       int
	BatchSize                int
	MaxBatchingWindowSeconds int
	MaxReceiveCount          int
	MessageRetentionDays     int
	DeadLetterRetentionDays  int
}

// Alarms tune the CloudWatch alarms.
type Alarms struct {
	// Email, when set, is subscribed to the alarm topic.
	Email                   string
	OldestMessageAgeSeconds int
	ErrorThreshold          int
	ThrottleThreshold       int
}

// Taint is a node taint that media jobs tolerate.
type Taint struct {
	Key, Value, Effect string
}

// Jobs bounds the media namespace: per-container defaults and maxima, and namespace totals
// (Kubernetes quantities).
type Jobs struct {
	DefaultCPU, DefaultMemory              string
	MaxCPU, MaxMemory, MaxEphemeralStorage string
	QuotaCPU, QuotaMemory                  string
	QuotaPods                              int
}

// MediaProcessing is the media pipeline component.
type MediaProcessing struct {
	pulumi.ResourceState

	QueueURL           pulumi.StringOutput `pulumi:"queueUrl"`
	QueueArn           pulumi.StringOutput `pulumi:"queueArn"`
	DeadLetterQueueURL pulumi.StringOutput `pulumi:"deadLetterQueueUrl"`
	// FunctionName and FunctionArn are empty until Function.ImageTag is set.
	FunctionName pulumi.StringOutput `pulumi:"functionName"`
	FunctionArn  pulumi.StringOutput `pulumi:"functionArn"`
	// FunctionStatus says whether the function runs, or which image it waits for.
	FunctionStatus pulumi.StringOutput `pulumi:"functionStatus"`
	// FunctionSecurityGroupID is the function's security group, for data stores that the
	// function should reach.
	FunctionSecurityGroupID pulumi.StringOutput `pulumi:"functionSecurityGroupId"`
	EcrRepositoryURL        pulumi.StringOutput `pulumi:"ecrRepositoryUrl"`
	FileSystemID            pulumi.StringOutput `pulumi:"fileSystemId"`
	AlarmTopicArn           pulumi.StringOutput `pulumi:"alarmTopicArn"`
	KmsKeyArn               pulumi.StringOutput `pulumi:"kmsKeyArn"`
	// JobsRoleArn is the IRSA role of the media-jobs service account.
	JobsRoleArn pulumi.StringOutput `pulumi:"jobsRoleArn"`
	// JobsNamespace is the Kubernetes namespace of the EKS fallback.
	JobsNamespace pulumi.StringOutput `pulumi:"jobsNamespace"`
}

// names are the physical names of the component's resources: fixed by the stack, so that
// ARNs can be written in policies before the resources exist.
type names struct {
	function, role, logGroup, queue, deadLetterQueue, rule, repository, topic, alarmPrefix, key string
}

func newNames(env stackenv.Env) names {
	fn := env.Naming.Name("media-ffmpeg")
	return names{
		function:        fn,
		role:            env.Naming.NameMax(64, "media-ffmpeg"),
		logGroup:        "/aws/lambda/" + fn, // the group Lambda would make, made here first
		queue:           env.Naming.Name("media-ingest"),
		deadLetterQueue: env.Naming.Name("media-ingest-dlq"),
		rule:            env.Naming.NameMax(64, "media-object-created"),
		repository:      env.Naming.Name("ffmpeg"),
		topic:           env.Naming.Name("media-processing-alarms"),
		alarmPrefix:     env.Naming.Name("media-processing") + "-",
		key:             env.Naming.Name("media-processing"),
	}
}

// Pending reports whether the function waits for its image: no tag is configured yet.
func (a Args) Pending() bool { return a.Function.ImageTag == "" }

// New creates the media pipeline.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*MediaProcessing, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("mediaprocessing %s: %w", name, err)
	}
	m := &MediaProcessing{}
	if err := ctx.RegisterComponentResource("cinegit:mediaprocessing:MediaProcessing", name, m, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, args: args, env: args.Env, names: newNames(args.Env), component: m, parent: pulumi.Parent(m)}
	steps := []func() error{b.key, b.queues, b.events, b.repository, b.network, b.scratch, b.executionRole, b.function, b.alarms, b.jobs}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("mediaprocessing %s: %w", name, err)
		}
	}

	m.QueueURL = b.queue.Url
	m.QueueArn = b.queue.Arn
	m.DeadLetterQueueURL = b.dlq.Url
	m.FunctionName, m.FunctionArn = pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()
	if b.fn != nil {
		m.FunctionName, m.FunctionArn = b.fn.Name, b.fn.Arn
	}
	m.FunctionStatus = b.functionStatus()
	m.FunctionSecurityGroupID = b.fnSG.ID().ToStringOutput()
	m.EcrRepositoryURL = b.repo.RepositoryUrl
	m.FileSystemID = b.fs.ID().ToStringOutput()
	m.AlarmTopicArn = b.topic.Arn
	m.KmsKeyArn = b.pipelineKey.Arn()
	m.JobsRoleArn = b.jobsRole.Arn
	m.JobsNamespace = b.namespace.Metadata.Name().Elem()
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{
		"queueUrl":                m.QueueURL,
		"queueArn":                m.QueueArn,
		"deadLetterQueueUrl":      m.DeadLetterQueueURL,
		"functionName":            m.FunctionName,
		"functionArn":             m.FunctionArn,
		"functionStatus":          m.FunctionStatus,
		"functionSecurityGroupId": m.FunctionSecurityGroupID,
		"ecrRepositoryUrl":        m.EcrRepositoryURL,
		"fileSystemId":            m.FileSystemID,
		"alarmTopicArn":           m.AlarmTopicArn,
		"kmsKeyArn":               m.KmsKeyArn,
		"jobsRoleArn":             m.JobsRoleArn,
		"jobsNamespace":           m.JobsNamespace,
	})
}

var (
	imageTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	azName   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$`)
)

// check refuses arguments that AWS would reject halfway through a deployment.
func (a Args) check() error {
	f, q := a.Function, a.Queue
	switch {
	case a.VpcID == nil || a.PrivateSubnetIDs == nil:
		return fmt.Errorf("VpcID and PrivateSubnetIDs are required")
	case len(a.AvailabilityZones) < 2:
		return fmt.Errorf("need the private subnets of at least 2 availability zones, got %d", len(a.AvailabilityZones))
	case a.MediaBucketName == nil || a.MediaBucketArn == nil || a.ProxiesBucketName == nil || a.ProxiesBucketArn == nil ||
		a.ThumbnailsBucketName == nil || a.ThumbnailsBucketArn == nil || a.MediaKeyArn == nil:
		return fmt.Errorf("the media, proxies and thumbnails bucket names and ARNs and MediaKeyArn are required")
	case a.OidcProviderArn == nil || a.OidcIssuer == nil || a.KubernetesProvider == nil:
		return fmt.Errorf("OidcProviderArn, OidcIssuer and KubernetesProvider (the EKS fallback) are required")
	case f.ImageTag != "" && (!imageTag.MatchString(f.ImageTag) || f.ImageTag == "latest"):
		return fmt.Errorf("Function.ImageTag %q is not a versioned ECR image tag", f.ImageTag)
	case f.Architecture != "x86_64" && f.Architecture != "arm64":
		return fmt.Errorf("Function.Architecture %q is not x86_64 or arm64", f.Architecture)
	case f.MemoryMB < 128 || f.MemoryMB > 10240:
		return fmt.Errorf("Function.MemoryMB %d is outside Lambda's 128-10240", f.MemoryMB)
	case f.EphemeralStorageMB < 512 || f.EphemeralStorageMB > 10240:
		return fmt.Errorf("Function.EphemeralStorageMB %d is outside Lambda's 512-10240", f.EphemeralStorageMB)
	case f.TimeoutSeconds < 1 || f.TimeoutSeconds > 900:
		return fmt.Errorf("Function.TimeoutSeconds %d is outside Lambda's 1-900", f.TimeoutSeconds)
	case q.MaximumConcurrency < 2 || q.MaximumConcurrency > 1000:
		return fmt.Errorf("Queue.MaximumConcurrency %d is outside the event source mapping's 2-1000", q.MaximumConcurrency)
	case f.ReservedConcurrency != nil && *f.ReservedConcurrency < q.MaximumConcurrency:
		return fmt.Errorf("Function.ReservedConcurrency %d is below Queue.MaximumConcurrency %d: the mapping would be throttled", *f.ReservedConcurrency, q.MaximumConcurrency)
	case f.LogRetentionDays <= 0:
		return fmt.Errorf("Function.LogRetentionDays must be positive")
	case q.BatchSize < 1 || q.BatchSize > 10:
		return fmt.Errorf("Queue.BatchSize %d is outside 1-10", q.BatchSize)
	case q.MaxBatchingWindowSeconds < 0 || q.MaxBatchingWindowSeconds > 300:
		return fmt.Errorf("Queue.MaxBatchingWindowSeconds %d is outside 0-300", q.MaxBatchingWindowSeconds)
	case q.MaxReceiveCount < 1:
		return fmt.Errorf("Queue.MaxReceiveCount must be at least 1")
	case q.MessageRetentionDays < 1 || q.DeadLetterRetentionDays > 14 || q.DeadLetterRetentionDays <= q.MessageRetentionDays:
		return fmt.Errorf("retention: need 1 <= MessageRetentionDays < DeadLetterRetentionDays <= 14")
	case a.ImagesToKeep < 1:
		return fmt.Errorf("ImagesToKeep must be at least 1")
	case !strings.HasPrefix(a.ScratchTransitionToIA, "AFTER_"):
		return fmt.Errorf("ScratchTransitionToIA %q is not an EFS transition such as AFTER_7_DAYS", a.ScratchTransitionToIA)
	case a.Alarms.OldestMessageAgeSeconds <= f.TimeoutSeconds || a.Alarms.ErrorThreshold < 1 || a.Alarms.ThrottleThreshold < 1:
		return fmt.Errorf("alarms: the queue age threshold must exceed the function timeout and the thresholds be at least 1")
	case len(a.MediaNodeSelector) == 0 || a.MediaNodeTaint.Key == "" || a.MediaNodeTaint.Effect == "":
		return fmt.Errorf("MediaNodeSelector and MediaNodeTaint are required: jobs must land on the media nodes only")
	case a.Jobs.QuotaPods < 1:
		return fmt.Errorf("Jobs.QuotaPods must be at least 1")
	}
	for i, az := range a.AvailabilityZones {
		if !azName.MatchString(az) {
			return fmt.Errorf("AvailabilityZones[%d] %q is not an availability zone name", i, az)
		}
	}
	return a.Network.Check()
}

// VisibilityTimeoutSeconds is the queue's visibility timeout for a function timeout and
// batching window: six times the timeout plus the window, AWS's guidance for a queue that
// triggers a function, so that a message is not handed out again while an invocation (and
// Lambda's retries of a throttled one) still holds it.
func VisibilityTimeoutSeconds(timeoutSeconds, batchingWindowSeconds int) int {
	return 6*timeoutSeconds + batchingWindowSeconds
}
