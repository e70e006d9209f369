package chartcheck

import (
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// Pod is one pod template a rendered object creates.
type Pod struct {
	Owner    Object
	Replicas int // 1 for a Deployment without replicas; 0 for a DaemonSet, a Job or a CronJob
	// Hook is a Helm hook's pod: it runs during the install or upgrade and is gone after it.
	Hook bool
	Meta metav1.ObjectMeta
	Spec corev1.PodSpec
}

// podTemplatePaths are where each workload kind keeps its pod template.
var podTemplatePaths = map[string][]string{
	"Pod":         nil,
	"Deployment":  {"spec", "template"},
	"StatefulSet": {"spec", "template"},
	"DaemonSet":   {"spec", "template"},
	"ReplicaSet":  {"spec", "template"},
	"Job":         {"spec", "template"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template"},
}

// Pods are the pod templates of every workload among objs.
func Pods(objs []Object) ([]Pod, error) {
	var out []Pod
	for _, o := range objs {
		path, ok := podTemplatePaths[o.Kind()]
		if !ok {
			continue
		}
		var tpl any = map[string]any(o)
		for _, p := range path {
			m, _ := tpl.(map[string]any)
			tpl = m[p]
		}
		b, err := json.Marshal(tpl)
		if err != nil {
			return nil, err
		}
		var pt struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
			Spec     corev1.PodSpec    `json:"spec"`
		}
		if err := json.Unmarshal(b, &pt); err != nil {
			return nil, fmt.Errorf("%s: pod template: %w", o, err)
		}
		replicas := 0
		switch o.Kind() {
		case "Deployment", "StatefulSet", "ReplicaSet":
			replicas = 1
			spec, _ := o["spec"].(map[string]any)
			if n, ok := spec["replicas"].(float64); ok {
				replicas = int(n)
			}
		case "Pod":
			replicas = 1
		}
		meta, _ := o["metadata"].(map[string]any)
		annotations, _ := meta["annotations"].(map[string]any)
		_, hook := annotations["helm.sh/hook"]
		out = append(out, Pod{Owner: o, Replicas: replicas, Hook: hook, Meta: pt.Metadata, Spec: pt.Spec})
	}
	return out, nil
}

// PodSecurity returns why each pod would be refused in a namespace that enforces level
// ("privileged", "baseline" or "restricted") at the latest policy version, through the Pod
// Security admission controller's own checks (k8s.io/pod-security-admission).
func PodSecurity(pods []Pod, level string) ([]string, error) {
	l, err := psaapi.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, err
	}
	lv := psaapi.LevelVersion{Level: l, Version: psaapi.LatestVersion()}
	var out []string
	for i := range pods {
		p := &pods[i]
		res := policy.AggregateCheckResults(eval.EvaluatePod(lv, &p.Meta, &p.Spec))
		if !res.Allowed {
			out = append(out, fmt.Sprintf("%s: %s: %s", p.Owner, res.ForbiddenReason(), res.ForbiddenDetail()))
		}
	}
	return out, nil
}

// Resources returns every container (init containers included) that does not set CPU and
// memory requests and limits.
func Resources(pods []Pod) []string {
	var out []string
	for _, p := range pods {
		for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			var missing []string
			for _, q := range []struct {
				list corev1.ResourceList
				kind string
				name corev1.ResourceName
			}{
				{c.Resources.Requests, "requests", corev1.ResourceCPU},
				{c.Resources.Requests, "requests", corev1.ResourceMemory},
				{c.Resources.Limits, "limits", corev1.ResourceCPU},
				{c.Resources.Limits, "limits", corev1.ResourceMemory},
			} {
				if v, ok := q.list[q.name]; !ok || v.IsZero() {
					missing = append(missing, q.kind+"."+string(q.name))
				}
			}
			if len(missing) > 0 {
				out = append(out, fmt.Sprintf("%s container %s: no %v", p.Owner, c.Name, missing))
			}
		}
	}
	sort.Strings(out)
	return out
}

// Requests is what one pod asks of a node: its containers' requests summed, or its largest
// init container's if that is more (https://kubernetes.io/docs/concepts/workloads/pods/init-containers/#resource-sharing-within-containers).
func Requests(p Pod) (cpuMilli, memoryMi float64) {
	sum := func(cs []corev1.Container) (cpu, mem resource.Quantity) {
		for _, c := range cs {
			cpu.Add(c.Resources.Requests[corev1.ResourceCPU])
			mem.Add(c.Resources.Requests[corev1.ResourceMemory])
		}
		return cpu, mem
	}
	// Sidecars (init containers that restart always) run beside the containers.
	regular := append([]corev1.Container{}, p.Spec.Containers...)
	var inits []corev1.Container
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			regular = append(regular, c)
		} else {
			inits = append(inits, c)
		}
	}
	cpu, mem := sum(regular)
	for _, c := range inits {
		if q := c.Resources.Requests[corev1.ResourceCPU]; q.Cmp(cpu) > 0 {
			cpu = q
		}
		if q := c.Resources.Requests[corev1.ResourceMemory]; q.Cmp(mem) > 0 {
			mem = q
		}
	}
	return float64(cpu.MilliValue()), float64(mem.Value()) / (1 << 20)
}
