package secrets

import "github.com/cinegit/infrastructure/pkg/kube"

// The operator's pods, as the chart labels them (external-secrets 2.9.0: the three
// Deployments' pod templates, whose Services select the same labels).
var (
	controllerPods     = map[string]string{"app.kubernetes.io/name": ChartName, "app.kubernetes.io/instance": ChartName}
	webhookPods        = map[string]string{"app.kubernetes.io/name": ChartName + "-webhook", "app.kubernetes.io/instance": ChartName}
	certControllerPods = map[string]string{"app.kubernetes.io/name": ChartName + "-cert-controller", "app.kubernetes.io/instance": ChartName}
)

// WebhookPort is the webhook's container port (the chart's webhook.port, 10250; its Service
// maps 443 to it), which the API server calls to validate ExternalSecrets and stores.
const WebhookPort = 10250

// operatorPolicies close the operator's namespace. The controller watches ExternalSecrets,
// writes Secrets and reads Secrets Manager with its IRSA role (STS); the certificate
// controller keeps the webhook's certificate in a Secret and the webhook configurations; the
// webhook only answers the API server (its service account has no role, so it calls nothing).
// Nothing scrapes them (the chart's ServiceMonitors are off).
func operatorPolicies(n kube.ClusterNetwork) []kube.NetworkPolicy {
	return []kube.NetworkPolicy{
		{Name: "controller", Pods: controllerPods, Egress: append([]kube.Rule{n.KubeAPI()}, n.AWS()...)},
		{Name: "webhook", Pods: webhookPods, Ingress: []kube.Rule{n.FromControlPlane(WebhookPort)}},
		{Name: "cert-controller", Pods: certControllerPods, Egress: []kube.Rule{n.KubeAPI()}},
	}
}
