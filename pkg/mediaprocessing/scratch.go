package mediaprocessing

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/efs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
)

// ScratchUID and ScratchGID are the POSIX identity of every file operation through the
// access point, whatever user the image runs as.
const (
	ScratchUID = 1000
	ScratchGID = 1000
)

// scratch creates the FFmpeg scratch file system: encrypted with the pipeline key, elastic
// throughput (paid per use, no burst credits to run out of during a batch), files unused for
// a while moved to Infrequent Access, a mount target in each private subnet's AZ, and one
// access point, the only way in: it pins the POSIX user and creates its root directory.
// Only the function mounts it: the EKS jobs scratch on their node's disk (an emptyDir on the
// media nodes' large volumes), so the cluster's nodes are not admitted to it.
func (b *builder) scratch() error {
	env, a := b.env, b.args
	name := env.Naming.Name("media-scratch")
	var err error
	b.fs, err = efs.NewFileSystem(b.ctx, b.name+"-scratch", &efs.FileSystemArgs{
		CreationToken:   pulumi.String(name),
		Encrypted:       pulumi.Bool(true),
		KmsKeyId:        b.pipelineKey.Arn(),
		PerformanceMode: pulumi.String("generalPurpose"),
		ThroughputMode:  pulumi.String("elastic"),
		// EFS takes one transition per lifecycle policy entry.
		LifecyclePolicies: efs.FileSystemLifecyclePolicyArray{
			&efs.FileSystemLifecyclePolicyArgs{TransitionToIa: pulumi.String(a.ScratchTransitionToIA)},
			&efs.FileSystemLifecyclePolicyArgs{TransitionToPrimaryStorageClass: pulumi.String("AFTER_1_ACCESS")},
		},
		Tags: env.Tags.Named(name).Map(),
	}, b.protect()...)
	if err != nil {
		return err
	}
	// Scratch holds only the inputs and outputs of transcodes in flight, which re-running a
	// job rebuilds from the original in the media bucket: backing it up would store copies of
	// originals (which AWS Backup keeps already) and half-written renditions. EFS's automatic
	// backups (a daily AWS Backup plan of its own, on by default for file systems made in the
	// console) stay off, stated explicitly.
	if _, err = efs.NewBackupPolicy(b.ctx, b.name+"-scratch", &efs.BackupPolicyArgs{
		FileSystemId: b.fs.ID(),
		BackupPolicy: &efs.BackupPolicyBackupPolicyArgs{Status: pulumi.String("DISABLED")},
	}, b.parent); err != nil {
		return err
	}
	// One mount target per AZ of the function's subnets, counted from the plain AZ list so
	// that the same resources are registered in previews, where subnet IDs are unknown.
	subnets := a.PrivateSubnetIDs.ToStringArrayOutput()
	for i, az := range a.AvailabilityZones {
		mt, err := efs.NewMountTarget(b.ctx, fmt.Sprintf("%s-scratch-%s", b.name, az), &efs.MountTargetArgs{
			FileSystemId:   b.fs.ID(),
			SubnetId:       subnets.Index(pulumi.Int(i)),
			SecurityGroups: pulumi.StringArray{b.efsSG.ID()},
		}, b.parent)
		if err != nil {
			return err
		}
		b.mountTargets = append(b.mountTargets, mt)
	}
	b.accessPoint, err = efs.NewAccessPoint(b.ctx, b.name+"-scratch", &efs.AccessPointArgs{
		FileSystemId: b.fs.ID(),
		PosixUser:    &efs.AccessPointPosixUserArgs{Uid: pulumi.Int(ScratchUID), Gid: pulumi.Int(ScratchGID)},
		RootDirectory: &efs.AccessPointRootDirectoryArgs{
			Path: pulumi.String("/ffmpeg"),
			CreationInfo: &efs.AccessPointRootDirectoryCreationInfoArgs{
				OwnerUid:    pulumi.Int(ScratchUID),
				OwnerGid:    pulumi.Int(ScratchGID),
				Permissions: pulumi.String("0750"),
			},
		},
		Tags: env.Tags.Named(name + "-ffmpeg").Map(),
	}, b.parent)
	if err != nil {
		return err
	}
	_, err = efs.NewFileSystemPolicy(b.ctx, b.name+"-scratch", &efs.FileSystemPolicyArgs{
		FileSystemId: b.fs.ID(),
		Policy:       b.fileSystemPolicy(),
	}, b.parent)
	return err
}

// fileSystemPolicy refuses NFS without TLS (the statement of the EFS console's "enforce
// in-transit encryption") and any mount that does not go through the access point. Who may
// mount is decided by identity policies: the function's role.
func (b *builder) fileSystemPolicy() pulumi.StringOutput {
	everyone := []iampolicy.Principal{{Type: "AWS", Identifiers: iampolicy.Strings("*")}}
	fs := pulumi.StringArray{b.fs.Arn}
	return iampolicy.Document(
		iampolicy.Statement{
			Sid:        "DenyInsecureTransport",
			Effect:     "Deny",
			Actions:    []string{"*"},
			Resources:  fs,
			Principals: everyone,
			Conditions: []iampolicy.Condition{{Test: "Bool", Variable: "aws:SecureTransport", Values: iampolicy.Strings("false")}},
		},
		iampolicy.Statement{
			Sid:        "DenyAccessOutsideTheAccessPoint",
			Effect:     "Deny",
			Actions:    []string{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"},
			Resources:  fs,
			Principals: everyone,
			Conditions: []iampolicy.Condition{{Test: "StringNotEquals", Variable: "elasticfilesystem:AccessPointArn", Values: pulumi.StringArray{b.accessPoint.Arn}}},
		},
	)
}
