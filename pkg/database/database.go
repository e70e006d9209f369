// Package database is CineGit's PostgreSQL: one RDS instance in the isolated database
// subnets, encrypted with its own KMS key, its master password generated and kept by RDS in
// Secrets Manager, TLS forced, logs in CloudWatch, reachable only from the security groups
// the caller names.
package database

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/securitygroup"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Port is PostgreSQL's port, the only one the security group opens.
const Port = 5432

// CACertIdentifier is the RDS certificate authority the instance's server certificate chains
// to; clients verify against AWS's RDS trust bundle.
const CACertIdentifier = "rds-ca-rsa2048-g1"

// LogExports are the PostgreSQL logs RDS exports to CloudWatch Logs.
var LogExports = []string{"postgresql", "upgrade"}

// Args configure the database.
type Args struct {
	Env stackenv.Env
	// VpcID is the VPC of the subnets.
	VpcID pulumi.StringInput
	// SubnetIDs are the isolated database subnets, one per AZ (at least two AZs).
	SubnetIDs pulumi.StringArrayInput
	// AllowedSecurityGroupIDs may reach PostgreSQL, each through its own ingress rule created
	// after both groups exist (the instance does not wait for them); nothing else can. Empty
	// opens nothing.
	AllowedSecurityGroupIDs pulumi.StringArray
	// Protect marks the instance and its key with Pulumi's protect option.
	Protect bool

	// EngineVersion is a PostgreSQL major ("16"): minors are RDS's (automatic minor upgrades).
	EngineVersion string
	// ApplyImmediately applies modifications at once rather than in the maintenance window;
	// AllowMajorVersionUpgrade lets a new major upgrade the instance (it needs
	// ApplyImmediately, or the old parameter group stays in use until the window).
	ApplyImmediately         bool
	AllowMajorVersionUpgrade bool
	// InstanceClass, e.g. db.t4g.micro.
	InstanceClass string
	// AllocatedStorage and MaxAllocatedStorage are gp3 storage and its autoscaling ceiling, GiB.
	AllocatedStorage, MaxAllocatedStorage int
	// DBName is the database created with the instance; MasterUsername its master user.
	DBName, MasterUsername string
	// MultiAZ keeps a synchronous standby in a second AZ.
	MultiAZ bool
	// BackupRetentionDays (1-35), BackupWindow (daily, UTC) and MaintenanceWindow (weekly, UTC).
	BackupRetentionDays int
	BackupWindow        string
	MaintenanceWindow   string
	// DeletionProtection makes RDS refuse deletion; FinalSnapshot snapshots the instance (and
	// keeps its automated backups) when it is deleted.
	DeletionProtection, FinalSnapshot bool
	// SlowStatementMs is log_min_duration_statement in milliseconds.
	SlowStatementMs int
	// LogRetentionDays is the retention of the exported log groups.
	LogRetentionDays int
	// PerformanceInsightsRetentionDays is 7, 731 or a multiple of 31.
	PerformanceInsightsRetentionDays int
	// MonitoringIntervalSeconds is the enhanced monitoring interval.
	MonitoringIntervalSeconds int
	// Restore creates the instance from a snapshot or a point in time. Nil: an empty instance.
	Restore *Restore
}

// Restore is where a restored instance comes from: exactly one of SnapshotIdentifier and
// PointInTime. Either one forces a new instance (the provider replaces on any change to
// them), which gets the identifier <prefix>-postgres-<Label> so that it can be created while
// the old one still exists.
type Restore struct {
	// Label suffixes the instance identifier.
	Label string
	// SnapshotIdentifier is a DB snapshot name or ARN in this region, encrypted with this
	// component's key (RDS restores a snapshot under the key it was encrypted with).
	SnapshotIdentifier string
	// PointInTime restores an instance's automated backups to a moment.
	PointInTime *PointInTime
}

// PointInTime is one source (identifier or resource id) and one time (RestoreTime, RFC 3339
// UTC, or UseLatestRestorableTime).
type PointInTime struct {
	SourceDBInstanceIdentifier, SourceDbiResourceID string
	RestoreTime                                     string
	UseLatestRestorableTime                         bool
}

// Database is the PostgreSQL component.
type Database struct {
	pulumi.ResourceState

	// Endpoint is the instance's DNS name (without the port).
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	Port     pulumi.IntOutput    `pulumi:"port"`
	DBName   pulumi.StringOutput `pulumi:"dbName"`
	// MasterSecretArn is the Secrets Manager secret RDS keeps the master credentials in.
	MasterSecretArn pulumi.StringOutput `pulumi:"masterSecretArn"`
	// SecurityGroupID is the instance's security group.
	SecurityGroupID pulumi.StringOutput `pulumi:"securityGroupId"`
	// KmsKeyArn encrypts storage, Performance Insights, the master secret and the log groups;
	// readers of the master secret need kms:Decrypt on it.
	KmsKeyArn pulumi.StringOutput `pulumi:"kmsKeyArn"`
	// ResourceID is the instance's stable resource id, used in rds-db:connect ARNs.
	ResourceID pulumi.StringOutput `pulumi:"resourceId"`
	// Arn and Identifier name the instance for AWS Backup and the off-hours schedules.
	Arn        pulumi.StringOutput `pulumi:"arn"`
	Identifier pulumi.StringOutput `pulumi:"identifier"`

	env stackenv.Env
}

// New creates the database.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Database, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	d := &Database{env: args.Env}
	if err := ctx.RegisterComponentResource("cinegit:database:Database", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	env := args.Env
	t := env.Tags
	major, _, _ := strings.Cut(args.EngineVersion, ".")
	// The identifier is fixed (not auto-named) so that the log groups below carry the names
	// RDS will write to.
	identifier := env.Naming.NameMax(63, "postgres")
	if args.Restore != nil {
		identifier = env.Naming.NameMax(63, "postgres", args.Restore.Label)
	}

	key, err := kmskey.New(ctx, name, kmskey.Args{
		Env:                 env,
		Description:         "CineGit " + env.Naming.Stack + " PostgreSQL (storage, Performance Insights, master secret, logs)",
		Alias:               env.Naming.Name("database"),
		AllowCloudWatchLogs: true,
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}

	sg, err := securitygroup.NewServiceOnly(ctx, name, securitygroup.Args{
		Env: env, VpcID: args.VpcID, Service: "PostgreSQL", NamePart: "postgres", Port: Port, Allowed: args.AllowedSecurityGroupIDs,
	}, parent)
	if err != nil {
		return nil, err
	}

	subnets, err := rds.NewSubnetGroup(ctx, name, &rds.SubnetGroupArgs{
		Name:        pulumi.String(env.Naming.Name("database")),
		Description: pulumi.String("CineGit " + env.Naming.Stack + " PostgreSQL: isolated database subnets"),
		SubnetIds:   args.SubnetIDs,
		Tags:        t.Named(env.Naming.Name("database")).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}

	// The family is part of the name: a major upgrade creates the new group before the
	// instance moves to it, and only then deletes the old one.
	family := "postgres" + major
	params, err := rds.NewParameterGroup(ctx, name, &rds.ParameterGroupArgs{
		Name:        pulumi.String(env.Naming.Name(family)),
		Family:      pulumi.String(family),
		Description: pulumi.String("CineGit " + env.Naming.Stack + " PostgreSQL " + major + ": TLS only, DDL and slow statements logged"),
		Parameters: rds.ParameterGroupParameterArray{
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1")},
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("log_statement"), Value: pulumi.String("ddl")},
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("log_min_duration_statement"), Value: pulumi.String(fmt.Sprint(args.SlowStatementMs))},
		},
		Tags: t.Named(env.Naming.Name(family)).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}

	// RDS creates /aws/rds/instance/<id>/<log> itself, with no retention and no key, unless the
	// group already exists. Nothing the instance takes refers to these groups, so DependsOn
	// is what makes them exist first, and what makes destroy delete the instance before them.
	// A last batch delivered after that recreates a group; scripts/post-destroy.sh deletes it
	// before the stack is created again (docs/destroy.md).
	var before []pulumi.Resource
	for _, log := range LogExports {
		g, err := cloudwatch.NewLogGroup(ctx, name+"-"+log, &cloudwatch.LogGroupArgs{
			Name:            pulumi.String(fmt.Sprintf("/aws/rds/instance/%s/%s", identifier, log)),
			RetentionInDays: pulumi.Int(args.LogRetentionDays),
			KmsKeyId:        key.Arn(),
			Tags:            t.Named(env.Naming.Name("postgres", log)).Map(),
		}, parent)
		if err != nil {
			return nil, err
		}
		before = append(before, g)
	}

	monitoring, attachment, err := monitoringRole(ctx, name, env, parent)
	if err != nil {
		return nil, err
	}
	// RDS checks at creation that the monitoring role carries its permissions; the instance
	// refers to the role, not to the attachment that grants them.
	before = append(before, attachment)

	instanceArgs := &rds.InstanceArgs{
		Identifier:    pulumi.String(identifier),
		Engine:        pulumi.String("postgres"),
		EngineVersion: pulumi.String(args.EngineVersion),
		// Minor upgrades happen in the maintenance window; a major one happens only when the
		// configured version changes, and where the stack allows it, at once: the new
		// parameter group exists first, the instance moves to it, then the old one goes.
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
		AllowMajorVersionUpgrade: pulumi.Bool(args.AllowMajorVersionUpgrade),
		ApplyImmediately:         pulumi.Bool(args.ApplyImmediately),
		InstanceClass:            pulumi.String(args.InstanceClass),
		CaCertIdentifier:         pulumi.String(CACertIdentifier),

		StorageType:         pulumi.String("gp3"),
		AllocatedStorage:    pulumi.Int(args.AllocatedStorage),
		MaxAllocatedStorage: pulumi.Int(args.MaxAllocatedStorage),
		StorageEncrypted:    pulumi.Bool(true),
		KmsKeyId:            key.Arn(),

		DbName:   pulumi.String(args.DBName),
		Username: pulumi.String(args.MasterUsername),
		// RDS generates the master password and keeps it in Secrets Manager: it never passes
		// through configuration, this program or its state.
		ManageMasterUserPassword:         pulumi.Bool(true),
		MasterUserSecretKmsKeyId:         key.Arn(),
		IamDatabaseAuthenticationEnabled: pulumi.Bool(true),

		MultiAz:             pulumi.Bool(args.MultiAZ),
		DbSubnetGroupName:   subnets.Name,
		VpcSecurityGroupIds: pulumi.StringArray{sg.ID()},
		PubliclyAccessible:  pulumi.Bool(false),
		Port:                pulumi.Int(Port),
		ParameterGroupName:  params.Name,

		BackupRetentionPeriod:  pulumi.Int(args.BackupRetentionDays),
		BackupWindow:           pulumi.String(args.BackupWindow),
		MaintenanceWindow:      pulumi.String(args.MaintenanceWindow),
		CopyTagsToSnapshot:     pulumi.Bool(true),
		DeletionProtection:     pulumi.Bool(args.DeletionProtection),
		SkipFinalSnapshot:      pulumi.Bool(!args.FinalSnapshot),
		DeleteAutomatedBackups: pulumi.Bool(!args.FinalSnapshot),

		PerformanceInsightsEnabled:         pulumi.Bool(true),
		PerformanceInsightsKmsKeyId:        key.Arn(),
		PerformanceInsightsRetentionPeriod: pulumi.Int(args.PerformanceInsightsRetentionDays),
		MonitoringInterval:                 pulumi.Int(args.MonitoringIntervalSeconds),
		MonitoringRoleArn:                  monitoring.Arn,
		EnabledCloudwatchLogsExports:       pulumi.ToStringArray(LogExports),

		Tags: t.Named(identifier).Map(),
	}
	args.Restore.apply(instanceArgs)
	if args.FinalSnapshot {
		// Named after the instance, so a restored instance's snapshot carries its label too.
		id, err := finalSnapshotIdentifier(ctx, name, naming.Truncate(identifier+"-final", FinalSnapshotPrefixMax), identifier, parent)
		if err != nil {
			return nil, err
		}
		instanceArgs.FinalSnapshotIdentifier = id
	}
	instance, err := rds.NewInstance(ctx, name, instanceArgs, parent, pulumi.Protect(args.Protect), pulumi.DependsOn(before))
	if err != nil {
		return nil, err
	}

	d.Endpoint = instance.Address
	d.Port = instance.Port
	d.DBName = instance.DbName
	d.MasterSecretArn = instance.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()
	d.SecurityGroupID = sg.ID().ToStringOutput()
	d.KmsKeyArn = key.Arn()
	d.ResourceID = instance.ResourceId
	d.Arn = instance.Arn
	d.Identifier = instance.Identifier
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{
		"endpoint":        d.Endpoint,
		"port":            d.Port,
		"dbName":          d.DBName,
		"masterSecretArn": d.MasterSecretArn,
		"securityGroupId": d.SecurityGroupID,
		"kmsKeyArn":       d.KmsKeyArn,
		"resourceId":      d.ResourceID,
		"arn":             d.Arn,
		"identifier":      d.Identifier,
	})
}

// apply turns an empty instance into a restored one. The database and the master user come
// from the backup, so dbName and username are left out (RDS ignores them for PostgreSQL
// restores and a stated value would only be a diff waiting to happen: RestoreDBInstance-
// FromDBSnapshot and RestoreDBInstanceToPointInTime, Amazon RDS API Reference). The managed
// master password stays on: the provider enables it after the restore, and RDS then keeps a
// new password in a new secret. Storage is encrypted as the backup was; KmsKeyId stays so a
// point-in-time restore uses this component's key.
func (r *Restore) apply(a *rds.InstanceArgs) {
	if r == nil {
		return
	}
	a.DbName, a.Username = nil, nil
	if r.SnapshotIdentifier != "" {
		a.SnapshotIdentifier = pulumi.String(r.SnapshotIdentifier)
		return
	}
	t := r.PointInTime
	pit := &rds.InstanceRestoreToPointInTimeArgs{}
	if t.SourceDBInstanceIdentifier != "" {
		pit.SourceDbInstanceIdentifier = pulumi.String(t.SourceDBInstanceIdentifier)
	} else {
		pit.SourceDbiResourceId = pulumi.String(t.SourceDbiResourceID)
	}
	if t.UseLatestRestorableTime {
		pit.UseLatestRestorableTime = pulumi.Bool(true)
	} else {
		pit.RestoreTime = pulumi.String(t.RestoreTime)
	}
	a.RestoreToPointInTime = pit
}

func (a Args) check() error {
	major, _, _ := strings.Cut(a.EngineVersion, ".")
	switch {
	case a.VpcID == nil || a.SubnetIDs == nil:
		return fmt.Errorf("VpcID and SubnetIDs are required")
	case major == "":
		return fmt.Errorf("EngineVersion is required")
	case a.AllowMajorVersionUpgrade && !a.ApplyImmediately:
		return fmt.Errorf("AllowMajorVersionUpgrade needs ApplyImmediately")
	case a.InstanceClass == "" || a.DBName == "" || a.MasterUsername == "":
		return fmt.Errorf("InstanceClass, DBName and MasterUsername are required")
	case a.MaxAllocatedStorage < a.AllocatedStorage:
		return fmt.Errorf("MaxAllocatedStorage %d is below AllocatedStorage %d", a.MaxAllocatedStorage, a.AllocatedStorage)
	case a.BackupRetentionDays < 1:
		return fmt.Errorf("BackupRetentionDays must be at least 1 (automated backups stay on)")
	case a.MonitoringIntervalSeconds < 1 || a.PerformanceInsightsRetentionDays < 1 || a.LogRetentionDays < 1:
		return fmt.Errorf("enhanced monitoring, Performance Insights and log retention must be set")
	}
	if r := a.Restore; r != nil {
		switch {
		case r.Label == "":
			return fmt.Errorf("Restore.Label is required")
		case (r.SnapshotIdentifier == "") == (r.PointInTime == nil):
			return fmt.Errorf("Restore needs exactly one of SnapshotIdentifier and PointInTime")
		case r.PointInTime != nil && (r.PointInTime.SourceDBInstanceIdentifier == "") == (r.PointInTime.SourceDbiResourceID == ""):
			return fmt.Errorf("Restore.PointInTime needs exactly one of SourceDBInstanceIdentifier and SourceDbiResourceID")
		case r.PointInTime != nil && (r.PointInTime.RestoreTime == "") == !r.PointInTime.UseLatestRestorableTime:
			return fmt.Errorf("Restore.PointInTime needs exactly one of RestoreTime and UseLatestRestorableTime")
		}
	}
	return nil
}

// monitoringRole is the role RDS enhanced monitoring publishes OS metrics with, assumable by
// the monitoring service on this account's behalf only.
func monitoringRole(ctx *pulumi.Context, name string, env stackenv.Env, opts ...pulumi.ResourceOption) (*iam.Role, *iam.RolePolicyAttachment, error) {
	role, err := iam.NewRole(ctx, name+"-monitoring", &iam.RoleArgs{
		Name:             pulumi.String(env.Naming.NameMax(64, "rds-monitoring")),
		Description:      pulumi.String("RDS enhanced monitoring for CineGit " + env.Naming.Stack + " PostgreSQL"),
		AssumeRolePolicy: iampolicy.AssumeRole([]string{"monitoring.rds.amazonaws.com"}, env.AccountID),
		Tags:             env.Tags.Named(env.Naming.Name("rds-monitoring")).Map(),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	attachment, err := iam.NewRolePolicyAttachment(ctx, name+"-monitoring", &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String(fmt.Sprintf("arn:%s:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole", env.Partition)),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	return role, attachment, nil
}

// ReadMasterSecret are the statements a role needs to read the master credentials: the
// secret itself and the key it is encrypted with (only through Secrets Manager).
func (d *Database) ReadMasterSecret() []iampolicy.Statement {
	return []iampolicy.Statement{
		iampolicy.Allow("ReadDatabaseMasterSecret", []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, pulumi.StringArray{d.MasterSecretArn}),
		{
			Sid:       "DecryptDatabaseMasterSecret",
			Effect:    "Allow",
			Actions:   []string{"kms:Decrypt"},
			Resources: pulumi.StringArray{d.KmsKeyArn},
			Conditions: []iampolicy.Condition{{
				Test: "StringEquals", Variable: "kms:ViaService",
				Values: iampolicy.Strings(fmt.Sprintf("secretsmanager.%s.amazonaws.com", d.env.Region)),
			}},
		},
	}
}

// Connect is the statement letting a role log in as a database user with IAM authentication.
func (d *Database) Connect(dbUser string) iampolicy.Statement {
	return iampolicy.Allow("ConnectAs"+sidPart(dbUser), []string{"rds-db:connect"}, pulumi.StringArray{
		pulumi.Sprintf("arn:%s:rds-db:%s:%s:dbuser:%s/%s", d.env.Partition, d.env.Region, d.env.AccountID, d.ResourceID, dbUser),
	})
}

// sidPart keeps the letters and digits of s, which is what a statement id may hold.
func sidPart(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FinalSnapshotPrefixMax leaves room in RDS's 255 characters for "-" and the 8 hex digits of
// the per-creation suffix.
const FinalSnapshotPrefixMax = 255 - 9

// finalSnapshotIdentifier names the snapshot RDS takes when the instance is deleted:
// "<prefix>-<8 hex digits>", the digits drawn once when the stack creates the instance. A
// fixed name would make the second destroy of a recreated stack fail, since RDS refuses a
// snapshot identifier that is already taken (DBSnapshotAlreadyExists), and the first one's
// snapshot is kept on purpose. The suffix changes only with the instance identifier (keepers),
// so updates never touch it. The result obeys RDS's rules for DB snapshot identifiers (RDS API
// reference, DeleteDBInstance FinalDBSnapshotIdentifier and CreateDBSnapshot: 1-255 letters,
// digits or hyphens, first a letter, no trailing or consecutive hyphens): the prefix is a
// naming.Namer name, the suffix lowercase hex.
func finalSnapshotIdentifier(ctx *pulumi.Context, name, prefix, identifier string, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	suffix, err := random.NewRandomId(ctx, name+"-final-snapshot", &random.RandomIdArgs{
		ByteLength: pulumi.Int(4),
		Keepers:    pulumi.StringMap{"identifier": pulumi.String(identifier)},
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return pulumi.Sprintf("%s-%s", prefix, suffix.Hex), nil
}
