// Package services gives each of CineGit's services its own AWS identity: one IAM role per
// service, assumable only by that service's Kubernetes service account, whose inline policy
// allows exactly the permissions the service is configured with; the service account itself,
// annotated with the role; and the ExternalSecrets that write the secrets the service reads
// into its namespace as Kubernetes Secrets named <service>-<secret>.
//
// Identity: IRSA, not EKS Pod Identity. The cluster already has its IAM OIDC provider and every
// in-cluster component (External Secrets, the EBS CSI driver, the media Jobs) already assumes
// its role through it (pkg/irsa); Pod Identity would add the eks-pod-identity-agent add-on (a
// DaemonSet on every node, which the capacity test would have to budget) and
// aws.eks.PodIdentityAssociation resources, for no gain in scope: an IRSA trust policy pins
// the role to exactly one namespace and service account with StringEquals on the token's sub
// and aud ("IAM roles for service accounts", EKS User Guide;
// https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html).
//
// Database: services connect to PostgreSQL with IAM database authentication as their own
// database user, never with the master password: the role may rds-db:connect as exactly that
// user of exactly this instance ("Creating and using an IAM policy for IAM database access",
// RDS User Guide; https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html).
package services

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/irsa"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/services/grant"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// ServiceTag on a role names the service it belongs to; the policy pack checks such roles.
const ServiceTag = "cinegit:service"

// Permission is one thing a service may do. Bucket is set for ReadBucket and WriteBucket,
// DBUser for ConnectDatabase, Secret for ReadSecret; nothing else takes a target.
type Permission struct {
	Action string
	Bucket string
	DBUser string
	Secret string
}

// Service is one of CineGit's services.
type Service struct {
	// Name is the service's name: it names the role and its secrets.
	Name string
	// Namespace and ServiceAccount are the one identity that may assume the role.
	Namespace      string
	ServiceAccount string
	Permissions    []Permission
}

// Bucket is a bucket's ARN and the key its objects are encrypted with.
type Bucket struct {
	Arn       pulumi.StringInput
	KmsKeyArn pulumi.StringInput
}

// Args configure the services.
type Args struct {
	Env                stackenv.Env
	KubernetesProvider *kubernetes.Provider
	// OidcProviderArn and OidcIssuer are the cluster's, for the IRSA roles.
	OidcProviderArn pulumi.StringInput
	OidcIssuer      pulumi.StringInput

	Services []Service

	// ApplicationNamespace is the application namespace's name output: service accounts and
	// secrets there wait for it. Other namespaces must already exist.
	ApplicationNamespace pulumi.StringInput
	// ApplicationNamespaceName is its plain name, to recognise services that live there.
	ApplicationNamespaceName string
	// Store is the ClusterSecretStore's name output (ExternalSecrets wait for the store and
	// so for the operator's CRDs); RefreshInterval is how often secrets are re-read.
	Store           pulumi.StringInput
	RefreshInterval string
	// Secrets are the Secrets Manager secrets a ReadSecret may name, by name.
	Secrets map[string]pulumi.StringInput

	// Buckets by name (media, proxies, thumbnails).
	Buckets map[string]Bucket
	// UploadsPrefix is the media bucket's key prefix that presigned uploads write to.
	UploadsPrefix string
	// DatabaseResourceID is the instance's DbiResourceId, the resource of rds-db:connect.
	DatabaseResourceID pulumi.StringInput
	// QueueArn and QueueKmsKeyArn are the media processing queue's.
	QueueArn       pulumi.StringInput
	QueueKmsKeyArn pulumi.StringInput
}

// Services is the component.
type Services struct {
	pulumi.ResourceState

	// RoleArns are the services' role ARNs by service name.
	RoleArns pulumi.StringMapOutput `pulumi:"roleArns"`
}

var (
	name     = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	pgIdent  = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	anyAtAll = regexp.MustCompile(`[*?]`)
)

func (a Args) check() error {
	switch {
	case a.KubernetesProvider == nil:
		return fmt.Errorf("KubernetesProvider is required")
	case a.OidcProviderArn == nil || a.OidcIssuer == nil:
		return fmt.Errorf("OidcProviderArn and OidcIssuer are required")
	case a.Store == nil || a.ApplicationNamespace == nil || a.RefreshInterval == "":
		return fmt.Errorf("the store, the application namespace and a refresh interval are required")
	case anyAtAll.MatchString(a.UploadsPrefix):
		return fmt.Errorf("UploadsPrefix %q has a wildcard", a.UploadsPrefix)
	}
	seen, users := map[string]bool{}, map[string]string{}
	for _, s := range a.Services {
		if !name.MatchString(s.Name) || len(s.Name) > 40 {
			return fmt.Errorf("service %q: not a lowercase DNS label of at most 40 characters", s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("service %q twice", s.Name)
		}
		seen[s.Name] = true
		aws, perms := 0, map[Permission]bool{}
		for _, p := range s.Permissions {
			if perms[p] {
				return fmt.Errorf("service %q: permission %+v twice", s.Name, p)
			}
			perms[p] = true
			if err := a.checkPermission(p); err != nil {
				return fmt.Errorf("service %q: %w", s.Name, err)
			}
			if p.Action == grant.ConnectDatabase {
				if other, ok := users[p.DBUser]; ok {
					return fmt.Errorf("service %q: database user %q is already %q's", s.Name, p.DBUser, other)
				}
				users[p.DBUser] = s.Name
			}
			if p.Action != grant.ReadSecret {
				aws++
			}
		}
		if aws == 0 {
			return fmt.Errorf("service %q: at least one AWS permission (a role with no permission is not made)", s.Name)
		}
	}
	return nil
}

func (a Args) checkPermission(p Permission) error {
	switch p.Action {
	case grant.ReadBucket, grant.WriteBucket:
		if _, ok := a.Buckets[p.Bucket]; !ok || p.DBUser != "" || p.Secret != "" {
			return fmt.Errorf("%s: bucket %q is not one of media, proxies, thumbnails, or another target is set", p.Action, p.Bucket)
		}
	case grant.ConnectDatabase:
		if !pgIdent.MatchString(p.DBUser) || p.Bucket != "" || p.Secret != "" || a.DatabaseResourceID == nil {
			return fmt.Errorf("%s: database user %q is not a PostgreSQL identifier, or another target is set", p.Action, p.DBUser)
		}
	case grant.ReadSecret:
		if _, ok := a.Secrets[p.Secret]; !ok || p.Bucket != "" || p.DBUser != "" {
			return fmt.Errorf("%s: secret %q is not a known secret, or another target is set", p.Action, p.Secret)
		}
	case grant.PresignUpload, grant.ReadProxies, grant.ReadThumbnails, grant.SendMediaQueue:
		if p.Bucket != "" || p.DBUser != "" || p.Secret != "" {
			return fmt.Errorf("%s takes no target", p.Action)
		}
		needs := map[string]string{grant.PresignUpload: grant.MediaBucket, grant.ReadProxies: grant.ProxiesBucket, grant.ReadThumbnails: grant.ThumbnailsBucket}[p.Action]
		if _, ok := a.Buckets[needs]; needs != "" && !ok {
			return fmt.Errorf("%s: the %s bucket is not given", p.Action, needs)
		}
		if p.Action == grant.SendMediaQueue && (a.QueueArn == nil || a.QueueKmsKeyArn == nil) {
			return fmt.Errorf("%s: the queue is not given", p.Action)
		}
	default:
		return fmt.Errorf("unknown action %q (known: %v)", p.Action, grant.Actions)
	}
	return nil
}

// New creates the component.
func New(ctx *pulumi.Context, compName string, args Args, opts ...pulumi.ResourceOption) (*Services, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("services %s: %w", compName, err)
	}
	c := &Services{}
	if err := ctx.RegisterComponentResource("cinegit:services:Services", compName, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	k8s := []pulumi.ResourceOption{parent, pulumi.Provider(args.KubernetesProvider)}

	arns := pulumi.StringMap{}
	for _, s := range args.Services {
		prefix := compName + "-" + s.Name
		role, err := irsa.NewRole(ctx, prefix, irsa.Args{
			Env:             args.Env,
			OidcProviderArn: args.OidcProviderArn,
			OidcIssuer:      args.OidcIssuer,
			Namespace:       s.Namespace,
			ServiceAccount:  s.ServiceAccount,
			Policy:          Policy(args, s),
			Description:     "CineGit " + s.Name + " service",
			Tags:            map[string]string{ServiceTag: s.Name},
		}, parent)
		if err != nil {
			return nil, err
		}
		arns[s.Name] = role.Arn

		// The namespace output orders objects in the application namespace after it.
		ns := pulumi.StringInput(pulumi.String(s.Namespace))
		if s.Namespace == args.ApplicationNamespaceName {
			ns = args.ApplicationNamespace
		}
		// The service account is the program's, not the GitOps repository's: the role ARN is
		// only known here, and an account defined in both places would be fought over by
		// Argo CD and Pulumi. The services' manifests reference it by name
		// (serviceAccount.create: false) and never define it.
		if _, err := corev1.NewServiceAccount(ctx, prefix, &corev1.ServiceAccountArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name:      pulumi.String(s.ServiceAccount),
				Namespace: ns,
				Labels: pulumi.StringMap{
					"app.kubernetes.io/name":       pulumi.String(s.Name),
					"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
				},
				Annotations: pulumi.StringMap{"eks.amazonaws.com/role-arn": role.Arn},
			},
		}, k8s...); err != nil {
			return nil, err
		}
		for _, sec := range secretsOf(s) {
			if _, err := kube.NewExternalSecret(ctx, prefix+"-"+sec, kube.ExternalSecretArgs{
				Name:            SecretName(s.Name, sec),
				Namespace:       ns,
				Store:           args.Store,
				SecretArn:       args.Secrets[sec],
				RefreshInterval: args.RefreshInterval,
				Labels:          map[string]string{"app.kubernetes.io/name": s.Name},
			}, k8s...); err != nil {
				return nil, err
			}
		}
	}
	c.RoleArns = arns.ToStringMapOutput()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"roleArns": c.RoleArns})
}

// SecretName is the Kubernetes Secret a service's secret is written to: "<service>-<secret>".
func SecretName(service, secret string) string { return service + "-" + secret }

// secretsOf lists the secrets a service reads, sorted and once each.
func secretsOf(s Service) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range s.Permissions {
		if p.Action == grant.ReadSecret && !seen[p.Secret] {
			seen[p.Secret] = true
			out = append(out, p.Secret)
		}
	}
	sort.Strings(out)
	return out
}

// Object-level S3 actions. Reading lists the bucket too, so that a missing key answers 404
// rather than 403. Writing includes multipart uploads (large camera files).
var (
	readObjects   = []string{"s3:GetObject"}
	listBucket    = []string{"s3:ListBucket"}
	writeObjects  = []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}
	decrypt       = []string{"kms:Decrypt"}
	encrypt       = []string{"kms:Decrypt", "kms:GenerateDataKey"}
	connectAction = []string{"rds-db:connect"}
	sendMessage   = []string{"sqs:SendMessage"}
)

// Policy is a service's inline policy: one statement per permission, nothing else.
//
// KMS: SSE-KMS objects are read with kms:Decrypt and written with kms:GenerateDataKey (and
// kms:Decrypt for multipart uploads), only through S3 ("Protecting data with server-side
// encryption using AWS KMS keys", S3 User Guide); SQS with SSE-KMS needs the same two on the
// queue's key for a producer ("Key management", SQS Developer Guide), only through SQS.
func Policy(a Args, s Service) pulumi.StringOutput {
	env := a.Env
	via := func(service string) iampolicy.Condition {
		return iampolicy.Condition{Test: "StringEquals", Variable: "kms:ViaService",
			Values: iampolicy.Strings(fmt.Sprintf("%s.%s.amazonaws.com", service, env.Region))}
	}
	var stmts []iampolicy.Statement
	add := func(sid string, actions []string, resources pulumi.StringArray, conds ...iampolicy.Condition) {
		stmts = append(stmts, iampolicy.Statement{Sid: sid, Effect: "Allow", Actions: actions, Resources: resources, Conditions: conds})
	}
	read := func(sid, bucket string) {
		b := a.Buckets[bucket]
		add(sid+"Objects", readObjects, pulumi.StringArray{pulumi.Sprintf("%s/*", b.Arn)})
		add(sid+"List", listBucket, pulumi.StringArray{b.Arn})
		add(sid+"Decrypt", decrypt, pulumi.StringArray{b.KmsKeyArn}, via("s3"))
	}
	write := func(sid, bucket, prefix string) {
		b := a.Buckets[bucket]
		add(sid+"Objects", writeObjects, pulumi.StringArray{pulumi.Sprintf("%s/%s*", b.Arn, prefix)})
		add(sid+"Encrypt", encrypt, pulumi.StringArray{b.KmsKeyArn}, via("s3"))
	}
	for _, p := range s.Permissions {
		switch p.Action {
		case grant.ReadBucket:
			read("Read"+title(p.Bucket), p.Bucket)
		case grant.ReadProxies:
			read("ReadProxies", grant.ProxiesBucket)
		case grant.ReadThumbnails:
			read("ReadThumbnails", grant.ThumbnailsBucket)
		case grant.WriteBucket:
			write("Write"+title(p.Bucket), p.Bucket, "")
		case grant.PresignUpload:
			write("PresignUpload", grant.MediaBucket, a.UploadsPrefix)
		case grant.ConnectDatabase:
			// arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user> (RDS User Guide,
			// IAM database access policy): one user of one instance, never "*".
			add("ConnectAs"+title(p.DBUser), connectAction, pulumi.StringArray{
				pulumi.Sprintf("arn:%s:rds-db:%s:%s:dbuser:%s/%s", env.Partition, env.Region, env.AccountID, a.DatabaseResourceID, p.DBUser),
			})
		case grant.SendMediaQueue:
			add("SendMediaQueue", sendMessage, pulumi.StringArray{a.QueueArn})
			add("SendMediaQueueEncrypt", encrypt, pulumi.StringArray{a.QueueKmsKeyArn}, via("sqs"))
		}
	}
	return iampolicy.Document(stmts...)
}

// title makes a Sid part of a name ("project_rw" -> "ProjectRw"); Sids are alphanumeric.
func title(s string) string {
	out := make([]byte, 0, len(s))
	up := true
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '_' || ch == '-':
			up = true
			continue
		case up && ch >= 'a' && ch <= 'z':
			ch -= 'a' - 'A'
		}
		up = false
		out = append(out, ch)
	}
	return string(out)
}
