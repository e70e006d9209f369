package ingress

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/kube"
)

// Values of the aws-load-balancer-controller chart (key paths checked against its values.yaml
// and crds.yaml at 3.5.0, https://github.com/aws/eks-charts/tree/master/stable/aws-load-balancer-controller).
type controllerChartValues struct {
	ClusterName                pulumi.StringInput `json:"clusterName"`
	Region                     string             `json:"region"`
	VpcID                      pulumi.StringInput `json:"vpcId"`
	ReplicaCount               int                `json:"replicaCount"`
	Resources                  kube.Resources     `json:"resources"`
	ServiceAccount             serviceAccount     `json:"serviceAccount"`
	PodSecurityContext         podSecurity        `json:"podSecurityContext"`
	SecurityContext            containerSecurity  `json:"securityContext"`
	IngressClass               string             `json:"ingressClass"`
	CreateIngressClassResource bool               `json:"createIngressClassResource"`
	IngressClassParams         ingressClassParams `json:"ingressClassParams"`
	// DefaultTargetType ip: the ALB sends to pod IPs (what the network policy admits).
	DefaultTargetType string `json:"defaultTargetType"`
	DefaultSSLPolicy  string `json:"defaultSSLPolicy"`
	// WAF Classic and Shield Advanced are not used: the controller would otherwise call them on
	// every reconcile (and need their permissions).
	EnableWaf    bool `json:"enableWaf"`
	EnableShield bool `json:"enableShield"`
	EnableWafv2  bool `json:"enableWafv2"`
	// EnableServiceMutatorWebhook off: the webhook (failurePolicy Fail, on every Service
	// created) would make the other releases' Services fail while the controller's pods start at
	// first install; CineGit creates no Services of type LoadBalancer (the policy pack forbids
	// them), which is all it is for (templates/webhook.yaml at 3.5.0).
	EnableServiceMutatorWebhook bool              `json:"enableServiceMutatorWebhook"`
	DefaultTags                 map[string]string `json:"defaultTags"`
	// PodDisruptionBudget applies only with more than one replica (the chart's rule).
	PodDisruptionBudget map[string]int `json:"podDisruptionBudget,omitempty"`
}

type serviceAccount struct {
	Create      bool                          `json:"create"`
	Name        string                        `json:"name"`
	Annotations map[string]pulumi.StringInput `json:"annotations"`
}

type podSecurity struct {
	RunAsNonRoot   bool              `json:"runAsNonRoot"`
	FSGroup        int               `json:"fsGroup"`
	SeccompProfile map[string]string `json:"seccompProfile"`
}

type containerSecurity struct {
	ReadOnlyRootFilesystem   bool                `json:"readOnlyRootFilesystem"`
	RunAsNonRoot             bool                `json:"runAsNonRoot"`
	AllowPrivilegeEscalation bool                `json:"allowPrivilegeEscalation"`
	Capabilities             map[string][]string `json:"capabilities"`
}

// ingressClassParams is the chart's IngressClassParams: the defaults every Ingress of the
// class gets and cannot override (the controller's "IngressClassParams" guide: params win
// over annotations).
type ingressClassParams struct {
	Create bool             `json:"create"`
	Name   string           `json:"name"`
	Spec   ingressClassSpec `json:"spec"`
}

type ingressClassSpec struct {
	Group  map[string]string `json:"group"`
	Scheme string            `json:"scheme"`
	// SSLPolicy is every HTTPS listener's TLS policy.
	SSLPolicy string `json:"sslPolicy"`
	// SSLRedirectPort redirects every HTTP listener to HTTPS on this port.
	SSLRedirectPort        string                          `json:"sslRedirectPort"`
	CertificateArn         pulumi.StringArrayInput         `json:"certificateArn,omitempty"`
	TargetType             string                          `json:"targetType"`
	LoadBalancerAttributes []map[string]pulumi.StringInput `json:"loadBalancerAttributes"`
	// Wafv2AclArn attaches the stack's regional web ACL to every load balancer of the class:
	// the platform attaches it, not each Ingress's annotation (IngressClassParams.spec.wafv2AclArn,
	// the chart's CRD at 3.5.0; params win over annotations).
	Wafv2AclArn pulumi.StringInput `json:"wafv2AclArn"`
}

// AccessLogAttributes are the ALB attributes that deliver access logs to the bucket
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html),
// plus dropping invalid header fields (request smuggling hardening).
func accessLogAttributes(bucket pulumi.StringInput, prefix string) []map[string]pulumi.StringInput {
	attr := func(k string, v pulumi.StringInput) map[string]pulumi.StringInput {
		return map[string]pulumi.StringInput{"key": pulumi.String(k), "value": v}
	}
	return []map[string]pulumi.StringInput{
		attr("access_logs.s3.enabled", pulumi.String("true")),
		attr("access_logs.s3.bucket", bucket),
		attr("access_logs.s3.prefix", pulumi.String(prefix)),
		attr("routing.http.drop_invalid_header_fields.enabled", pulumi.String("true")),
	}
}

func irsaAnnotation(roleArn pulumi.StringInput) map[string]pulumi.StringInput {
	return map[string]pulumi.StringInput{"eks.amazonaws.com/role-arn": roleArn}
}

func controllerValues(args Args, roleArn, webACLArn pulumi.StringInput) controllerChartValues {
	v := controllerChartValues{
		ClusterName:  args.ClusterName,
		Region:       args.Env.Region,
		VpcID:        args.VpcID,
		ReplicaCount: args.ControllerReplicas,
		Resources:    args.ControllerResources,
		ServiceAccount: serviceAccount{
			Create: true, Name: ControllerSA, Annotations: irsaAnnotation(roleArn),
		},
		PodSecurityContext: podSecurity{RunAsNonRoot: true, FSGroup: 65534, SeccompProfile: map[string]string{"type": "RuntimeDefault"}},
		SecurityContext: containerSecurity{
			ReadOnlyRootFilesystem: true, RunAsNonRoot: true, Capabilities: map[string][]string{"drop": {"ALL"}},
		},
		IngressClass:               args.IngressClass,
		CreateIngressClassResource: true,
		IngressClassParams: ingressClassParams{
			Create: true,
			Name:   args.IngressClass,
			Spec: ingressClassSpec{
				Group:                  map[string]string{"name": args.GroupName},
				Scheme:                 "internet-facing",
				SSLPolicy:              SSLPolicy,
				SSLRedirectPort:        "443",
				CertificateArn:         certificates(args.CertificateArn),
				TargetType:             "ip",
				LoadBalancerAttributes: accessLogAttributes(args.LogsBucket, args.LogsPrefix),
				Wafv2AclArn:            webACLArn,
			},
		},
		DefaultTargetType: "ip",
		DefaultSSLPolicy:  SSLPolicy,
		EnableWafv2:       true,
		DefaultTags:       args.Env.Tags,
	}
	if args.ControllerReplicas > 1 {
		v.PodDisruptionBudget = map[string]int{"maxUnavailable": 1}
	}
	return v
}

// certificates is the certificate list of the class: empty until the certificate is issued.
func certificates(arn pulumi.StringInput) pulumi.StringArrayInput {
	if arn == nil {
		return nil
	}
	return arn.ToStringOutput().ApplyT(func(a string) []string {
		if a == "" {
			return nil
		}
		return []string{a}
	}).(pulumi.StringArrayOutput)
}

// Values of the external-dns chart (values.yaml at 1.21.1,
// https://github.com/kubernetes-sigs/external-dns/blob/master/charts/external-dns/values.yaml).
type externalDNSChartValues struct {
	Provider       map[string]string       `json:"provider"`
	Env            []map[string]string     `json:"env"`
	ServiceAccount serviceAccount          `json:"serviceAccount"`
	Resources      kube.Resources          `json:"resources"`
	Sources        []string                `json:"sources"`
	Policy         string                  `json:"policy"`
	Registry       string                  `json:"registry"`
	TxtOwnerID     pulumi.StringInput      `json:"txtOwnerId"`
	DomainFilters  []string                `json:"domainFilters"`
	ExtraArgs      pulumi.StringArrayInput `json:"extraArgs"`
	Interval       string                  `json:"interval"`
}

func externalDNSValues(args Args, roleArn pulumi.StringInput) externalDNSChartValues {
	return externalDNSChartValues{
		Provider: map[string]string{"name": "aws"},
		// Pods cannot reach instance metadata (IMDSv2 hop limit 1): give the region.
		Env:            []map[string]string{{"name": "AWS_DEFAULT_REGION", "value": args.Env.Region}},
		ServiceAccount: serviceAccount{Create: true, Name: ExternalDNSSA, Annotations: irsaAnnotation(roleArn)},
		Resources:      args.ExternalDNSResources,
		Sources:        []string{"service", "ingress"},
		Policy:         args.ExternalDNSPolicy,
		// TXT records beside each record name this cluster as its owner: ExternalDNS never
		// touches records it did not create (https://kubernetes-sigs.github.io/external-dns/latest/docs/registry/txt/).
		Registry:      "txt",
		TxtOwnerID:    args.ClusterName,
		DomainFilters: []string{args.Domain},
		// Only the stack's zone, by id: a same-named zone elsewhere in the account is ignored.
		ExtraArgs: pulumi.StringArray{pulumi.String("--aws-zone-type=public"), pulumi.Sprintf("--zone-id-filter=%s", args.ZoneID)},
		Interval:  "1m",
	}
}
