// Package cache is CineGit's Redis: an ElastiCache replication group for sessions and diff
// previews in the private subnets, encrypted at rest with its own KMS key and in transit
// (required), guarded by an AUTH token generated at deploy time and handed to pods through
// Secrets Manager.
package cache

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/securitygroup"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Port is Redis's port, the only one the security group opens.
const Port = 6379

// AuthTokenLength is the AUTH token's length; ElastiCache accepts 16 to 128 characters.
const AuthTokenLength = 64

// AuthTokenSpecialCharacters are the non-alphanumeric characters the token may hold. AWS
// allows only ! & # $ ^ < > -; of those, ! and - also survive URLs (redis://:token@host),
// shells and JSON without escaping.
const AuthTokenSpecialCharacters = "!-"

// LogTypes are the Redis logs delivered to CloudWatch Logs.
var LogTypes = []string{"slow-log", "engine-log"}

// Args configure the cache.
type Args struct {
	Env stackenv.Env
	// VpcID is the VPC of the subnets.
	VpcID pulumi.StringInput
	// SubnetIDs are the private subnets, one per AZ (at least two AZs).
	SubnetIDs pulumi.StringArrayInput
	// AllowedSecurityGroupIDs may reach Redis, each through its own ingress rule created after
	// both groups exist (the replication group does not wait for them); nothing else can.
	// Empty opens nothing.
	AllowedSecurityGroupIDs pulumi.StringArray
	// Protect marks the replication group and its key with Pulumi's protect option.
	Protect bool

	// Engine is "valkey" or "redis"; EngineVersion its major.minor ("8.2", "7.1"). The
	// parameter group family is the engine and the major (valkey8, redis7).
	Engine        string
	EngineVersion string
	// ApplyImmediately applies modifications at once rather than in the maintenance window.
	ApplyImmediately bool
	// NodeType, e.g. cache.t4g.micro.
	NodeType string
	// NodeCount is the primary plus replicas; two or more turn on failover and multi-AZ.
	NodeCount int
	// SnapshotRetentionDays, SnapshotWindow (daily, UTC) and MaintenanceWindow (weekly, UTC).
	SnapshotRetentionDays int
	SnapshotWindow        string
	MaintenanceWindow     string
	// LogRetentionDays is the retention of the slow-log and engine-log groups.
	LogRetentionDays int
	// MaxmemoryPolicy is Redis's eviction policy.
	MaxmemoryPolicy string
	// AuthSecretRecoveryWindowDays is the AUTH secret's deletion window: 0 or 7-30.
	AuthSecretRecoveryWindowDays int
	// Restore creates the replication group from a snapshot. Nil: an empty group.
	Restore *Restore
}

// Restore is the snapshot a warm cache starts from. The group it makes is named
// <prefix>-cache-<Label>: the snapshot is an input ElastiCache takes only at creation, so the
// group is replaced, and a new identifier lets Pulumi create it while the current group still
// serves (create before delete), then move the AUTH secret's host to it and delete the old one.
type Restore struct {
	// Label suffixes the replication group's identifier.
	Label string
	// SnapshotName is the ElastiCache snapshot (CreateReplicationGroup's SnapshotName).
	SnapshotName string
}

// Cache is the Redis component.
type Cache struct {
	pulumi.ResourceState

	// PrimaryEndpoint takes writes; ReaderEndpoint spreads reads over the replicas.
	PrimaryEndpoint pulumi.StringOutput `pulumi:"primaryEndpoint"`
	ReaderEndpoint  pulumi.StringOutput `pulumi:"readerEndpoint"`
	Port            pulumi.IntOutput    `pulumi:"port"`
	// AuthSecretArn is the secret holding {host, readerHost, port, authToken, tls}.
	AuthSecretArn pulumi.StringOutput `pulumi:"authSecretArn"`
	// AuthSecretName is the secret's name, cinegit/<stack>/cache/auth.
	AuthSecretName pulumi.StringOutput `pulumi:"authSecretName"`
	// SecurityGroupID is the replication group's security group.
	SecurityGroupID pulumi.StringOutput `pulumi:"securityGroupId"`
	// KmsKeyArn encrypts the data at rest, the AUTH secret and the log groups; readers of the
	// secret need kms:Decrypt on it.
	KmsKeyArn pulumi.StringOutput `pulumi:"kmsKeyArn"`

	env stackenv.Env
}

// SecretName is the AUTH secret's name. Every CineGit application secret lives under
// cinegit/<stack>/ so one ExternalSecrets policy on `secret:cinegit/<stack>/*` reads them all.
// (Secrets Manager names may hold slashes; a leading one only makes ARNs awkward.)
func SecretName(env stackenv.Env) string {
	return strings.TrimPrefix(env.Naming.Path("cache", "auth"), "/")
}

// New creates the cache.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Cache, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("cache %s: %w", name, err)
	}
	c := &Cache{env: args.Env}
	if err := ctx.RegisterComponentResource("cinegit:cache:Cache", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	env := args.Env
	t := env.Tags

	key, err := kmskey.New(ctx, name, kmskey.Args{
		Env:                 env,
		Description:         "CineGit " + env.Naming.Stack + " Redis (data at rest, AUTH secret, logs)",
		Alias:               env.Naming.Name("cache"),
		AllowCloudWatchLogs: true,
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}

	sg, err := securitygroup.NewServiceOnly(ctx, name, securitygroup.Args{
		Env: env, VpcID: args.VpcID, Service: "Redis", NamePart: "cache", Port: Port, Allowed: args.AllowedSecurityGroupIDs,
	}, parent)
	if err != nil {
		return nil, err
	}
	subnets, err := elasticache.NewSubnetGroup(ctx, name, &elasticache.SubnetGroupArgs{
		Name:        pulumi.String(env.Naming.Name("cache")),
		Description: pulumi.String("CineGit " + env.Naming.Stack + " Redis: private subnets"),
		SubnetIds:   args.SubnetIDs,
		Tags:        t.Named(env.Naming.Name("cache")).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}
	// The family is part of the name so that a major upgrade, or the move from Redis OSS to
	// Valkey, creates its group first, moves the replication group to it, and only then
	// deletes the old one (Pulumi replaces create-before-delete).
	major, _, _ := strings.Cut(args.EngineVersion, ".")
	family := args.Engine + major
	params, err := elasticache.NewParameterGroup(ctx, name, &elasticache.ParameterGroupArgs{
		Name:        pulumi.String(env.Naming.Name(family)),
		Family:      pulumi.String(family),
		Description: pulumi.String("CineGit " + env.Naming.Stack + " " + args.Engine + " " + major + " (sessions, diff previews)"),
		Parameters: elasticache.ParameterGroupParameterArray{
			&elasticache.ParameterGroupParameterArgs{Name: pulumi.String("maxmemory-policy"), Value: pulumi.String(args.MaxmemoryPolicy)},
		},
		Tags: t.Named(env.Naming.Name(family)).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}

	logs := elasticache.ReplicationGroupLogDeliveryConfigurationArray{}
	for _, lt := range LogTypes {
		g, err := cloudwatch.NewLogGroup(ctx, name+"-"+lt, &cloudwatch.LogGroupArgs{
			// ElastiCache delivers vended logs: under /aws/vendedlogs/ CloudWatch needs no
			// per-group entry in the account's size-capped log delivery resource policy.
			Name:            pulumi.String("/aws/vendedlogs" + env.Naming.Path("cache", lt)),
			RetentionInDays: pulumi.Int(args.LogRetentionDays),
			KmsKeyId:        key.Arn(),
			Tags:            t.Named(env.Naming.Name("cache", lt)).Map(),
		}, parent)
		if err != nil {
			return nil, err
		}
		logs = append(logs, &elasticache.ReplicationGroupLogDeliveryConfigurationArgs{
			Destination:     g.Name,
			DestinationType: pulumi.String("cloudwatch-logs"),
			LogFormat:       pulumi.String("json"),
			LogType:         pulumi.String(lt),
		})
	}

	// The token is generated by the engine at deploy time and is a secret in state; it is
	// never in configuration or code. Replacing this resource (pulumi up --replace) rotates it:
	// with the ROTATE strategy below, ElastiCache accepts old and new tokens until the next
	// change, so pods pick up the new secret without an outage.
	token, err := random.NewRandomPassword(ctx, name+"-auth-token", &random.RandomPasswordArgs{
		Length:          pulumi.Int(AuthTokenLength),
		Special:         pulumi.Bool(true),
		OverrideSpecial: pulumi.String(AuthTokenSpecialCharacters),
		MinUpper:        pulumi.Int(1),
		MinLower:        pulumi.Int(1),
		MinNumeric:      pulumi.Int(1),
		MinSpecial:      pulumi.Int(1),
	}, parent)
	if err != nil {
		return nil, err
	}

	ha := args.NodeCount >= 2
	groupID := env.Naming.NameMax(40, "cache")
	var snapshot pulumi.StringPtrInput
	if r := args.Restore; r != nil {
		groupID = env.Naming.NameMax(40, "cache", r.Label)
		snapshot = pulumi.String(r.SnapshotName)
	}
	group, err := elasticache.NewReplicationGroup(ctx, name, &elasticache.ReplicationGroupArgs{
		ReplicationGroupId: pulumi.String(groupID),
		// Data restored from the snapshot into the new group ("Restoring from a backup into a
		// new cache", ElastiCache user guide; CreateReplicationGroup SnapshotName).
		SnapshotName:            snapshot,
		Description:             pulumi.String("CineGit " + env.Naming.Stack + " sessions and diff previews"),
		Engine:                  pulumi.String(args.Engine),
		EngineVersion:           pulumi.String(args.EngineVersion),
		AutoMinorVersionUpgrade: pulumi.Bool(true),
		// Otherwise a version or parameter group change waits for the maintenance window,
		// and the old parameter group, still in use, cannot be deleted until then.
		ApplyImmediately: pulumi.Bool(args.ApplyImmediately),
		NodeType:         pulumi.String(args.NodeType),
		NumCacheClusters: pulumi.Int(args.NodeCount),
		// Multi-AZ needs automatic failover, and failover needs a replica to promote.
		AutomaticFailoverEnabled: pulumi.Bool(ha),
		MultiAzEnabled:           pulumi.Bool(ha),
		Port:                     pulumi.Int(Port),
		ParameterGroupName:       params.Name,
		SubnetGroupName:          subnets.Name,
		SecurityGroupIds:         pulumi.StringArray{sg.ID()},

		AtRestEncryptionEnabled:  pulumi.Bool(true),
		KmsKeyId:                 key.Arn(),
		TransitEncryptionEnabled: pulumi.Bool(true),
		TransitEncryptionMode:    pulumi.String("required"),
		AuthToken:                token.Result,
		AuthTokenUpdateStrategy:  pulumi.String("ROTATE"),

		SnapshotRetentionLimit:    pulumi.Int(args.SnapshotRetentionDays),
		SnapshotWindow:            pulumi.String(args.SnapshotWindow),
		MaintenanceWindow:         pulumi.String(args.MaintenanceWindow),
		LogDeliveryConfigurations: logs,
		Tags:                      t.Named(env.Naming.Name("cache")).Map(),
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}

	secret, err := secretsmanager.NewSecret(ctx, name+"-auth", &secretsmanager.SecretArgs{
		Name:                 pulumi.String(SecretName(env)),
		Description:          pulumi.String("CineGit " + env.Naming.Stack + " Redis connection: host, readerHost, port, authToken, tls"),
		KmsKeyId:             key.Arn(),
		RecoveryWindowInDays: pulumi.Int(args.AuthSecretRecoveryWindowDays),
		Tags:                 t.Named(SecretName(env)).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}
	value := pulumi.JSONMarshal(pulumi.Map{
		"host":       group.PrimaryEndpointAddress,
		"readerHost": group.ReaderEndpointAddress,
		"port":       pulumi.Int(Port),
		"authToken":  token.Result,
		"tls":        pulumi.Bool(true),
	})
	if _, err := secretsmanager.NewSecretVersion(ctx, name+"-auth", &secretsmanager.SecretVersionArgs{
		SecretId: secret.ID(),
		// Secret already, since the token is; said again so that no refactoring can drop it.
		SecretString: pulumi.ToSecret(value).(pulumi.StringOutput),
	}, parent); err != nil {
		return nil, err
	}

	c.PrimaryEndpoint = group.PrimaryEndpointAddress
	c.ReaderEndpoint = group.ReaderEndpointAddress
	c.Port = group.Port.Elem()
	c.AuthSecretArn = secret.Arn
	c.AuthSecretName = secret.Name
	c.SecurityGroupID = sg.ID().ToStringOutput()
	c.KmsKeyArn = key.Arn()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"primaryEndpoint": c.PrimaryEndpoint,
		"readerEndpoint":  c.ReaderEndpoint,
		"port":            c.Port,
		"authSecretArn":   c.AuthSecretArn,
		"authSecretName":  c.AuthSecretName,
		"securityGroupId": c.SecurityGroupID,
		"kmsKeyArn":       c.KmsKeyArn,
	})
}

func (a Args) check() error {
	switch {
	case a.VpcID == nil || a.SubnetIDs == nil:
		return fmt.Errorf("VpcID and SubnetIDs are required")
	case a.Engine != "valkey" && a.Engine != "redis":
		return fmt.Errorf("engine %q: valkey or redis", a.Engine)
	case a.EngineVersion == "" || a.NodeType == "" || a.MaxmemoryPolicy == "":
		return fmt.Errorf("EngineVersion, NodeType and MaxmemoryPolicy are required")
	case a.NodeCount < 1 || a.NodeCount > 6:
		return fmt.Errorf("NodeCount %d: a primary and 0-5 replicas", a.NodeCount)
	case a.LogRetentionDays < 1:
		return fmt.Errorf("LogRetentionDays must be set")
	case a.AuthSecretRecoveryWindowDays != 0 && (a.AuthSecretRecoveryWindowDays < 7 || a.AuthSecretRecoveryWindowDays > 30):
		return fmt.Errorf("AuthSecretRecoveryWindowDays %d: 0 or 7-30", a.AuthSecretRecoveryWindowDays)
	case a.Restore != nil && (a.Restore.Label == "" || a.Restore.SnapshotName == ""):
		return fmt.Errorf("Restore needs a Label and a SnapshotName")
	}
	return nil
}

// ReadAuthSecret are the statements a role (e.g. the ExternalSecrets operator's) needs to read
// the AUTH secret: the secret and its key, the key only through Secrets Manager.
func (c *Cache) ReadAuthSecret() []iampolicy.Statement {
	return []iampolicy.Statement{
		iampolicy.Allow("ReadCacheAuthSecret", []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, pulumi.StringArray{c.AuthSecretArn}),
		{
			Sid:       "DecryptCacheAuthSecret",
			Effect:    "Allow",
			Actions:   []string{"kms:Decrypt"},
			Resources: pulumi.StringArray{c.KmsKeyArn},
			Conditions: []iampolicy.Condition{{
				Test: "StringEquals", Variable: "kms:ViaService",
				Values: iampolicy.Strings(fmt.Sprintf("secretsmanager.%s.amazonaws.com", c.env.Region)),
			}},
		},
	}
}
