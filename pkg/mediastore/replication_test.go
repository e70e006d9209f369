package mediastore

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const typeReplication = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"

// runReplicated builds the store with replication to us-west-2 through a provider there.
func runReplicated(t *testing.T, rtc, deleteMarkers, preview bool) *harness.Result {
	t.Helper()
	r, err := harness.RunRaw(func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		west, err := aws.NewProvider(ctx, "aws-us-west-2", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		args := testArgs()
		args.Replication = &Replication{Provider: west, Region: "us-west-2", ReplicationTimeControl: rtc, DeleteMarkers: deleteMarkers, StorageClass: "GLACIER_IR"}
		m, err := New(ctx, "mediastore", args, pulumi.Provider(p))
		if err != nil {
			return err
		}
		ctx.Export("replica", m.ReplicaBucketName)
		ctx.Export("copyBackRole", m.CopyBackRoleArn)
		ctx.Export("copyBackReportPrefix", m.CopyBackReportPrefix)
		return nil
	}, "cinegit", "test", map[string]string{"aws:region": "us-east-1"}, preview)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReplicaIsSecuredLikeTheSourceInTheSecondRegion(t *testing.T) {
	r := runReplicated(t, true, false, false)
	replica := bucketNamed(t, r, "replica")
	if !strings.Contains(replica.Provider, "aws-us-west-2") || !strings.HasSuffix(replica.InputString("bucket"), "-us-west-2") {
		t.Fatalf("replica %q must be made in us-west-2, provider %q", replica.InputString("bucket"), replica.Provider)
	}
	// Every companion of the replica is in its region too, and it has all of them.
	for _, typ := range []string{
		"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
		"aws:s3/bucketVersioningV2:BucketVersioningV2", typeEncryption, typeLifecycle, typePolicy,
	} {
		c := companion(r, typ, replica)
		if c == nil {
			t.Errorf("replica has no %s", typ)
			continue
		}
		if c.Provider != replica.Provider {
			t.Errorf("replica's %s is not in the replica's region", typ)
		}
	}
	enc := companion(r, typeEncryption, replica)
	key := r.Named("aws:kms/key:Key", "mediastore-replica")
	if key == nil || key.Provider != replica.Provider {
		t.Fatalf("the replica's key must be in the replica's region")
	}
	if !strings.Contains(enc.InputString("rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId"), ":kms:") {
		t.Errorf("replica not SSE-KMS: %v", enc.Inputs)
	}
	if pol := companion(r, typePolicy, replica); !strings.Contains(pol.InputString("policy"), "aws:SecureTransport") {
		t.Errorf("replica policy is not TLS-only: %s", pol.InputString("policy"))
	}
}

func TestReplicationConfiguration(t *testing.T) {
	for _, tt := range []struct {
		name               string
		rtc, deleteMarkers bool
	}{
		{"prod: RTC, delete markers kept out", true, false},
		{"without RTC, delete markers replicated", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runReplicated(t, tt.rtc, tt.deleteMarkers, false)
			cfgs := r.ByType(typeReplication)
			if len(cfgs) != 1 {
				t.Fatalf("want one replication configuration, got %d", len(cfgs))
			}
			c := cfgs[0]
			if c.Provider == "" || strings.Contains(c.Provider, "us-west-2") {
				t.Errorf("the configuration belongs to the source bucket's region: %q", c.Provider)
			}
			rule := c.Input("rules[0]").(map[string]any)
			dest := rule["destination"].(map[string]any)
			if rule["sourceSelectionCriteria"].(map[string]any)["sseKmsEncryptedObjects"].(map[string]any)["status"] != "Enabled" {
				t.Errorf("SSE-KMS objects are not replicated: %v", rule)
			}
			if dest["metrics"].(map[string]any)["status"] != "Enabled" || dest["storageClass"] != "GLACIER_IR" {
				t.Errorf("destination %v", dest)
			}
			if !strings.Contains(dest["encryptionConfiguration"].(map[string]any)["replicaKmsKeyId"].(string), ":kms:") {
				t.Errorf("replicas not encrypted with the replica key: %v", dest)
			}
			if _, has := dest["replicationTime"]; has != tt.rtc {
				t.Errorf("replicationTime present %v, want %v", has, tt.rtc)
			}
			want := map[bool]string{true: "Enabled", false: "Disabled"}[tt.deleteMarkers]
			if got := rule["deleteMarkerReplication"].(map[string]any)["status"]; got != want {
				t.Errorf("delete marker replication %v, want %v", got, want)
			}
			// Versioning on both buckets before the configuration (S3 rejects it otherwise).
			for _, purpose := range []string{"media", "replica"} {
				v := companion(r, "aws:s3/bucketVersioningV2:BucketVersioningV2", bucketNamed(t, r, purpose))
				if !r.DependsOn(c, v) {
					t.Errorf("replication configuration does not wait for the %s bucket's versioning", purpose)
				}
			}
		})
	}
}

func TestReplicationRoleIsLeastPrivilege(t *testing.T) {
	r := runReplicated(t, true, false, false)
	pol := r.Named("aws:iam/rolePolicy:RolePolicy", "mediastore-replication")
	if pol == nil {
		t.Fatal("no replication role policy")
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Action    []string
			Resource  []string
			Condition map[string]map[string][]string
		}
	}
	if err := json.Unmarshal([]byte(pol.InputString("policy")), &doc); err != nil {
		t.Fatal(err)
	}
	sids := map[string]bool{}
	for _, st := range doc.Statement {
		sids[st.Sid] = true
		for _, res := range st.Resource {
			if res == "*" {
				t.Errorf("%s allows every resource", st.Sid)
			}
		}
		if slices.ContainsFunc(st.Action, func(a string) bool { return strings.HasPrefix(a, "kms:") }) {
			via := st.Condition["StringEquals"]["kms:ViaService"]
			region := map[string]string{"DecryptSourceVersions": "us-east-1", "EncryptReplicas": "us-west-2"}[st.Sid]
			if len(via) != 1 || via[0] != "s3."+region+".amazonaws.com" {
				t.Errorf("%s: kms use not limited to S3 in %s: %v", st.Sid, region, st.Condition)
			}
		}
		if slices.Contains(st.Action, "s3:*") || slices.Contains(st.Action, "s3:PutObject") {
			t.Errorf("%s: broader than replication needs: %v", st.Sid, st.Action)
		}
	}
	for _, sid := range []string{"ReadSourceConfiguration", "ReadSourceVersions", "WriteReplicas", "DecryptSourceVersions", "EncryptReplicas"} {
		if !sids[sid] {
			t.Errorf("missing statement %s", sid)
		}
	}
}

func TestNoReplicationWithoutConfig(t *testing.T) {
	r := runStore(t, testArgs(), true)
	if n := len(r.ByType(typeReplication)); n != 0 {
		t.Errorf("replication configurations without Replication: %d", n)
	}
	if r.Named(typeBucket, "mediastore-replica") != nil {
		t.Error("replica bucket without Replication")
	}
	if r.Named("aws:iam/role:Role", "mediastore-copy-back") != nil {
		t.Error("copy-back role without a replica to copy back from")
	}
}

// TestCopyBackRoleIsExactlyWhatACopyBackNeeds: the role S3 Batch Operations copies the replica
// back with is trusted by that service only, may list and read the replica (objects, versions,
// tags), write objects and tags into the media bucket, write the report under its prefix in
// the logs bucket, and use each key through S3 in its own region for its own bucket; every
// statement is listed, so a new action or resource fails the test.
func TestCopyBackRoleIsExactlyWhatACopyBackNeeds(t *testing.T) {
	r := runReplicated(t, true, false, false)
	role := r.Named("aws:iam/role:Role", "mediastore-copy-back")
	pol := r.Named("aws:iam/rolePolicy:RolePolicy", "mediastore-copy-back")
	if role == nil || pol == nil {
		t.Fatal("no copy-back role and policy")
	}
	if trust := role.InputString("assumeRolePolicy"); !strings.Contains(trust, `"Service":["batchoperations.s3.amazonaws.com"]`) || strings.Count(trust, `"Service"`) != 1 {
		t.Errorf("trust policy %s", trust)
	}
	if tags := role.Input("tags").(map[string]any); tags["Name"] != role.InputString("name") || tags["environment"] == nil {
		t.Errorf("role tags %v", tags)
	}
	arn := func(purpose string) string { return "arn:aws:s3:::" + bucketNamed(t, r, purpose).InputString("bucket") }
	media, replica, logs := arn("media"), arn("replica"), arn("logs")
	var doc struct {
		Statement []struct {
			Sid       string
			Effect    string
			Action    []string
			Resource  []string
			Condition map[string]map[string][]string
		}
	}
	if err := json.Unmarshal([]byte(pol.InputString("policy")), &doc); err != nil {
		t.Fatal(err)
	}
	type want struct {
		actions, resources []string
		viaS3, context     string // kms:ViaService region and the bucket of the encryption context
	}
	wants := map[string]want{
		"ListReplica":        {actions: []string{"s3:ListBucket", "s3:GetBucketLocation"}, resources: []string{replica}},
		"ReadReplicaObjects": {actions: []string{"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"}, resources: []string{replica + "/*"}},
		"WriteSourceObjects": {actions: []string{"s3:PutObject", "s3:PutObjectTagging"}, resources: []string{media + "/*"}},
		"WriteReport":        {actions: []string{"s3:PutObject"}, resources: []string{logs + "/" + CopyBackReportPrefix + "/*"}},
		"DecryptReplica":     {actions: []string{"kms:Decrypt"}, viaS3: "us-west-2", context: replica},
		"EncryptSource":      {actions: []string{"kms:GenerateDataKey"}, viaS3: "us-east-1", context: media},
	}
	keys := map[string]string{"DecryptReplica": "mediastore-replica", "EncryptSource": "mediastore-media"}
	seen := map[string]bool{}
	for _, st := range doc.Statement {
		w, ok := wants[st.Sid]
		if !ok || st.Effect != "Allow" {
			t.Errorf("unexpected statement %s %s %v on %v", st.Effect, st.Sid, st.Action, st.Resource)
			continue
		}
		seen[st.Sid] = true
		if !slices.Equal(st.Action, w.actions) {
			t.Errorf("%s allows %v, want %v", st.Sid, st.Action, w.actions)
		}
		if w.viaS3 == "" {
			if !slices.Equal(st.Resource, w.resources) || st.Condition != nil {
				t.Errorf("%s on %v %v, want %v", st.Sid, st.Resource, st.Condition, w.resources)
			}
			continue
		}
		key := r.Named("aws:kms/key:Key", keys[st.Sid])
		if len(st.Resource) != 1 || !strings.Contains(st.Resource[0], key.Name) {
			t.Errorf("%s on %v, want the key %s only", st.Sid, st.Resource, key.Name)
		}
		if via := st.Condition["StringEquals"]["kms:ViaService"]; !slices.Equal(via, []string{"s3." + w.viaS3 + ".amazonaws.com"}) {
			t.Errorf("%s: kms:ViaService %v, want S3 in %s", st.Sid, via, w.viaS3)
		}
		if ctx := st.Condition["StringLike"]["kms:EncryptionContext:aws:s3:arn"]; !slices.Equal(ctx, []string{w.context, w.context + "/*"}) {
			t.Errorf("%s: encryption context %v, want %s", st.Sid, ctx, w.context)
		}
	}
	for sid := range wants {
		if !seen[sid] {
			t.Errorf("missing statement %s", sid)
		}
	}
	if got := r.Exports["copyBackRole"].Value; !strings.HasSuffix(fmt.Sprint(got), ":role/"+role.InputString("name")) {
		t.Errorf("CopyBackRoleArn %v, want the role's ARN", got)
	}
	if got := r.Exports["copyBackReportPrefix"].Value; got != CopyBackReportPrefix {
		t.Errorf("CopyBackReportPrefix %v", got)
	}
}
