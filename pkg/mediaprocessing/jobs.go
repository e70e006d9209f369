package mediaprocessing

import (
	"sort"
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/irsa"
	"github.com/cinegit/infrastructure/pkg/kube"
)

// PodSecurityLevel is the Pod Security Standard the media namespace enforces. FFmpeg is a
// plain userspace program: it needs no root, no capabilities, no host access and no privilege
// escalation, so "restricted" costs it nothing, and it parses untrusted uploads with decoders
// that have had memory-safety bugs, which is exactly when the tightest sandbox matters.
const PodSecurityLevel = "restricted"

// appLabels label everything of the EKS fallback.
var appLabels = map[string]string{
	"app.kubernetes.io/name":       "ffmpeg",
	"app.kubernetes.io/part-of":    "cinegit-media-processing",
	"app.kubernetes.io/managed-by": "pulumi",
}

// jobs creates the EKS fallback: the media namespace (restricted pods, a quota and
// per-container limits), the media-jobs service account with an IRSA role carrying the
// function's data permissions, and the Job template the dispatcher instantiates.
func (b *builder) jobs() error {
	a, env := b.args, b.env
	k8s := pulumi.Provider(a.KubernetesProvider)
	var err error
	b.jobsRole, err = irsa.NewRole(b.ctx, b.name+"-jobs", irsa.Args{
		Env:             env,
		OidcProviderArn: a.OidcProviderArn,
		OidcIssuer:      a.OidcIssuer,
		Namespace:       Namespace,
		ServiceAccount:  ServiceAccount,
		Policy:          iampolicy.Document(b.dataStatements()...),
		Description:     "FFmpeg jobs on EKS (media/media-jobs): the FFmpeg function's data permissions",
	}, b.parent)
	if err != nil {
		return err
	}

	labels := pulumi.StringMap{}
	for k, v := range appLabels {
		labels[k] = pulumi.String(v)
	}
	nsLabels := pulumi.StringMap{}
	for k, v := range labels {
		nsLabels[k] = v
	}
	for _, mode := range []string{"enforce", "audit", "warn"} {
		nsLabels["pod-security.kubernetes.io/"+mode] = pulumi.String(PodSecurityLevel)
	}
	b.namespace, err = corev1.NewNamespace(b.ctx, b.name+"-namespace", &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Namespace), Labels: nsLabels},
	}, b.parent, k8s)
	if err != nil {
		return err
	}
	// Everything else lives in the namespace: its name comes from the resource so that
	// Kubernetes creates the namespace first.
	ns := b.namespace.Metadata.Name()
	meta := func(name string, annotations pulumi.StringMap) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: ns, Labels: labels, Annotations: annotations}
	}

	if _, err := corev1.NewServiceAccount(b.ctx, b.name+"-jobs", &corev1.ServiceAccountArgs{
		Metadata: meta(ServiceAccount, pulumi.StringMap{"eks.amazonaws.com/role-arn": b.jobsRole.Arn}),
		// Jobs never call the Kubernetes API; the IRSA webhook mounts the AWS token on its own.
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, b.parent, k8s); err != nil {
		return err
	}

	j := a.Jobs
	if _, err := corev1.NewResourceQuota(b.ctx, b.name+"-quota", &corev1.ResourceQuotaArgs{
		Metadata: meta("media-jobs", nil),
		Spec: &corev1.ResourceQuotaSpecArgs{Hard: pulumi.StringMap{
			"requests.cpu":    pulumi.String(j.QuotaCPU),
			"limits.cpu":      pulumi.String(j.QuotaCPU),
			"requests.memory": pulumi.String(j.QuotaMemory),
			"limits.memory":   pulumi.String(j.QuotaMemory),
			"pods":            pulumi.String(strconv.Itoa(j.QuotaPods)),
		}},
	}, b.parent, k8s); err != nil {
		return err
	}
	// Containers that set nothing get DefaultCPU/DefaultMemory as requests and limits
	// (Guaranteed QoS: a transcode is not evicted for a neighbour), and none may exceed the
	// maxima. The quota above requires every container to have requests and limits, which
	// the defaults provide.
	def := pulumi.StringMap{"cpu": pulumi.String(j.DefaultCPU), "memory": pulumi.String(j.DefaultMemory)}
	if _, err := corev1.NewLimitRange(b.ctx, b.name+"-limits", &corev1.LimitRangeArgs{
		Metadata: meta("media-jobs", nil),
		Spec: &corev1.LimitRangeSpecArgs{Limits: corev1.LimitRangeItemArray{&corev1.LimitRangeItemArgs{
			Type:           pulumi.String("Container"),
			Default:        def,
			DefaultRequest: def,
			Max: pulumi.StringMap{
				"cpu":               pulumi.String(j.MaxCPU),
				"memory":            pulumi.String(j.MaxMemory),
				"ephemeral-storage": pulumi.String(j.MaxEphemeralStorage),
			},
		}}},
	}, b.parent, k8s); err != nil {
		return err
	}

	if err := kube.NewNetworkPolicies(b.ctx, b.name, ns.Elem(), b.jobPolicies(), b.parent, k8s); err != nil {
		return err
	}

	// The template names the image; without a tag there is none to run yet.
	if b.args.Pending() {
		return nil
	}
	_, err = corev1.NewConfigMap(b.ctx, b.name+"-job-template", &corev1.ConfigMapArgs{
		Metadata: meta(JobTemplateConfigMap, pulumi.StringMap{
			"cinegit.io/usage": pulumi.String("Job manifest for FFmpeg jobs too long or too large for Lambda: set metadata.name (or keep generateName) and the container's args, then create it in this namespace"),
		}),
		Data: b.jobTemplates(),
	}, b.parent, k8s)
	return err
}

// JobDeadlineSeconds bounds one job (12 hours): a transcode that runs longer is stuck, and a
// node being replaced waits at most a day for its jobs (the pools' termination grace).
const JobDeadlineSeconds = 12 * 60 * 60

// GPUTemplateKey is the ConfigMap key of the GPU Job template.
const GPUTemplateKey = "job-gpu.json"

// jobTemplates are the Job templates: CPU (job.json) always, GPU where the cluster has GPU
// nodes.
func (b *builder) jobTemplates() pulumi.StringMap {
	a := b.args
	out := pulumi.StringMap{"job.json": b.jobTemplate(a.MediaNodeSelector, a.MediaNodeTaint, false)}
	if len(a.GPUNodeSelector) > 0 {
		out[GPUTemplateKey] = b.jobTemplate(a.GPUNodeSelector, a.GPUNodeTaint, true)
	}
	return out
}

// jobTemplate renders a Job manifest (JSON, which is YAML) that runs the function's image on
// the media (or GPU) nodes: it selects and tolerates them, runs as the scratch user under the
// restricted standard with a read-only root file system, and scratches on the node's disk.
// The GPU template requests one GPU and asks the NVIDIA container toolkit for the video
// libraries NVENC needs: without "video" in NVIDIA_DRIVER_CAPABILITIES only compute and
// utility are mounted (NVIDIA Container Toolkit, "Driver capabilities").
func (b *builder) jobTemplate(nodeSelector map[string]string, taint Taint, gpu bool) pulumi.StringOutput {
	a := b.args
	arch := map[string]string{"x86_64": "amd64", "arm64": "arm64"}[a.Function.Architecture]
	if gpu {
		arch = "amd64" // the GPU families are x86 (config.GPUFamilies)
	}
	selector := map[string]string{"kubernetes.io/arch": arch}
	for k, v := range nodeSelector {
		selector[k] = v
	}
	resources := map[string]any{
		"requests": map[string]any{"ephemeral-storage": a.Jobs.MaxEphemeralStorage},
		"limits":   map[string]any{"ephemeral-storage": a.Jobs.MaxEphemeralStorage},
	}
	if gpu {
		resources["limits"].(map[string]any)["nvidia.com/gpu"] = 1
	}
	return pulumi.All(b.repo.RepositoryUrl, a.MediaBucketName, a.ProxiesBucketName, a.ThumbnailsBucketName).ApplyT(func(v []any) (string, error) {
		env := []map[string]string{
			{"name": "AWS_REGION", "value": b.env.Region},
			{"name": "MEDIA_BUCKET", "value": v[1].(string)},
			{"name": "PROXIES_BUCKET", "value": v[2].(string)},
			{"name": "THUMBNAILS_BUCKET", "value": v[3].(string)},
			{"name": "SCRATCH_DIR", "value": "/scratch"},
			// The root file system is read-only: temporary files go to the scratch volume too.
			{"name": "TMPDIR", "value": "/scratch"},
		}
		if gpu {
			env = append(env, map[string]string{"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility,video"})
		}
		sort.Slice(env, func(i, j int) bool { return env[i]["name"] < env[j]["name"] })
		return marshal(map[string]any{
			"apiVersion": "batch/v1",
			"kind":       "Job",
			"metadata":   map[string]any{"generateName": "ffmpeg-", "namespace": Namespace, "labels": appLabels},
			"spec": map[string]any{
				"backoffLimit":            2,
				"ttlSecondsAfterFinished": 86400,
				"activeDeadlineSeconds":   JobDeadlineSeconds,
				"template": map[string]any{
					"metadata": map[string]any{"labels": appLabels, "annotations": a.JobAnnotations},
					"spec": map[string]any{
						"serviceAccountName": ServiceAccount,
						"restartPolicy":      "Never",
						"nodeSelector":       selector,
						"tolerations": []any{map[string]any{
							"key": taint.Key, "operator": "Equal", "value": taint.Value, "effect": taint.Effect,
						}},
						"securityContext": map[string]any{
							"runAsNonRoot": true, "runAsUser": ScratchUID, "runAsGroup": ScratchGID, "fsGroup": ScratchGID,
							"seccompProfile": map[string]any{"type": "RuntimeDefault"},
						},
						"containers": []any{map[string]any{
							"name":  "ffmpeg",
							"image": v[0].(string) + ":" + a.Function.ImageTag,
							"env":   env,
							"securityContext": map[string]any{
								"allowPrivilegeEscalation": false,
								"readOnlyRootFilesystem":   true,
								"capabilities":             map[string]any{"drop": []string{"ALL"}},
							},
							"volumeMounts": []any{map[string]any{"name": "scratch", "mountPath": "/scratch"}},
							"resources":    resources,
						}},
						"volumes": []any{map[string]any{
							"name": "scratch", "emptyDir": map[string]any{"sizeLimit": a.Jobs.MaxEphemeralStorage},
						}},
					},
				},
			},
		})
	}).(pulumi.StringOutput)
}

// jobPolicies close the media namespace: nothing reaches a job, and a job reaches only the
// cluster's DNS (kube.NewNetworkPolicies adds it), HTTPS out of the VPC (S3 through the gateway
// endpoint, STS for its IRSA token) and the VPC's interface endpoints where it has them. Images
// are pulled by the kubelet, on the node's network, not by the pod.
func (b *builder) jobPolicies() []kube.NetworkPolicy {
	n := b.args.Network
	out := []kube.NetworkPolicy{{Name: "allow-https", Egress: []kube.Rule{n.HTTPSOut()}}}
	if eps := n.AWSEndpoints(); len(eps) > 0 {
		out = append(out, kube.NetworkPolicy{Name: "allow-aws-endpoints", Egress: eps})
	}
	return out
}
