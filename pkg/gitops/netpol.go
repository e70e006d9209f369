package gitops

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"

	"github.com/cinegit/infrastructure/pkg/kube"
)

// Argo CD's pods, as argo-cd 10.1.1 labels them (each Deployment's and StatefulSet's pod
// template; the Services select the same labels), and its Redis HA subchart's (redis-ha
// 4.38.0: app and release).
var (
	controllerPods     = argoPods("argocd-application-controller")
	serverPods         = argoPods("argocd-server")
	repoServerPods     = argoPods("argocd-repo-server")
	appSetPods         = argoPods("argocd-applicationset-controller")
	notificationsPods  = argoPods("argocd-notifications-controller")
	redisPods          = argoPods("argocd-redis")
	redisSecretInitJob = argoPods("argocd-redis-secret-init")
	redisHAPods        = map[string]string{"app": "redis-ha", "release": Release}
	haproxyPods        = map[string]string{"app": "redis-ha-haproxy", "release": Release}
)

func argoPods(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": Release}
}

// Argo CD's ports: the repo server's gRPC (repoServer.containerPorts.server), Redis and
// Redis Sentinel.
const (
	RepoServerPort = 8081
	RedisPort      = 6379
	SentinelPort   = 26379
)

// scpLike is Git's user@host:path form (an SSH URL without a scheme).
var scpLike = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:`)

// GitPort is the port the repo server reaches the GitOps repository on: an https URL's (443
// unless it names one), an ssh URL's (22 unless it names one).
func GitPort(repoURL string) (int, error) {
	if scpLike.MatchString(repoURL) {
		return 22, nil
	}
	u, err := url.Parse(repoURL)
	if err != nil {
		return 0, fmt.Errorf("RepoURL %q: %w", repoURL, err)
	}
	def := map[string]int{"https": kube.HTTPS, "ssh": 22}[u.Scheme]
	if def == 0 {
		return 0, fmt.Errorf("RepoURL %q: https or ssh only", repoURL)
	}
	if p := u.Port(); p != "" {
		return strconv.Atoi(p)
	}
	return def, nil
}

// argoPolicies close Argo CD's namespace. The controllers and the server watch and change the
// cluster through the Kubernetes API; they, the ApplicationSet and notifications controllers
// ask the repo server for manifests; the server, controller and repo server share Redis (the
// chart's own policies' client lists, templates/*/networkpolicy.yaml); the repo server alone
// leaves the VPC, to the GitOps repository (and Helm repositories, over HTTPS); the server too
// when it signs users in with an OIDC provider. Nothing comes in but those calls: the UI is
// reached with kubectl port-forward, which enters the pod's own network namespace and meets no
// policy, and nothing scrapes Argo CD (its chart's ServiceMonitors are off).
func argoPolicies(args Args, gitPort int) []kube.NetworkPolicy {
	n := args.Network
	repo := kube.Rule{Peers: []kube.Peer{kube.PodsPeer(repoServerPods)}, Ports: kube.TCP(RepoServerPort)}
	redisServer := redisPods
	if args.HA {
		redisServer = haproxyPods // the clients' Redis is HAProxy in front of the Redis HA servers
	}
	redis := kube.Rule{Peers: []kube.Peer{kube.PodsPeer(redisServer)}, Ports: kube.TCP(RedisPort)}
	redisClients := kube.Rule{
		Peers: []kube.Peer{kube.PodsPeer(serverPods), kube.PodsPeer(controllerPods), kube.PodsPeer(repoServerPods)},
		Ports: kube.TCP(RedisPort),
	}
	server := []kube.Rule{n.KubeAPI(), repo, redis}
	if args.SSO != nil {
		server = append(server, n.HTTPSOut())
	}
	gitPorts := []int{kube.HTTPS}
	if gitPort != kube.HTTPS {
		gitPorts = append(gitPorts, gitPort)
	}
	out := []kube.NetworkPolicy{
		{Name: "application-controller", Pods: controllerPods, Egress: []kube.Rule{n.KubeAPI(), repo, redis}},
		{Name: "server", Pods: serverPods, Egress: server},
		{Name: "repo-server", Pods: repoServerPods,
			Ingress: []kube.Rule{{
				Peers: []kube.Peer{kube.PodsPeer(serverPods), kube.PodsPeer(controllerPods), kube.PodsPeer(appSetPods), kube.PodsPeer(notificationsPods)},
				Ports: kube.TCP(RepoServerPort),
			}},
			Egress: []kube.Rule{redis, n.Outside(gitPorts...)},
		},
		{Name: "applicationset-controller", Pods: appSetPods, Egress: []kube.Rule{n.KubeAPI(), repo}},
		{Name: "notifications-controller", Pods: notificationsPods, Egress: []kube.Rule{n.KubeAPI(), repo}},
		// The pre-install hook that writes Redis's password into a Secret.
		{Name: "redis-secret-init", Pods: redisSecretInitJob, Egress: []kube.Rule{n.KubeAPI()}},
	}
	if !args.HA {
		return append(out, kube.NetworkPolicy{Name: "redis", Pods: redisPods, Ingress: []kube.Rule{redisClients}})
	}
	// Redis HA: HAProxy sends the clients to the master; the servers replicate and their
	// Sentinels elect the master among themselves (through each server's announce Service).
	ha := kube.Rule{Peers: []kube.Peer{kube.PodsPeer(redisHAPods)}, Ports: kube.TCP(RedisPort, SentinelPort)}
	return append(out,
		kube.NetworkPolicy{Name: "redis-ha-haproxy", Pods: haproxyPods, Ingress: []kube.Rule{redisClients}, Egress: []kube.Rule{ha}},
		kube.NetworkPolicy{Name: "redis-ha", Pods: redisHAPods,
			Ingress: []kube.Rule{{Peers: []kube.Peer{kube.PodsPeer(haproxyPods), kube.PodsPeer(redisHAPods)}, Ports: kube.TCP(RedisPort, SentinelPort)}},
			Egress:  []kube.Rule{ha},
		},
	)
}
