// Package ingress routes users to CineGit's services: the AWS Load Balancer Controller turns
// Ingresses of the GitOps repository into ALBs (TLS 1.2+, HTTP redirected to HTTPS, access logs
// in the logs bucket, the regional WAF web ACL in front), ExternalDNS publishes their names in
// the stack's zone, and NetworkPolicies close the application namespace and the controllers'
// own to everything else.
package ingress

import (
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/irsa"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Charts: the AWS Load Balancer Controller from AWS's eks-charts and ExternalDNS from
// kubernetes-sigs (https://github.com/aws/eks-charts/tree/master/stable/aws-load-balancer-controller,
// https://github.com/kubernetes-sigs/external-dns/tree/master/charts/external-dns).
const (
	ControllerChartRepo  = "https://aws.github.io/eks-charts"
	ControllerChart      = "aws-load-balancer-controller"
	ControllerSA         = "aws-load-balancer-controller"
	ExternalDNSChartRepo = "https://kubernetes-sigs.github.io/external-dns"
	ExternalDNSChart     = "external-dns"
	ExternalDNSSA        = "external-dns"
	// SSLPolicy is the ALBs' listener policy: TLS 1.3 and 1.2 only, forward-secret ciphers (the
	// ELB docs' recommended policy, "Security policies for your Application Load Balancer").
	SSLPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
)

// Args configure the ingress component.
type Args struct {
	Env                stackenv.Env
	KubernetesProvider *kubernetes.Provider
	// OidcProviderArn and OidcIssuer are the cluster's, for the controllers' IRSA roles.
	OidcProviderArn, OidcIssuer pulumi.StringInput
	// ClusterName and VpcID are given to the controller: with IMDSv2 hop limit 1 it cannot read
	// them from instance metadata.
	ClusterName, VpcID pulumi.StringInput

	// Namespace of both controllers (created here, Pod Security restricted).
	Namespace string
	// IngressClass is the IngressClass (and IngressClassParams) name Ingresses use.
	IngressClass string
	// GroupName is the ALB group every Ingress of the class joins: one ALB for the stack.
	GroupName string

	ControllerChartVersion string
	ControllerReplicas     int
	ControllerResources    kube.Resources

	// CertificateArn is the regional certificate for the domain; "" before it is issued (the
	// controller then discovers certificates from the Ingresses' TLS hosts).
	CertificateArn pulumi.StringInput
	// LogsBucket receives the ALBs' access logs under LogsPrefix.
	LogsBucket pulumi.StringInput
	LogsPrefix string

	// WAF is the regional web ACL in front of the ALBs.
	WAF WAFArgs

	// Domain and ZoneID are the stack's public zone; ExternalDNS exists only with a zone.
	Domain                  string
	ZoneID                  pulumi.StringInput
	ExternalDNSChartVersion string
	ExternalDNSResources    kube.Resources
	// ExternalDNSPolicy is "sync" (deletes the records it owns when their Ingress goes) or
	// "upsert-only".
	ExternalDNSPolicy string

	// Network is where the cluster's pods live: the controllers' namespace (and the
	// application namespace, with NetworkPolicy) denies by default and allows by it.
	Network kube.ClusterNetwork
	// NetworkPolicy closes the application namespace; nil creates no policies there.
	NetworkPolicy *NetworkPolicyArgs

	// Protect marks the WAF logs key with Pulumi's protect option.
	Protect bool
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (a Args) check() error {
	switch {
	case a.KubernetesProvider == nil:
		return fmt.Errorf("KubernetesProvider is required")
	case a.OidcProviderArn == nil || a.OidcIssuer == nil || a.ClusterName == nil || a.VpcID == nil:
		return fmt.Errorf("OidcProviderArn, OidcIssuer, ClusterName and VpcID are required")
	case !dnsLabel.MatchString(a.IngressClass) || !dnsLabel.MatchString(a.GroupName) || len(a.GroupName) > 63:
		return fmt.Errorf("IngressClass %q and GroupName %q must be DNS labels", a.IngressClass, a.GroupName)
	case !kube.ExactVersion.MatchString(a.ControllerChartVersion):
		return fmt.Errorf("ControllerChartVersion %q is not exact", a.ControllerChartVersion)
	case a.ControllerReplicas < 1:
		return fmt.Errorf("at least one controller replica is required")
	case a.LogsBucket == nil || a.LogsPrefix == "":
		return fmt.Errorf("LogsBucket and LogsPrefix are required: every ALB logs its requests")
	case a.Domain != "" && (a.ZoneID == nil || !kube.ExactVersion.MatchString(a.ExternalDNSChartVersion)):
		return fmt.Errorf("ExternalDNS needs ZoneID and an exact ExternalDNSChartVersion")
	case a.Domain != "" && a.ExternalDNSPolicy != "sync" && a.ExternalDNSPolicy != "upsert-only":
		return fmt.Errorf("ExternalDNSPolicy %q: sync or upsert-only", a.ExternalDNSPolicy)
	}
	if err := a.Network.Check(); err != nil {
		return err
	}
	return a.WAF.check()
}

// Ingress is the component.
type Ingress struct {
	pulumi.ResourceState

	// WebAclArn is the regional web ACL the IngressClassParams attach to every load balancer of
	// the class.
	WebAclArn pulumi.StringOutput `pulumi:"webAclArn"`
	// IngressClass resolves once the controller (and its IngressClass) is installed.
	IngressClass pulumi.StringOutput `pulumi:"ingressClass"`
	// GroupName is the ALB group of the stack.
	GroupName pulumi.StringOutput `pulumi:"groupName"`
	// ControllerRoleArn and ExternalDNSRoleArn are the IRSA roles ("" without a zone).
	ControllerRoleArn  pulumi.StringOutput `pulumi:"controllerRoleArn"`
	ExternalDNSRoleArn pulumi.StringOutput `pulumi:"externalDnsRoleArn"`
}

// New creates the component.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Ingress, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("ingress %s: %w", name, err)
	}
	in := &Ingress{}
	if err := ctx.RegisterComponentResource("cinegit:ingress:Ingress", name, in, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(in)
	k8s := []pulumi.ResourceOption{parent, pulumi.Provider(args.KubernetesProvider)}
	env := args.Env

	acl, err := webACL(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}

	ns, err := kube.NewNamespace(ctx, name, kube.NamespaceArgs{
		Name: args.Namespace, Environment: env.Naming.Stack, Purpose: "ingress", PodSecurity: kube.Restricted,
	}, k8s...)
	if err != nil {
		return nil, err
	}
	nsName := kube.NamespaceName(ns)
	if err := kube.NewNetworkPolicies(ctx, name+"-controllers", nsName, controllerPolicies(args), k8s...); err != nil {
		return nil, err
	}

	controllerRole, err := irsa.NewRole(ctx, name+"-controller", irsa.Args{
		Env:             env,
		OidcProviderArn: args.OidcProviderArn,
		OidcIssuer:      args.OidcIssuer,
		Namespace:       args.Namespace,
		ServiceAccount:  ControllerSA,
		Policy:          ControllerPolicy(env, args.ClusterName, args.VpcID, acl.Arn),
		Description:     "AWS Load Balancer Controller: ALBs of this cluster's Ingresses",
	}, parent)
	if err != nil {
		return nil, err
	}
	controller, err := kube.NewRelease(ctx, name+"-controller", kube.ReleaseArgs{
		Name:      ControllerChart,
		Chart:     ControllerChart,
		Version:   args.ControllerChartVersion,
		Repo:      ControllerChartRepo,
		Namespace: nsName,
		Values:    controllerValues(args, controllerRole.Arn, acl.Arn),
	}, k8s...)
	if err != nil {
		return nil, err
	}

	dnsRoleArn := pulumi.String("").ToStringOutput()
	if args.Domain != "" {
		dnsRole, err := irsa.NewRole(ctx, name+"-external-dns", irsa.Args{
			Env:             env,
			OidcProviderArn: args.OidcProviderArn,
			OidcIssuer:      args.OidcIssuer,
			Namespace:       args.Namespace,
			ServiceAccount:  ExternalDNSSA,
			Policy:          ExternalDNSRolePolicy(env, args.ZoneID),
			Description:     "ExternalDNS: records of this cluster's Ingresses in the " + args.Domain + " zone only",
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := kube.NewRelease(ctx, name+"-external-dns", kube.ReleaseArgs{
			Name:      ExternalDNSChart,
			Chart:     ExternalDNSChart,
			Version:   args.ExternalDNSChartVersion,
			Repo:      ExternalDNSChartRepo,
			Namespace: nsName,
			Values:    externalDNSValues(args, dnsRole.Arn),
		}, k8s...); err != nil {
			return nil, err
		}
		dnsRoleArn = dnsRole.Arn
	}

	if args.NetworkPolicy != nil {
		allows, err := appPolicies(args.Network, *args.NetworkPolicy)
		if err != nil {
			return nil, fmt.Errorf("ingress %s: %w", name, err)
		}
		if err := kube.NewNetworkPolicies(ctx, name, args.NetworkPolicy.Namespace, allows, k8s...); err != nil {
			return nil, err
		}
	}

	in.WebAclArn = acl.Arn
	// The class exists once the release that creates it is installed.
	in.IngressClass = controller.ID().ApplyT(func(pulumi.ID) string { return args.IngressClass }).(pulumi.StringOutput)
	in.GroupName = pulumi.String(args.GroupName).ToStringOutput()
	in.ControllerRoleArn = controllerRole.Arn
	in.ExternalDNSRoleArn = dnsRoleArn
	return in, ctx.RegisterResourceOutputs(in, pulumi.Map{
		"webAclArn":          in.WebAclArn,
		"ingressClass":       in.IngressClass,
		"groupName":          in.GroupName,
		"controllerRoleArn":  in.ControllerRoleArn,
		"externalDnsRoleArn": in.ExternalDNSRoleArn,
	})
}
