package cinegit

import rego.v1

# Helm releases
# =============
#
# The cluster's add-ons (Karpenter, kube-prometheus-stack, Loki, Alloy, External Secrets,
# Argo CD) are Helm releases. Their inputs say which chart, from where, at which version and
# with which values; these policies hold every release to what pkg/kube promises: an exact
# chart version from an encrypted repository, no service reachable from outside the cluster,
# and no credential in the values (values are stored in Pulumi state and in the release's
# Secret in the cluster; credentials come from Secrets Manager through ExternalSecrets).
#
# Values are walked to any depth. In a preview a value may be unknown (a role ARN being
# created): unknown values are never reported.

# helm_types are the resource types that install a Helm chart.
helm_types := {"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"}

# exact_chart_version is a semantic version with no range, wildcard or "latest".
exact_chart_version := `^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`

# pinned_chart_version holds for an exact version, or one not known yet.
pinned_chart_version(v) if {
	is_set(v)
	not known_string(v)
}

pinned_chart_version(v) if {
	known_string(v)
	regex.match(exact_chart_version, v)
}

# METADATA
# title: Helm releases pin an exact chart version
# description: >-
#   Every Helm release names an exact chart version (major.minor.patch): without one Helm
#   installs whatever is newest when the deployment runs, so two runs of the same commit can
#   deploy different software. Upgrades are changes to the stack configuration, reviewed like
#   any other.
deny_helm_release_unpinned contains msg if {
	input.__type in helm_types
	version := object.get(input, "version", "")
	not pinned_chart_version(version)
	not excepted(input, "deny_helm_release_unpinned")
	msg := sprintf("%s: chart %v has version %q: pin an exact chart version, never a range or the latest", [describe(input), object.get(input, "chart", ""), version])
}

# secure_chart_source holds for an https or OCI (TLS) chart location.
secure_chart_source(s) if startswith(s, "https://")

secure_chart_source(s) if startswith(s, "oci://")

# insecure_chart_sources lists r's repository and chart URLs that are not encrypted.
insecure_chart_sources(r) := {s |
	some s in [object.get(object.get(r, "repositoryOpts", {}), "repo", ""), object.get(r, "chart", "")]
	known_string(s)
	contains(s, "://")
	not secure_chart_source(s)
}

# METADATA
# title: Helm charts come from an https repository
# description: >-
#   A Helm release's repository (and a chart given as a URL) is https or OCI: a chart fetched
#   over plain HTTP can be replaced in transit, and it runs with the release's permissions.
deny_helm_release_insecure_repository contains msg if {
	input.__type in helm_types
	sources := insecure_chart_sources(input)
	count(sources) > 0
	not excepted(input, "deny_helm_release_insecure_repository")
	msg := sprintf("%s: chart fetched over an unencrypted connection from %s", [describe(input), concat(", ", sort(sources))])
}

# value_path renders a path of walk() as a/b/0/c.
value_path(path) := concat("/", [sprintf("%v", [p]) | some p in path])

# exposed_service_paths lists the values that make a service reachable from outside the
# cluster: a service type of LoadBalancer or NodePort, under any key path.
exposed_service_paths(values) := {sprintf("%s=%s", [value_path(path), value]) |
	walk(values, [path, value])
	count(path) > 0
	path[count(path) - 1] in {"type", "serviceType"}
	value in {"LoadBalancer", "NodePort"}
}

# METADATA
# title: Helm releases expose no LoadBalancer or NodePort service
# description: >-
#   No Helm release's values set a service type of LoadBalancer or NodePort: in-cluster tools
#   (Grafana, Prometheus, Argo CD, Loki) are ClusterIP services, reached through kubectl
#   port-forward or an ingress reviewed on its own, never through a load balancer or node port
#   that a chart opens as a side effect.
deny_helm_release_exposed_service contains msg if {
	input.__type in helm_types
	paths := exposed_service_paths(object.get(input, "values", {}))
	count(paths) > 0
	not excepted(input, "deny_helm_release_exposed_service")
	msg := sprintf("%s: values expose a service outside the cluster (%s); use ClusterIP", [describe(input), concat(", ", sort(paths))])
}

# credential_key matches value keys that hold a credential.
credential_key := `(?i)(password|passwd|secret|token|apikey|api_key|accesskey|access_key|privatekey|private_key|credential)`

# credential_reference_key matches keys that only name where a credential is kept: an existing
# Secret, a key within it, a reference or a file.
credential_reference_key := `(?i)(^existing|secretname$|secretref$|keyref$|_file$|file$|^(password|user|username|token)key$)`

# aws_access_key_id matches an AWS access key id anywhere in a value.
aws_access_key_id := `(^|[^A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}([^A-Z0-9]|$)`

# literal_credential_paths lists the values that are credentials written out: a literal under a
# credential key (not a reference such as Argo CD's $secret:key), or an AWS access key id.
literal_credential_paths(values) := {value_path(path) |
	walk(values, [path, value])
	count(path) > 0
	key := path[count(path) - 1]
	is_string(key)
	regex.match(credential_key, key)
	not regex.match(credential_reference_key, key)
	known_string(value)
	not startswith(value, "$")
} | {value_path(path) |
	walk(values, [path, value])
	known_string(value)
	regex.match(aws_access_key_id, value)
}

# METADATA
# title: Helm values hold no literal credentials
# description: >-
#   No Helm release's values hold a password, token, secret or key written out (or an AWS
#   access key id anywhere): values are kept in Pulumi state and in the release's Secret in
#   the cluster. Point the chart at a Kubernetes Secret (existingSecret and the like) that the
#   External Secrets Operator fills from Secrets Manager, or use an IRSA role instead of keys.
deny_helm_release_literal_credential contains msg if {
	input.__type in helm_types
	paths := literal_credential_paths(object.get(input, "values", {}))
	count(paths) > 0
	not excepted(input, "deny_helm_release_literal_credential")
	msg := sprintf("%s: values hold literal credentials at %s; reference a Secret synced from Secrets Manager", [describe(input), concat(", ", sort(paths))])
}
