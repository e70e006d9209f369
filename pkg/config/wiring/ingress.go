package wiring

import (
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/dns"
	"github.com/cinegit/infrastructure/pkg/ingress"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/secrets"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// IngressArgs is the Ingress component's input: the load balancer controller on the cluster in
// the stack's VPC, logging to the logs bucket, ExternalDNS on the stack's zone (zone nil: none),
// and the application namespace's network policy.
func (c Config) IngressArgs(env stackenv.Env, eks *cluster.Cluster, net *network.Network, zone *dns.Zone,
	media *mediastore.MediaStore, store *secrets.Secrets) ingress.Args {
	in := c.Ingress
	a := ingress.Args{
		Env:                    env,
		KubernetesProvider:     eks.KubernetesProvider,
		OidcProviderArn:        eks.OidcProviderArn,
		OidcIssuer:             eks.OidcIssuer,
		ClusterName:            eks.ClusterName,
		VpcID:                  net.VpcID,
		Namespace:              in.Namespace,
		IngressClass:           in.IngressClass,
		GroupName:              in.GroupName,
		ControllerChartVersion: in.Controller.ChartVersion,
		ControllerReplicas:     in.Controller.Replicas,
		ControllerResources:    resources(in.Controller.Resources),
		CertificateArn:         c.CertificateArn(zone),
		LogsBucket:             media.LogsBucketName,
		LogsPrefix:             in.AccessLogsPrefix,
		WAF: ingress.WAFArgs{
			Block:                  in.WAFMode == config.WAFBlock,
			RateLimit:              in.RateLimit,
			RateLimitWindowSeconds: in.RateLimitWindowSeconds,
			LogRetentionDays:       in.WAFLogRetentionDays,
		},
		ExternalDNSChartVersion: in.ExternalDNS.ChartVersion,
		ExternalDNSResources:    resources(in.ExternalDNS.Resources),
		ExternalDNSPolicy:       in.ExternalDNS.Policy,
		Network:                 c.ClusterNetwork(eks),
		Protect:                 c.Protect,
	}
	if zone != nil {
		a.Domain, a.ZoneID = zone.Domain, zone.ZoneID
	}
	// The layout was validated with the configuration; an error here is impossible.
	layout, _ := c.Network.Layout()
	a.NetworkPolicy = &ingress.NetworkPolicyArgs{
		Namespace: store.ApplicationNamespace,
		// PostgreSQL is in the database subnets, Redis in the private ones.
		DataStoreCIDRs:      append(append([]string{}, layout.Database...), layout.Private...),
		LoadBalancerCIDRs:   layout.Public,
		ServicePorts:        in.NetworkPolicy.ServicePorts,
		PrometheusNamespace: c.Observability.Namespace,
		MetricsPorts:        in.NetworkPolicy.MetricsPorts,
	}
	return a
}
