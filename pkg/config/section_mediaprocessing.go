package config

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// MediaProcessingConfig is the `mediaProcessing` section: the FFmpeg Lambda function that makes
// proxies and thumbnails of new media, its queue, its EFS scratch space, its alarms, and the
// Kubernetes namespace where jobs too long or too large for Lambda run.
type MediaProcessingConfig struct {
	// ImageTag is the tag of the FFmpeg container image in the component's ECR repository,
	// e.g. "ffmpeg-2026.11.1". Tags are immutable, so a new image is a new tag and a deploy.
	// "latest" is rejected. Default empty: the repository, queues and rule are created but
	// not the function, its queue mapping or its alarms (Lambda refuses an image that does not
	// exist yet); new-media events wait in the queue and the mediaFunctionStatus output names
	// the image to push. Set it once the image is in the repository.
	ImageTag string `json:"imageTag"`
	// Architecture is the function's instruction set, x86_64 or arm64; the image must be
	// built for it. Default x86_64 (the EKS media nodes, which run the same image, are x86).
	Architecture string `json:"architecture"`
	// MemoryMB is the function's memory, which also sets its CPU share (128-10240; 1769 MB is
	// one vCPU, 10240 MB six). Default 3008.
	MemoryMB int `json:"memoryMb"`
	// EphemeralStorageMB is the size of the function's /tmp (512-10240). Default 10240.
	EphemeralStorageMB int `json:"ephemeralStorageMb"`
	// TimeoutSeconds is the function's timeout (1-900, Lambda's 15 minutes). The queue's
	// visibility timeout is derived from it. Default 900.
	TimeoutSeconds int `json:"timeoutSeconds"`
	// MaximumConcurrency caps how many instances of the function the queue's event source
	// mapping runs at once (2-1000, Lambda's ScalingConfig range). It takes nothing from the
	// account's concurrency quota until it runs, so any account can create it; the account's
	// quota must still cover it to run that wide. Default 2 (a new account's quota of 10
	// covers it).
	MaximumConcurrency int `json:"maximumConcurrency"`
	// ReservedConcurrency optionally reserves concurrency for the function. Lambda refuses a
	// reservation that leaves less than 100 of the account's quota unreserved, so a new
	// account (quota 10) cannot reserve any: leave it unset unless the quota was raised, and
	// then also set accountConcurrencyQuota. At least maximumConcurrency. Default unset.
	ReservedConcurrency *int `json:"reservedConcurrency"`
	// AccountConcurrencyQuota is the account's Lambda "Concurrent executions" quota in the
	// stack's region (Service Quotas code L-B99A9384), as the operator read it. Optional;
	// when set, maximumConcurrency must fit in it and reservedConcurrency must leave 100 of it
	// unreserved. Required with reservedConcurrency. Default unset (0).
	AccountConcurrencyQuota int `json:"accountConcurrencyQuota"`
	// BatchSize is how many messages one invocation receives (1-10). Default 1: one new
	// object is a whole transcode.
	BatchSize int `json:"batchSize"`
	// MaxBatchingWindowSeconds is how long the event source mapping gathers messages before
	// invoking (0-300). Default 0.
	MaxBatchingWindowSeconds int `json:"maxBatchingWindowSeconds"`
	// MaxReceiveCount is how many times a message is tried before it moves to the dead-letter
	// queue (1-1000). Default 3.
	MaxReceiveCount int `json:"maxReceiveCount"`
	// MessageRetentionDays is how long the queue keeps an unprocessed message (1-14).
	// Default 4.
	MessageRetentionDays int `json:"messageRetentionDays"`
	// DeadLetterRetentionDays is how long the dead-letter queue keeps a failed message
	// (1-14), longer than messageRetentionDays: a moved message keeps its original enqueue
	// time. Default 14.
	DeadLetterRetentionDays int `json:"deadLetterRetentionDays"`
	// LogRetentionDays is the function's log group retention (a CloudWatch Logs value).
	// Default 30.
	LogRetentionDays int `json:"logRetentionDays"`
	// ImagesToKeep is how many images the ECR lifecycle policy keeps (1-1000); older ones
	// are expired. Keep enough to roll back. Default 10.
	ImagesToKeep int `json:"imagesToKeep"`
	// EcrForceDelete lets `pulumi destroy` delete the repository with its images (ephemeral
	// stacks; prod rejects it). Default false.
	EcrForceDelete bool `json:"ecrForceDelete"`
	// ScratchTransitionToIA moves scratch files not read for this long to EFS Infrequent
	// Access: one of EFSTransitions. Default AFTER_7_DAYS.
	ScratchTransitionToIA string `json:"scratchTransitionToIa"`
	// Alarms tune the pipeline's CloudWatch alarms.
	Alarms MediaProcessingAlarms `json:"alarms"`
	// Jobs bounds the `media` Kubernetes namespace where long and large jobs run.
	Jobs MediaJobsConfig `json:"jobs"`
}

// MediaProcessingAlarms tune the alarms; all of them notify the pipeline's SNS topic.
type MediaProcessingAlarms struct {
	// Email subscribes an address to the alarm topic (it must confirm the subscription).
	// Default none: subscribe on-call tooling to the topic instead.
	Email string `json:"email"`
	// OldestMessageAgeSeconds alarms when the oldest queued message is older than this
	// (more than timeoutSeconds, since a message in progress is legitimately that old;
	// at most 1209600). Default 3600.
	OldestMessageAgeSeconds int `json:"oldestMessageAgeSeconds"`
	// ErrorThreshold alarms when the function fails at least this often in five minutes
	// (at least 1). Default 1.
	ErrorThreshold int `json:"errorThreshold"`
	// ThrottleThreshold alarms when the function is throttled at least this often in five
	// minutes (at least 1). Default 1.
	ThrottleThreshold int `json:"throttleThreshold"`
}

// MediaJobsConfig bounds the `media` namespace: per-container defaults and maxima (a
// LimitRange) and the namespace's total (a ResourceQuota). Quantities are Kubernetes
// quantities ("2", "500m", "4Gi").
type MediaJobsConfig struct {
	// DefaultCPU and DefaultMemory are the requests and limits of a container that sets none.
	// Defaults "2" and "4Gi".
	DefaultCPU    string `json:"defaultCpu"`
	DefaultMemory string `json:"defaultMemory"`
	// MaxCPU and MaxMemory cap one container; keep them within a media node's allocatable
	// capacity. Defaults "7" and "12Gi" (a c7i.2xlarge).
	MaxCPU    string `json:"maxCpu"`
	MaxMemory string `json:"maxMemory"`
	// MaxEphemeralStorage caps one container's scratch space on the node's disk. Default "150Gi".
	MaxEphemeralStorage string `json:"maxEphemeralStorage"`
	// QuotaCPU and QuotaMemory cap the namespace's total requests and limits. Defaults "16"
	// and "48Gi".
	QuotaCPU    string `json:"quotaCpu"`
	QuotaMemory string `json:"quotaMemory"`
	// QuotaPods caps the namespace's running pods (1-1000). Default 4.
	QuotaPods int `json:"quotaPods"`
}

// Lambda's limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
const (
	LambdaMinMemoryMB           = 128
	LambdaMaxMemoryMB           = 10240
	LambdaMinEphemeralStorageMB = 512
	LambdaMaxEphemeralStorageMB = 10240
	LambdaMaxTimeoutSeconds     = 900
	// An SQS event source mapping's ScalingConfig.MaximumConcurrency range
	// (https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html).
	LambdaMinMaximumConcurrency = 2
	LambdaMaxMaximumConcurrency = 1000
	// LambdaUnreservedMinimum is what Lambda keeps unreserved of an account's concurrency
	// quota: "leave at least 100 simultaneous executions unreserved"
	// (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html).
	LambdaUnreservedMinimum = 100
)

// LambdaArchitectures are the instruction sets Lambda runs.
var LambdaArchitectures = []string{"x86_64", "arm64"}

// EFSTransitions are the values EFS accepts for a transition to Infrequent Access.
var EFSTransitions = []string{"AFTER_1_DAY", "AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS", "AFTER_90_DAYS", "AFTER_180_DAYS", "AFTER_270_DAYS", "AFTER_365_DAYS"}

var (
	// ecrImageTag is what ECR accepts as a tag.
	ecrImageTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// emailAddress is a plausible address; SNS sends a confirmation, which is the real check.
	emailAddress = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$`)
	// k8sQuantity is a Kubernetes resource quantity without exponents: 2, 0.5, 500m, 4Gi, 1G.
	k8sQuantity = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$`)
)

var quantitySuffixes = map[string]float64{
	"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
}

// parseQuantity returns a Kubernetes quantity's value, or false when it is not one.
func parseQuantity(q string) (float64, bool) {
	m := k8sQuantity.FindStringSubmatch(q)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return n * quantitySuffixes[m[3]], true
}

func (c *MediaProcessingConfig) applyDefaults(env Env) {
	for _, d := range []struct {
		field *int
		value int
	}{
		{&c.MemoryMB, 3008},
		{&c.EphemeralStorageMB, 10240},
		{&c.TimeoutSeconds, 900},
		{&c.MaximumConcurrency, 2},
		{&c.BatchSize, 1},
		{&c.MaxReceiveCount, 3},
		{&c.MessageRetentionDays, 4},
		{&c.DeadLetterRetentionDays, 14},
		{&c.LogRetentionDays, 30},
		{&c.ImagesToKeep, 10},
		{&c.Alarms.OldestMessageAgeSeconds, 3600},
		{&c.Alarms.ErrorThreshold, 1},
		{&c.Alarms.ThrottleThreshold, 1},
		{&c.Jobs.QuotaPods, 4},
	} {
		if *d.field == 0 {
			*d.field = d.value
		}
	}
	for _, d := range []struct {
		field *string
		value string
	}{
		{&c.Architecture, "x86_64"},
		{&c.ScratchTransitionToIA, "AFTER_7_DAYS"},
		{&c.Jobs.DefaultCPU, "2"},
		{&c.Jobs.DefaultMemory, "4Gi"},
		{&c.Jobs.MaxCPU, "7"},
		{&c.Jobs.MaxMemory, "12Gi"},
		{&c.Jobs.MaxEphemeralStorage, "150Gi"},
		{&c.Jobs.QuotaCPU, "16"},
		{&c.Jobs.QuotaMemory, "48Gi"},
	} {
		if *d.field == "" {
			*d.field = d.value
		}
	}
}

func (c *MediaProcessingConfig) validate(p *problems, env Env) {
	const k = "mediaProcessing."
	// An empty tag is the first deployment of a stack: the image cannot exist before its
	// repository, so the function waits for the tag (see ImageTag).
	switch {
	case c.ImageTag == "":
	case !ecrImageTag.MatchString(c.ImageTag):
		p.add(k+"imageTag", c.ImageTag, "an ECR image tag: 1-128 letters, digits, _ . and -, not starting with . or -")
	case c.ImageTag == "latest":
		p.add(k+"imageTag", c.ImageTag, "a versioned tag such as ffmpeg-2026.11.1: tags are immutable, so \"latest\" could never move")
	}
	if !slices.Contains(LambdaArchitectures, c.Architecture) {
		p.add(k+"architecture", c.Architecture, "one of %s", strings.Join(LambdaArchitectures, ", "))
	}
	if c.MemoryMB < LambdaMinMemoryMB || c.MemoryMB > LambdaMaxMemoryMB {
		p.add(k+"memoryMb", c.MemoryMB, "%d to %d MB (Lambda's limits)", LambdaMinMemoryMB, LambdaMaxMemoryMB)
	}
	if c.EphemeralStorageMB < LambdaMinEphemeralStorageMB || c.EphemeralStorageMB > LambdaMaxEphemeralStorageMB {
		p.add(k+"ephemeralStorageMb", c.EphemeralStorageMB, "%d to %d MB (Lambda's limits for /tmp)", LambdaMinEphemeralStorageMB, LambdaMaxEphemeralStorageMB)
	}
	if c.TimeoutSeconds < 1 || c.TimeoutSeconds > LambdaMaxTimeoutSeconds {
		p.add(k+"timeoutSeconds", c.TimeoutSeconds, "1 to %d seconds (Lambda's 15 minutes; longer jobs run on the EKS media nodes)", LambdaMaxTimeoutSeconds)
	}
	c.validateConcurrency(p, k)
	if c.BatchSize < 1 || c.BatchSize > 10 {
		p.add(k+"batchSize", c.BatchSize, "1 to 10 messages (each is a whole transcode)")
	}
	if c.MaxBatchingWindowSeconds < 0 || c.MaxBatchingWindowSeconds > 300 {
		p.add(k+"maxBatchingWindowSeconds", c.MaxBatchingWindowSeconds, "0 to 300 seconds")
	}
	if c.MaxReceiveCount < 1 || c.MaxReceiveCount > 1000 {
		p.add(k+"maxReceiveCount", c.MaxReceiveCount, "1 to 1000 receives before a message moves to the dead-letter queue")
	}
	if c.MessageRetentionDays < 1 || c.MessageRetentionDays > 14 {
		p.add(k+"messageRetentionDays", c.MessageRetentionDays, "1 to 14 days (SQS's limits)")
	}
	switch d := c.DeadLetterRetentionDays; {
	case d < 1 || d > 14:
		p.add(k+"deadLetterRetentionDays", d, "1 to 14 days (SQS's limits)")
	case d <= c.MessageRetentionDays:
		p.add(k+"deadLetterRetentionDays", d,
			"more than messageRetentionDays (%d): a message keeps its original enqueue time in the dead-letter queue and would expire on arrival", c.MessageRetentionDays)
	}
	if !validRetention(c.LogRetentionDays) {
		p.add(k+"logRetentionDays", c.LogRetentionDays, "one of CloudWatch Logs' retention values: %s", retentionList())
	}
	if c.ImagesToKeep < 1 || c.ImagesToKeep > 1000 {
		p.add(k+"imagesToKeep", c.ImagesToKeep, "1 to 1000 images")
	}
	if c.EcrForceDelete && env.Rules.RequirePulumiProtect {
		p.add(k+"ecrForceDelete", c.EcrForceDelete, "false for stack %q: its images must survive a destroy", env.Stack)
	}
	if !slices.Contains(EFSTransitions, c.ScratchTransitionToIA) {
		p.add(k+"scratchTransitionToIa", c.ScratchTransitionToIA, "one of %s", strings.Join(EFSTransitions, ", "))
	}
	c.Alarms.validate(p, k+"alarms.", c.TimeoutSeconds)
	c.Jobs.validate(p, k+"jobs.")
}

// validateConcurrency keeps the pipeline deployable on the account it targets: the mapping's
// cap within Lambda's range (and the stated quota), and a reservation only where the quota
// leaves Lambda its 100 unreserved executions, never below the mapping's cap ("Don't set
// maximum concurrency higher than the function's reserved concurrency ... Otherwise, Lambda
// might throttle your messages": Lambda Developer Guide, services-sqs-scaling.html).
func (c *MediaProcessingConfig) validateConcurrency(p *problems, k string) {
	quota, maxc := c.AccountConcurrencyQuota, c.MaximumConcurrency
	if quota < 0 {
		p.add(k+"accountConcurrencyQuota", quota, "the account's Lambda concurrent executions quota (Service Quotas L-B99A9384), or unset")
		quota = 0
	}
	switch {
	case maxc < LambdaMinMaximumConcurrency || maxc > LambdaMaxMaximumConcurrency:
		p.add(k+"maximumConcurrency", maxc, "%d to %d (the event source mapping's ScalingConfig range)", LambdaMinMaximumConcurrency, LambdaMaxMaximumConcurrency)
	case quota > 0 && maxc > quota:
		p.add(k+"maximumConcurrency", maxc, "at most accountConcurrencyQuota (%d): the account could never run that many; request a quota increase first", quota)
	}
	r := c.ReservedConcurrency
	if r == nil {
		return
	}
	switch {
	case quota == 0:
		p.add(k+"reservedConcurrency", *r,
			"unset, or set together with accountConcurrencyQuota: Lambda refuses a reservation that leaves less than %d of the account's quota unreserved, and a new account's quota is 10", LambdaUnreservedMinimum)
	case quota-*r < LambdaUnreservedMinimum:
		p.add(k+"reservedConcurrency", *r, "at most accountConcurrencyQuota - %d = %d (Lambda keeps %d unreserved); unset it or raise the quota (Service Quotas L-B99A9384)",
			LambdaUnreservedMinimum, quota-LambdaUnreservedMinimum, LambdaUnreservedMinimum)
	case *r < maxc:
		p.add(k+"reservedConcurrency", *r, "at least maximumConcurrency (%d): the mapping would be throttled below its own cap", maxc)
	}
}

func (a MediaProcessingAlarms) validate(p *problems, k string, timeout int) {
	if a.Email != "" && !emailAddress.MatchString(a.Email) {
		p.add(k+"email", a.Email, "an email address, or empty for no subscription")
	}
	switch age := a.OldestMessageAgeSeconds; {
	case age > 1209600:
		p.add(k+"oldestMessageAgeSeconds", age, "at most 1209600 seconds (SQS's longest retention)")
	case age <= timeout:
		p.add(k+"oldestMessageAgeSeconds", age, "more than mediaProcessing.timeoutSeconds (%d): a message being processed is legitimately that old", timeout)
	}
	if a.ErrorThreshold < 1 {
		p.add(k+"errorThreshold", a.ErrorThreshold, "at least 1 error")
	}
	if a.ThrottleThreshold < 1 {
		p.add(k+"throttleThreshold", a.ThrottleThreshold, "at least 1 throttle")
	}
}

func (j MediaJobsConfig) validate(p *problems, k string) {
	raw := map[string]string{
		"defaultCpu": j.DefaultCPU, "defaultMemory": j.DefaultMemory,
		"maxCpu": j.MaxCPU, "maxMemory": j.MaxMemory, "maxEphemeralStorage": j.MaxEphemeralStorage,
		"quotaCpu": j.QuotaCPU, "quotaMemory": j.QuotaMemory,
	}
	q := map[string]float64{}
	for _, key := range []string{"defaultCpu", "defaultMemory", "maxCpu", "maxMemory", "maxEphemeralStorage", "quotaCpu", "quotaMemory"} {
		v, ok := parseQuantity(raw[key])
		if !ok || v <= 0 {
			p.add(k+key, raw[key], "a positive Kubernetes quantity such as 2, 500m or 4Gi")
			continue
		}
		q[key] = v
	}
	// Each default fits under its maximum, and one maximal container under the quota.
	for _, r := range [][2]string{{"defaultCpu", "maxCpu"}, {"maxCpu", "quotaCpu"}, {"defaultMemory", "maxMemory"}, {"maxMemory", "quotaMemory"}} {
		small, okS := q[r[0]]
		large, okL := q[r[1]]
		if okS && okL && small > large {
			p.add(k+r[0], raw[r[0]], "at most %s (%s)", r[1], raw[r[1]])
		}
	}
	if j.QuotaPods < 1 || j.QuotaPods > 1000 {
		p.add(k+"quotaPods", j.QuotaPods, "1 to 1000 pods")
	}
}
