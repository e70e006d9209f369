package config

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// ObservabilityConfig is the `observability` section: Prometheus, Alertmanager and Grafana
// (kube-prometheus-stack), Loki with its S3 bucket, and the Grafana Alloy log collector, all in
// one namespace of the cluster.
type ObservabilityConfig struct {
	// Namespace holds every observability workload. Default "monitoring".
	Namespace string `json:"namespace"`
	// Prometheus sizes Prometheus and pins the kube-prometheus-stack chart.
	Prometheus PrometheusConfig `json:"prometheus"`
	// Alertmanager sizes Alertmanager and chooses where alerts go.
	Alertmanager AlertmanagerConfig `json:"alertmanager"`
	// Grafana sizes Grafana and its admin credential's secret.
	Grafana GrafanaConfig `json:"grafana"`
	// Loki sizes Loki and its bucket.
	Loki LokiConfig `json:"loki"`
	// Alloy pins the Grafana Alloy chart (the log collector on every node).
	Alloy AlloyConfig `json:"alloy"`
}

// PrometheusConfig sizes Prometheus.
type PrometheusConfig struct {
	// ChartVersion of the prometheus-community kube-prometheus-stack chart, exact. Default "88.5.3".
	ChartVersion string `json:"chartVersion"`
	// Retention is how long metrics are kept, a Prometheus duration ("15d", "720h"). Default "15d".
	Retention string `json:"retention"`
	// StorageGiB is each replica's persistent volume (encrypted gp3), 10-16384. Default 50.
	StorageGiB int `json:"storageGiB"`
	// Replicas of Prometheus, each scraping everything (1-5); staging and prod need 2. Default 1,
	// 2 where the stack requires HA.
	Replicas int `json:"replicas"`
	// Resources of each Prometheus container. Defaults requests 500m/2Gi, limits 2/4Gi.
	Resources ResourcesConfig `json:"resources"`
}

// AlertmanagerConfig sizes Alertmanager and chooses its receiver.
type AlertmanagerConfig struct {
	// Replicas form one Alertmanager cluster (1-5); staging and prod need 2. Default 1, 2 where
	// the stack requires HA.
	Replicas int `json:"replicas"`
	// StorageGiB is each replica's volume for silences and notification state (1-100). Default 2.
	StorageGiB int `json:"storageGiB"`
	// Receiver is where alerts go: "none" (alerts are visible in Alertmanager and Grafana only)
	// or "sns" (the stack's alarm topic, where the AWS-side CloudWatch alarms also go, so both
	// reach the same on-call channel). staging and prod need "sns", their default; elsewhere the
	// default is "none".
	Receiver string `json:"receiver"`
}

// GrafanaConfig sizes Grafana.
type GrafanaConfig struct {
	// StorageGiB is Grafana's volume (its SQLite database: users, preferences), 1-100. Default 10.
	StorageGiB int `json:"storageGiB"`
	// AdminSecretRecoveryWindowDays is how long the deleted admin credential's secret can be
	// restored: 0 (at once, so a destroyed stack can be recreated under the same name) or 7-30;
	// prod needs 7-30. Default 30 in staging and prod, 0 elsewhere. Always set after Parse.
	AdminSecretRecoveryWindowDays *int `json:"adminSecretRecoveryWindowDays"`
}

// LokiConfig sizes Loki and its bucket.
type LokiConfig struct {
	// ChartVersion of the loki chart of grafana-community/helm-charts (the open-source chart;
	// grafana/helm-charts' loki chart is for Grafana Enterprise Logs only), exact. Default "18.11.0".
	ChartVersion string `json:"chartVersion"`
	// DeploymentMode is "Monolithic": every Loki target in one process, replicated for high
	// availability where the stack requires it. SimpleScalable is deprecated (removed in Loki 4)
	// and Distributed pays off above about 20 GB of logs a day. Default Monolithic.
	DeploymentMode string `json:"deploymentMode"`
	// Replicas of the monolithic Loki: 1, or 3-10 where every write is replicated three times
	// (at least 3 where the stack requires HA). Default 1, or 3 where the stack requires HA.
	Replicas int `json:"replicas"`
	// Retention is how long logs are kept: whole days ("7d", "720h"), 1-3650 days. The bucket
	// expires objects a day after it. Default "7d".
	Retention string `json:"retention"`
	// StorageGiB is each replica's volume for the write-ahead log and caches (1-1000). Default 10.
	StorageGiB int `json:"storageGiB"`
	// ChunksCacheMemoryMB is the memcached chunks cache (0 disables it; otherwise 256-65536).
	// Default 1024.
	ChunksCacheMemoryMB *int `json:"chunksCacheMemoryMB"`
	// ForceDestroy lets `pulumi destroy` delete the bucket with its logs (ephemeral stacks;
	// prod rejects it). Default false.
	ForceDestroy bool `json:"forceDestroy"`
	// Resources of each Loki container. Defaults requests 250m/512Mi, limits 1/2Gi.
	Resources ResourcesConfig `json:"resources"`
	// CredentialRecoveryWindowDays is how long the deleted secret of Loki's client credential
	// (the gateway's basic auth, generated into Secrets Manager) can be restored: 0 (at once,
	// so a destroyed stack can be recreated under the same name) or 7-30; prod needs 7-30.
	// Default 30 in staging and prod, 0 elsewhere. Always set after Parse.
	CredentialRecoveryWindowDays *int `json:"credentialRecoveryWindowDays"`
}

// AlloyConfig pins the log collector.
type AlloyConfig struct {
	// ChartVersion of the grafana alloy chart, exact. Default "1.11.1".
	ChartVersion string `json:"chartVersion"`
}

// ResourcesConfig are a container's requests and limits, as Kubernetes quantities.
type ResourcesConfig struct {
	// Requests are what the scheduler reserves for the container.
	Requests ResourceQuantities `json:"requests"`
	// Limits cap the container (at least the requests).
	Limits ResourceQuantities `json:"limits"`
}

// ResourceQuantities are CPU ("500m", "2") and memory ("512Mi", "4Gi").
type ResourceQuantities struct {
	// CPU is a Kubernetes CPU quantity, e.g. 500m or 2.
	CPU string `json:"cpu"`
	// Memory is a Kubernetes memory quantity, e.g. 512Mi or 4Gi.
	Memory string `json:"memory"`
}

// Alert receivers.
const (
	ReceiverNone = "none"
	ReceiverSNS  = "sns"
)

// LokiMonolithic is the only Loki deployment mode offered. The chart's modes
// (grafana-community/helm-charts charts/loki/values.yaml at loki-18.11.0, `deploymentMode`):
// Monolithic (formerly SingleBinary), SimpleScalable (deprecated, removed in Loki 4) and
// Distributed. Loki's "Deployment modes" page
// (https://grafana.com/docs/loki/latest/get-started/deployment-modes/) gives replicated
// monolithic mode durability and high availability with low operational cost, for up to about
// 20 GB of logs a day, which CineGit's stacks are far below; "Install the monolithic Helm chart"
// (https://grafana.com/docs/loki/latest/setup/install/helm/install-monolithic/) recommends at
// least three replicas for high availability, with object storage (the Loki bucket).
const LokiMonolithic = "Monolithic"

// promDuration is a Prometheus duration: units from years to milliseconds, largest first, each
// at most once ("30d", "1d12h", "90m").
var promDuration = regexp.MustCompile(`^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$`)

var promUnits = []time.Duration{365 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second, time.Millisecond}

// ParseDuration reads a Prometheus (and Loki) duration such as "15d" or "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	m := promDuration.FindStringSubmatch(s)
	if s == "" || m == nil {
		return 0, fmt.Errorf("%q is not a duration like 15d, 720h or 1d12h", s)
	}
	var d time.Duration
	for i, unit := range promUnits {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > int64((1<<63-1)/unit) {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		d += time.Duration(n) * unit
	}
	return d, nil
}

// RetentionDays is Loki's retention in days (valid after Parse).
func (l LokiConfig) RetentionDays() int {
	d, _ := ParseDuration(l.Retention)
	return int(d / (24 * time.Hour))
}

func (c *ObservabilityConfig) applyDefaults(env Env) {
	if c.Namespace == "" {
		c.Namespace = "monitoring"
	}
	p := &c.Prometheus
	setString(&p.ChartVersion, "88.5.3")
	setString(&p.Retention, "15d")
	setInt(&p.StorageGiB, 50)
	setInt(&p.Replicas, haOr(env, 2, 1))
	p.Resources.defaults("500m", "2Gi", "2", "4Gi")

	a := &c.Alertmanager
	setInt(&a.Replicas, haOr(env, 2, 1))
	setInt(&a.StorageGiB, 2)
	if a.Receiver == "" {
		a.Receiver = ReceiverNone
		if env.Rules.RequireHA {
			a.Receiver = ReceiverSNS
		}
	}

	g := &c.Grafana
	setInt(&g.StorageGiB, 10)
	defaultRecoveryWindow(&g.AdminSecretRecoveryWindowDays, env)

	l := &c.Loki
	setString(&l.ChartVersion, "18.11.0")
	setString(&l.DeploymentMode, LokiMonolithic)
	if l.Replicas == 0 {
		l.Replicas = 1
		if env.Rules.RequireHA {
			l.Replicas = 3
		}
	}
	setString(&l.Retention, "7d")
	setInt(&l.StorageGiB, 10)
	if l.ChunksCacheMemoryMB == nil {
		mb := 1024
		l.ChunksCacheMemoryMB = &mb
	}
	l.Resources.defaults("250m", "512Mi", "1", "2Gi")
	defaultRecoveryWindow(&l.CredentialRecoveryWindowDays, env)

	setString(&c.Alloy.ChartVersion, "1.11.1")
}

// haOr is ha where the stack requires high availability, otherwise other.
func haOr(env Env, ha, other int) int {
	if env.Rules.RequireHA {
		return ha
	}
	return other
}

func (r *ResourcesConfig) defaults(cpuRequest, memoryRequest, cpuLimit, memoryLimit string) {
	setString(&r.Requests.CPU, cpuRequest)
	setString(&r.Requests.Memory, memoryRequest)
	setString(&r.Limits.CPU, cpuLimit)
	setString(&r.Limits.Memory, memoryLimit)
}

// defaultRecoveryWindow sets an unset secret recovery window: 30 days where the stack requires
// protection, 0 (deleted at once, so that the stack can be recreated) elsewhere.
func defaultRecoveryWindow(field **int, env Env) {
	if *field == nil {
		days := 0
		if env.Rules.RequireProtection {
			days = 30
		}
		*field = &days
	}
}

func setString(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

func setInt(field *int, value int) {
	if *field == 0 {
		*field = value
	}
}

func (c *ObservabilityConfig) validate(p *problems, env Env) {
	const k = "observability."
	validateNamespace(p, k+"namespace", c.Namespace)

	pr := c.Prometheus
	validateChartVersion(p, k+"prometheus.chartVersion", pr.ChartVersion)
	if d, err := ParseDuration(pr.Retention); err != nil || d < 2*time.Hour {
		p.add(k+"prometheus.retention", pr.Retention, "a Prometheus duration of at least 2h, like 15d or 720h (units y, w, d, h, m, s, ms, largest first)")
	}
	intRange(p, k+"prometheus.storageGiB", pr.StorageGiB, 10, 16384, "GiB of gp3")
	intRange(p, k+"prometheus.replicas", pr.Replicas, 1, 5, "replicas")
	if env.Rules.RequireHA && pr.Replicas < 2 {
		p.add(k+"prometheus.replicas", pr.Replicas, "at least 2 for stack %q (metrics and alert evaluation survive one node)", env.Stack)
	}
	pr.Resources.validate(p, k+"prometheus.resources")

	am := c.Alertmanager
	intRange(p, k+"alertmanager.replicas", am.Replicas, 1, 5, "replicas")
	if env.Rules.RequireHA && am.Replicas < 2 {
		p.add(k+"alertmanager.replicas", am.Replicas, "at least 2 for stack %q (a clustered Alertmanager deduplicates; one replica is a single point of failure)", env.Stack)
	}
	intRange(p, k+"alertmanager.storageGiB", am.StorageGiB, 1, 100, "GiB of gp3")
	switch am.Receiver {
	case ReceiverNone:
		if env.Rules.RequireHA {
			p.add(k+"alertmanager.receiver", am.Receiver, "%q for stack %q: its alerts must reach on-call", ReceiverSNS, env.Stack)
		}
	case ReceiverSNS:
	default:
		p.add(k+"alertmanager.receiver", am.Receiver, "%q or %q", ReceiverNone, ReceiverSNS)
	}

	g := c.Grafana
	intRange(p, k+"grafana.storageGiB", g.StorageGiB, 1, 100, "GiB of gp3")
	validateRecoveryWindow(p, k+"grafana.adminSecretRecoveryWindowDays", *g.AdminSecretRecoveryWindowDays, env)

	l := c.Loki
	validateChartVersion(p, k+"loki.chartVersion", l.ChartVersion)
	if l.DeploymentMode != LokiMonolithic {
		p.add(k+"loki.deploymentMode", l.DeploymentMode, "%q (SingleBinary was renamed Monolithic; SimpleScalable is deprecated and removed in Loki 4)", LokiMonolithic)
	}
	switch {
	case env.Rules.RequireHA && l.Replicas < 3:
		p.add(k+"loki.replicas", l.Replicas, "3-10 for stack %q (one replica loses ingestion while it restarts; three replicate every write)", env.Stack)
	case l.Replicas != 1 && (l.Replicas < 3 || l.Replicas > 10):
		p.add(k+"loki.replicas", l.Replicas, "1, or 3-10 (two replicas cannot hold a write quorum of three)")
	}
	d, err := ParseDuration(l.Retention)
	switch {
	case err != nil:
		p.add(k+"loki.retention", l.Retention, "a duration in whole days, like 7d or 720h")
	case d%(24*time.Hour) != 0 || d < 24*time.Hour || d > 3650*24*time.Hour:
		p.add(k+"loki.retention", l.Retention, "whole days from 1d to 3650d: Loki deletes by daily index table, S3 expires by day")
	}
	intRange(p, k+"loki.storageGiB", l.StorageGiB, 1, 1000, "GiB of gp3")
	if mb := *l.ChunksCacheMemoryMB; mb != 0 && (mb < 256 || mb > 65536) {
		p.add(k+"loki.chunksCacheMemoryMB", mb, "0 (no chunks cache) or 256-65536 MB")
	}
	if l.ForceDestroy && env.Rules.RequirePulumiProtect {
		p.add(k+"loki.forceDestroy", l.ForceDestroy, "false for stack %q: its logs must survive a destroy", env.Stack)
	}
	l.Resources.validate(p, k+"loki.resources")
	validateRecoveryWindow(p, k+"loki.credentialRecoveryWindowDays", *l.CredentialRecoveryWindowDays, env)

	validateChartVersion(p, k+"alloy.chartVersion", c.Alloy.ChartVersion)
}

func (r ResourcesConfig) validate(p *problems, key string) {
	for _, q := range []struct {
		key, value string
	}{
		{key + ".requests.cpu", r.Requests.CPU},
		{key + ".requests.memory", r.Requests.Memory},
		{key + ".limits.cpu", r.Limits.CPU},
		{key + ".limits.memory", r.Limits.Memory},
	} {
		if v, ok := parseQuantity(q.value); !ok || v <= 0 {
			p.add(q.key, q.value, "a positive Kubernetes quantity like 500m, 2, 512Mi or 4Gi")
		}
	}
	req, okReq := parseQuantity(r.Requests.CPU)
	lim, okLim := parseQuantity(r.Limits.CPU)
	if okReq && okLim && req > lim {
		p.add(key+".limits.cpu", r.Limits.CPU, "at least the request (%s)", r.Requests.CPU)
	}
	req, okReq = parseQuantity(r.Requests.Memory)
	lim, okLim = parseQuantity(r.Limits.Memory)
	if okReq && okLim && req > lim {
		p.add(key+".limits.memory", r.Limits.Memory, "at least the request (%s)", r.Requests.Memory)
	}
}

// k8sName is a Kubernetes namespace (DNS-1123 label) name.
var k8sName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func validateNamespace(p *problems, key, ns string) {
	if len(ns) > 63 || !k8sName.MatchString(ns) {
		p.add(key, ns, "a Kubernetes namespace name (lowercase letters, digits and -, at most 63)")
		return
	}
	switch ns {
	case "default", "kube-system", "kube-public", "kube-node-lease":
		p.add(key, ns, "a namespace of CineGit's own, not the system namespace %q", ns)
	}
}

func validateChartVersion(p *problems, key, v string) {
	if !chartVersion.MatchString(v) {
		p.add(key, v, "an exact chart version like 1.2.3 (never a range: upgrades are reviewed)")
	}
}

func intRange(p *problems, key string, v, lo, hi int, what string) {
	if v < lo || v > hi {
		p.add(key, v, "%d to %d %s", lo, hi, what)
	}
}

func validateRecoveryWindow(p *problems, key string, days int, env Env) {
	switch {
	case days != 0 && (days < 7 || days > 30):
		p.add(key, days, "0 (delete at once) or 7 to 30 days")
	case env.Rules.RequireSecretRecovery && days < 7:
		p.add(key, days, "7 to 30 days for stack %q (a deleted credential must be restorable)", env.Stack)
	}
}
