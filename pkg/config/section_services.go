package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cinegit/infrastructure/pkg/services/grant"
)

// ServicesConfig is the `services` section: CineGit's services, each with its own AWS identity
// (an IRSA role trusted by exactly its service account) and exactly the permissions listed.
type ServicesConfig []ServiceConfig

// ServiceConfig is one service.
type ServiceConfig struct {
	// Name is the service's name (a lowercase DNS label, at most 40 characters): it names its
	// role, its service account by default and its Secrets (<name>-<secret>).
	Name string `json:"name"`
	// Namespace is where the service runs: gitops.applicationNamespace (the default) or one of
	// gitops.destinationNamespaces.
	Namespace string `json:"namespace"`
	// ServiceAccount is the Kubernetes service account the program creates for the service,
	// annotated with its role; the only identity its role trusts. Default: the name.
	ServiceAccount string `json:"serviceAccount"`
	// Permissions are what the service may do, each an action of readBucket, writeBucket (with
	// bucket: media, proxies or thumbnails), presignUpload (to the media bucket's originals
	// prefix), readProxies, readThumbnails, connectDatabase (with dbUser, the PostgreSQL user it
	// logs in as through IAM database authentication), readSecret (with secret: redis or
	// cdn-signing-key), sendMediaQueue.
	Permissions []ServicePermission `json:"permissions"`
}

// ServicePermission is one permission of a service: an action and its target.
type ServicePermission struct {
	// Action is one of the known actions (see ServiceConfig.Permissions).
	Action string `json:"action"`
	// Bucket is the bucket of readBucket and writeBucket: media, proxies or thumbnails.
	Bucket string `json:"bucket,omitempty"`
	// DBUser is connectDatabase's PostgreSQL user: lowercase letters, digits and underscores,
	// at most 63, not a reserved or master name.
	DBUser string `json:"dbUser,omitempty"`
	// Secret is readSecret's secret: redis (the cache's AUTH token) or cdn-signing-key.
	Secret string `json:"secret,omitempty"`
}

// ServiceSecrets are the secrets a readSecret may name. The database's master secret is not
// one: services connect to PostgreSQL as their own IAM-authenticated users.
var ServiceSecrets = []string{"cdn-signing-key", "redis"}

var (
	serviceName = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	// pgUser is an unquoted PostgreSQL identifier in lower case (PostgreSQL, "Identifiers and
	// Key Words": NAMEDATALEN-1 = 63 bytes).
	pgUser = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
)

func (c *ServicesConfig) applyDefaults(Env) {}

func (c *ServicesConfig) validate(*problems, Env) {}

// resolveServices defaults the services' namespaces and service accounts and validates the
// section; it runs after the gitops section, whose namespaces it needs.
func (c *Config) resolveServices(p *problems) {
	allowedNs := append([]string{c.GitOps.ApplicationNamespace}, c.GitOps.DestinationNamespaces...)
	names, identities, users := map[string]bool{}, map[string]string{}, map[string]string{}
	for i := range c.Services {
		s := &c.Services[i]
		k := fmt.Sprintf("services[%d].", i)
		setString(&s.Namespace, c.GitOps.ApplicationNamespace)
		setString(&s.ServiceAccount, s.Name)
		if len(s.Name) > 40 || !serviceName.MatchString(s.Name) {
			p.add(k+"name", s.Name, "a lowercase DNS label of at most 40 characters, e.g. project")
		} else if names[s.Name] {
			p.add(k+"name", s.Name, "a name no other service has")
		}
		names[s.Name] = true
		if !contains(allowedNs, s.Namespace) {
			p.add(k+"namespace", s.Namespace, "gitops.applicationNamespace or one of gitops.destinationNamespaces (%s)", strings.Join(allowedNs, ", "))
		}
		if len(s.ServiceAccount) > 253 || !serviceName.MatchString(s.ServiceAccount) {
			p.add(k+"serviceAccount", s.ServiceAccount, "a Kubernetes service account name (lowercase letters, digits and -)")
		}
		id := s.Namespace + "/" + s.ServiceAccount
		if other, ok := identities[id]; ok {
			p.add(k+"serviceAccount", s.ServiceAccount, "a service account no other service uses (%s is %s's)", id, other)
		}
		identities[id] = s.Name
		c.validatePermissions(p, k, s, users)
	}
}

func (c *Config) validatePermissions(p *problems, k string, s *ServiceConfig, users map[string]string) {
	if len(s.Permissions) == 0 {
		p.add(k+"permissions", s.Permissions, "at least one permission")
	}
	seen := map[ServicePermission]bool{}
	aws := false
	for j, perm := range s.Permissions {
		pk := fmt.Sprintf("%spermissions[%d].", k, j)
		if seen[perm] {
			p.add(pk+"action", perm.Action, "a permission listed once")
		}
		seen[perm] = true
		targets := map[string]bool{"bucket": perm.Bucket != "", "dbUser": perm.DBUser != "", "secret": perm.Secret != ""}
		want := ""
		switch perm.Action {
		case grant.ReadBucket, grant.WriteBucket:
			want = "bucket"
			if !contains([]string{grant.MediaBucket, grant.ProxiesBucket, grant.ThumbnailsBucket}, perm.Bucket) {
				p.add(pk+"bucket", perm.Bucket, "one of media, proxies, thumbnails")
			}
		case grant.ConnectDatabase:
			want = "dbUser"
			c.validateDBUser(p, pk+"dbUser", perm.DBUser, s.Name, users)
		case grant.ReadSecret:
			want = "secret"
			if !contains(ServiceSecrets, perm.Secret) {
				p.add(pk+"secret", perm.Secret, "one of %s", strings.Join(ServiceSecrets, ", "))
			}
		case grant.PresignUpload, grant.ReadProxies, grant.ReadThumbnails, grant.SendMediaQueue:
		default:
			p.add(pk+"action", perm.Action, "one of %s", strings.Join(grant.Actions, ", "))
			continue
		}
		if perm.Action != grant.ReadSecret {
			aws = true
		}
		for _, t := range []string{"bucket", "dbUser", "secret"} {
			if targets[t] && t != want {
				p.add(pk+t, map[string]string{"bucket": perm.Bucket, "dbUser": perm.DBUser, "secret": perm.Secret}[t], "not set for action %s", perm.Action)
			}
		}
	}
	if len(s.Permissions) > 0 && !aws {
		p.add(k+"permissions", s.Permissions, "at least one AWS permission besides readSecret (the role needs one)")
	}
}

// validateDBUser keeps database users to plain PostgreSQL identifiers that are nobody else's.
func (c *Config) validateDBUser(p *problems, key, user, service string, users map[string]string) {
	reserved := user == c.Database.MasterUsername || user == "postgres" || user == "public" ||
		strings.HasPrefix(user, "pg_") || strings.HasPrefix(user, "rds")
	switch {
	case !pgUser.MatchString(user):
		p.add(key, user, "a PostgreSQL identifier: lowercase letters, digits and _, starting with a letter or _, at most 63")
	case reserved:
		p.add(key, user, "not the master user (%s), postgres, public, or a pg_ or rds name", c.Database.MasterUsername)
	case users[user] != "":
		p.add(key, user, "a database user no other service has (it is %s's)", users[user])
	}
	if user != "" && users[user] == "" {
		users[user] = service
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
