package config

import (
	"fmt"
	"regexp"
)

// IngressConfig is the `ingress` section: the AWS Load Balancer Controller that turns the GitOps
// repository's Ingresses into ALBs, the regional WAF web ACL in front of them, ExternalDNS that
// publishes their names in the stack's zone, and the application namespace's network policy.
type IngressConfig struct {
	// Namespace of the controller and ExternalDNS. Default "ingress".
	Namespace string `json:"namespace"`
	// IngressClass is the IngressClass (and IngressClassParams) Ingresses name. Default "alb".
	IngressClass string `json:"ingressClass"`
	// GroupName is the ALB group every Ingress of the class joins, so the stack's services
	// share one ALB. Default "cinegit-<stack>".
	GroupName string `json:"groupName"`
	// AccessLogsPrefix is where the ALBs' access logs go in the logs bucket. Default "alb".
	AccessLogsPrefix string `json:"accessLogsPrefix"`
	// Controller pins and sizes the AWS Load Balancer Controller.
	Controller IngressControllerConfig `json:"controller"`
	// ExternalDNS pins and sizes ExternalDNS (installed only with dns.domain).
	ExternalDNS ExternalDNSConfig `json:"externalDns"`
	// WAFMode is "block" or "count" (count only outside staging and prod). Default "block".
	WAFMode string `json:"wafMode"`
	// RateLimit is the most requests one IP may make per RateLimitWindowSeconds. Default 2000.
	RateLimit int `json:"rateLimit"`
	// RateLimitWindowSeconds is the rate limit's window: 60, 120, 300 (default) or 600.
	RateLimitWindowSeconds int `json:"rateLimitWindowSeconds"`
	// WAFLogRetentionDays keeps the WAF logs (a CloudWatch value). Default 30.
	WAFLogRetentionDays int `json:"wafLogRetentionDays"`
	// NetworkPolicy closes the application namespace.
	NetworkPolicy NetworkPolicyConfig `json:"networkPolicy"`
}

// IngressControllerConfig pins and sizes the AWS Load Balancer Controller.
type IngressControllerConfig struct {
	// ChartVersion of the eks-charts aws-load-balancer-controller chart, exact. Default "3.5.0".
	ChartVersion string `json:"chartVersion"`
	// Replicas of the controller (1-3; leader election picks one active, the others serve its
	// webhooks). Default 1, 2 where the stack requires HA.
	Replicas int `json:"replicas"`
	// Resources of the controller. Defaults requests 50m/128Mi, limits 500m/512Mi.
	Resources ResourcesConfig `json:"resources"`
}

// ExternalDNSConfig pins and sizes ExternalDNS.
type ExternalDNSConfig struct {
	// ChartVersion of the kubernetes-sigs external-dns chart, exact. Default "1.21.1".
	ChartVersion string `json:"chartVersion"`
	// Policy is "sync" (records of a deleted Ingress are deleted; only records this cluster owns
	// by its TXT records) or "upsert-only" (never deletes). Default "sync".
	Policy string `json:"policy"`
	// Resources of ExternalDNS. Defaults requests 10m/64Mi, limits 200m/128Mi.
	Resources ResourcesConfig `json:"resources"`
}

// NetworkPolicyConfig is the application namespace's NetworkPolicy: default deny, then DNS,
// the data stores, HTTPS out, the load balancer in on ServicePorts and Prometheus on
// MetricsPorts.
type NetworkPolicyConfig struct {
	// ServicePorts are the container ports the ALB may reach. Default [8080].
	ServicePorts []int `json:"servicePorts"`
	// MetricsPorts are the container ports Prometheus may scrape. Default [9090].
	MetricsPorts []int `json:"metricsPorts"`
}

// ExternalDNS policies.
const (
	ExternalDNSSync       = "sync"
	ExternalDNSUpsertOnly = "upsert-only"
)

var (
	dnsLabelName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	awsLogs      = regexp.MustCompile(`(?i)awslogs`)
)

func (c *IngressConfig) applyDefaults(env Env) {
	setString(&c.Namespace, "ingress")
	setString(&c.IngressClass, "alb")
	setString(&c.GroupName, "cinegit-"+env.Stack)
	setString(&c.AccessLogsPrefix, "alb")
	setString(&c.Controller.ChartVersion, "3.5.0")
	setInt(&c.Controller.Replicas, haOr(env, 2, 1))
	c.Controller.Resources.defaults("50m", "128Mi", "500m", "512Mi")
	setString(&c.ExternalDNS.ChartVersion, "1.21.1")
	setString(&c.ExternalDNS.Policy, ExternalDNSSync)
	c.ExternalDNS.Resources.defaults("10m", "64Mi", "200m", "128Mi")
	setString(&c.WAFMode, WAFBlock)
	setInt(&c.RateLimit, 2000)
	setInt(&c.RateLimitWindowSeconds, 300)
	setInt(&c.WAFLogRetentionDays, 30)
	if len(c.NetworkPolicy.ServicePorts) == 0 {
		c.NetworkPolicy.ServicePorts = []int{8080}
	}
	if len(c.NetworkPolicy.MetricsPorts) == 0 {
		c.NetworkPolicy.MetricsPorts = []int{9090}
	}
}

func (c *IngressConfig) validate(p *problems, env Env) {
	const k = "ingress."
	validateNamespace(p, k+"namespace", c.Namespace)
	for _, f := range []struct{ key, value string }{{k + "ingressClass", c.IngressClass}, {k + "groupName", c.GroupName}} {
		if len(f.value) > 63 || !dnsLabelName.MatchString(f.value) {
			p.add(f.key, f.value, "a DNS label: lowercase letters, digits and -, at most 63 characters")
		}
	}
	// ELB adds AWSLogs/ after the prefix itself and rejects a prefix containing it.
	if !repoPath.MatchString(c.AccessLogsPrefix) || awsLogs.MatchString(c.AccessLogsPrefix) {
		p.add(k+"accessLogsPrefix", c.AccessLogsPrefix, "a relative S3 prefix without a leading or trailing / and without AWSLogs")
	}
	validateChartVersion(p, k+"controller.chartVersion", c.Controller.ChartVersion)
	intRange(p, k+"controller.replicas", c.Controller.Replicas, 1, 3, "replicas")
	if env.Rules.RequireHA && c.Controller.Replicas < 2 {
		p.add(k+"controller.replicas", c.Controller.Replicas, "at least 2 for stack %q (its webhooks admit every Ingress and Service)", env.Stack)
	}
	c.Controller.Resources.validate(p, k+"controller.resources")
	validateChartVersion(p, k+"externalDns.chartVersion", c.ExternalDNS.ChartVersion)
	if c.ExternalDNS.Policy != ExternalDNSSync && c.ExternalDNS.Policy != ExternalDNSUpsertOnly {
		p.add(k+"externalDns.policy", c.ExternalDNS.Policy, "%q or %q", ExternalDNSSync, ExternalDNSUpsertOnly)
	}
	c.ExternalDNS.Resources.validate(p, k+"externalDns.resources")
	switch c.WAFMode {
	case WAFBlock:
	case WAFCount:
		if env.Rules.RequireProtection {
			p.add(k+"wafMode", c.WAFMode, "%q for stack %q: count mode lets attacks through", WAFBlock, env.Stack)
		}
	default:
		p.add(k+"wafMode", c.WAFMode, "%q or %q", WAFBlock, WAFCount)
	}
	if c.RateLimit < 10 || c.RateLimit > 2_000_000_000 {
		p.add(k+"rateLimit", c.RateLimit, "10 to 2000000000 requests per window (AWS WAF's limits)")
	}
	switch c.RateLimitWindowSeconds {
	case 60, 120, 300, 600:
	default:
		p.add(k+"rateLimitWindowSeconds", c.RateLimitWindowSeconds, "60, 120, 300 or 600")
	}
	if !validRetention(c.WAFLogRetentionDays) {
		p.add(k+"wafLogRetentionDays", c.WAFLogRetentionDays, "one of CloudWatch's retention values: %s", retentionList())
	}
	for _, f := range []struct {
		name  string
		ports []int
	}{{"servicePorts", c.NetworkPolicy.ServicePorts}, {"metricsPorts", c.NetworkPolicy.MetricsPorts}} {
		for i, port := range f.ports {
			intRange(p, fmt.Sprintf("%snetworkPolicy.%s[%d]", k, f.name, i), port, 1, 65535, "a port")
		}
	}
}
