package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	s3Bucket       = "aws:s3/bucketV2:BucketV2"
	s3Policy       = "aws:s3/bucketPolicy:BucketPolicy"
	s3PAB          = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	s3Ownership    = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	s3Versioning   = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	s3Encryption   = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	s3Logging      = "aws:s3/bucketLoggingV2:BucketLoggingV2"
	s3Lifecycle    = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	cfDistribution = "aws:cloudfront/distribution:Distribution"
	wafWebACL      = "aws:wafv2/webAcl:WebAcl"
)

// bucketOf returns the bucket a bucket-level resource configures: its "bucket" input refers to
// the bucket directly or through the bucket's public access block (policies wait for the block).
func bucketOf(r *harness.Result, res *harness.Resource) *harness.Resource {
	for _, d := range res.PropertyDependencies["bucket"] {
		dep := r.ByURN(d)
		switch {
		case dep == nil:
		case dep.Type == s3Bucket:
			return dep
		case dep.Type == s3PAB || dep.Type == s3Policy:
			if b := bucketOf(r, dep); b != nil {
				return b
			}
		}
	}
	return nil
}

// configures groups every bucket-level resource of a type by the bucket it configures.
func configures(r *harness.Result, typ string) map[string][]*harness.Resource {
	out := map[string][]*harness.Resource{}
	for _, res := range r.ByType(typ) {
		if b := bucketOf(r, res); b != nil {
			out[b.URN] = append(out[b.URN], res)
		}
	}
	return out
}

// mediaBucket returns a media store bucket by purpose.
func mediaBucket(t *testing.T, r *harness.Result, purpose string) *harness.Resource {
	t.Helper()
	b := r.Named(s3Bucket, "mediastore-"+purpose)
	if b == nil {
		t.Fatalf("no %s bucket", purpose)
	}
	return b
}

func policyStatements(t *testing.T, doc string) []map[string]any {
	t.Helper()
	var d struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("policy %q: %v", doc, err)
	}
	return d.Statement
}

func TestEveryBucketIsSecuredByItsCompanions(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		buckets := r.ByType(s3Bucket)
		if len(buckets) < 4 {
			t.Fatalf("want at least the four media store buckets, got %d", len(buckets))
		}
		by := map[string]map[string][]*harness.Resource{}
		for _, typ := range []string{s3Ownership, s3PAB, s3Versioning, s3Encryption, s3Logging, s3Lifecycle, s3Policy} {
			by[typ] = configures(r, typ)
		}
		for _, b := range buckets {
			exempt := func(tag string) bool { return b.InputString("tags."+tag) != "" }
			want := map[string]bool{s3Ownership: true, s3PAB: true, s3Encryption: true, s3Lifecycle: true, s3Policy: true,
				s3Versioning: !exempt(bucket.ExceptionVersioning), s3Logging: !exempt(bucket.ExceptionAccessLogged)}
			for typ, required := range want {
				n := len(by[typ][b.URN])
				switch {
				case required && n != 1:
					t.Errorf("bucket %s: want exactly one %s, got %d", b.Name, typ, n)
				case !required && n != 0:
					t.Errorf("bucket %s: %s exempted by tag, yet configured", b.Name, typ)
				}
			}
			for _, k := range []string{"acl", "policy", "versionings", "serverSideEncryptionConfigurations", "loggings", "lifecycleRules", "corsRules", "grants"} {
				if b.Input(k) != nil {
					t.Errorf("bucket %s uses the deprecated inline argument %s", b.Name, k)
				}
			}
			if own := by[s3Ownership][b.URN]; len(own) == 1 && own[0].InputString("rule.objectOwnership") != "BucketOwnerEnforced" {
				t.Errorf("bucket %s: ACLs must be disabled (BucketOwnerEnforced)", b.Name)
			}
			if pab := by[s3PAB][b.URN]; len(pab) == 1 {
				for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
					if pab[0].Input(k) != true {
						t.Errorf("bucket %s: public access block %s off", b.Name, k)
					}
				}
			}
			if enc := by[s3Encryption][b.URN]; len(enc) == 1 {
				algo := enc[0].InputString("rules[0].applyServerSideEncryptionByDefault.sseAlgorithm")
				kms := algo == "aws:kms" && enc[0].Input("rules[0].bucketKeyEnabled") == true
				if !kms && !(algo == "AES256" && exempt(bucket.ExceptionSSEKMS)) {
					t.Errorf("bucket %s: SSE-KMS with a bucket key required (got %q, no stated exception)", b.Name, algo)
				}
				if kms && !r.Preview && !strings.HasPrefix(enc[0].InputString("rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId"), "arn:aws:kms:") {
					t.Errorf("bucket %s: SSE-KMS needs a customer-managed key ARN", b.Name)
				}
			}
			if v := by[s3Versioning][b.URN]; len(v) == 1 && v[0].InputString("versioningConfiguration.status") != "Enabled" {
				t.Errorf("bucket %s: versioning not enabled", b.Name)
			}
			if lg := by[s3Logging][b.URN]; len(lg) == 1 && !r.Preview {
				target := lg[0].InputString("targetBucket")
				if target != mediaBucket(t, r, "logs").InputString("bucket") || target == b.InputString("bucket") {
					t.Errorf("bucket %s logs to %q, want the logs bucket", b.Name, target)
				}
			}
		}
	})
}

func TestEveryBucketPolicyDeniesInsecureTransport(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		policies := r.ByType(s3Policy)
		if len(policies) != len(r.ByType(s3Bucket)) {
			t.Errorf("%d bucket policies for %d buckets: every bucket has exactly one", len(policies), len(r.ByType(s3Bucket)))
		}
		if r.Preview {
			return // the documents name bucket ARNs, unknown until the buckets exist
		}
		for _, p := range policies {
			var deny map[string]any
			for _, st := range policyStatements(t, p.InputString("policy")) {
				if st["Effect"] == "Deny" && fmt.Sprint(st["Condition"]) == "map[Bool:map[aws:SecureTransport:[false]]]" {
					deny = st
				}
			}
			b := bucketOf(r, p)
			if deny == nil || b == nil {
				t.Errorf("policy %s: no TLS-only deny, or no bucket", p.Name)
				continue
			}
			arn := "arn:aws:s3:::" + b.InputString("bucket")
			if fmt.Sprint(deny["Resource"]) != fmt.Sprintf("[%s %s/*]", arn, arn) || fmt.Sprint(deny["Action"]) != "[s3:*]" {
				t.Errorf("policy %s: the deny must cover %s and its objects for every action: %v", p.Name, arn, deny)
			}
			if fmt.Sprint(deny["Principal"]) != "map[AWS:[*]]" {
				t.Errorf("policy %s: deny principal %v is not valid IAM for everyone", p.Name, deny["Principal"])
			}
		}
	})
}

func TestDeliveryBucketsAreReadableByTheDistributionOnly(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		dists := r.ByType(cfDistribution)
		if len(dists) != 1 {
			t.Fatalf("want one distribution, got %d", len(dists))
		}
		dist := dists[0]
		policies := configures(r, s3Policy)
		for _, purpose := range []string{"media", "logs", "proxies", "thumbnails"} {
			b := mediaBucket(t, r, purpose)
			ps := policies[b.URN]
			if len(ps) != 1 {
				t.Fatalf("%s bucket: %d policies", purpose, len(ps))
			}
			namesDist := contains(ps[0].PropertyDependencies["policy"], dist.URN)
			delivery := purpose == "proxies" || purpose == "thumbnails"
			if namesDist != delivery {
				t.Errorf("%s bucket policy names the distribution: %v, want %v", purpose, namesDist, delivery)
			}
			// The distribution reads the delivery buckets through their regional endpoints.
			if delivery && !contains(dist.PropertyDependencies["origins"], b.URN) {
				t.Errorf("the distribution does not use the %s bucket as an origin", purpose)
			}
			if r.Preview {
				continue
			}
			for _, st := range policyStatements(t, ps[0].InputString("policy")) {
				if st["Effect"] != "Allow" {
					continue
				}
				principal := fmt.Sprint(st["Principal"])
				switch {
				case delivery && principal == "map[Service:[cloudfront.amazonaws.com]]":
					want := fmt.Sprintf("map[StringEquals:map[AWS:SourceArn:[%s]]]", dist.Outputs["arn"].StringValue())
					if fmt.Sprint(st["Condition"]) != want || fmt.Sprint(st["Action"]) != "[s3:GetObject]" {
						t.Errorf("%s: CloudFront may only GetObject for this distribution: %v", purpose, st)
					}
				case purpose == "logs" && principal == "map[Service:[logging.s3.amazonaws.com]]":
				// The region's ELB log delivery account writes the load balancers' access logs
				// (pkg/ingress), under alb/AWSLogs/<account>/ only.
				case purpose == "logs" && principal == "map[AWS:[arn:aws:iam::127311923021:root]]" &&
					fmt.Sprint(st["Action"]) == "[s3:PutObject]" && strings.HasSuffix(fmt.Sprint(st["Resource"]), "/alb/AWSLogs/"+harness.AccountID+"/*]"):
				default:
					t.Errorf("%s bucket policy grants %s: only the distribution (or the S3 logging service on the logs bucket) may be granted", purpose, principal)
				}
			}
		}
		// The media key lets CloudFront decrypt delivery buckets only.
		key := r.Named("aws:kms/key:Key", "mediastore-media")
		var cf map[string]any
		for _, st := range policyStatements(t, key.InputString("policy")) {
			if fmt.Sprint(st["Principal"]) == "map[Service:[cloudfront.amazonaws.com]]" {
				cf = st
			}
		}
		cond := fmt.Sprint(cf["Condition"])
		if cf == nil || fmt.Sprint(cf["Action"]) != "[kms:Decrypt]" || strings.Contains(cond, mediaBucket(t, r, "media").InputString("bucket")) ||
			!strings.Contains(cond, mediaBucket(t, r, "proxies").InputString("bucket")) {
			t.Errorf("media key: CloudFront must decrypt proxies and thumbnails only: %v", cf)
		}
	})
}

func TestEdgeSecurity(t *testing.T) {
	want := map[string]struct {
		priceClass string
		block      bool
	}{
		"dev":     {"PriceClass_100", false},
		"staging": {"PriceClass_100", true},
		"prod":    {"PriceClass_All", true},
	}
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := want[r.Stack]
		// The CDN's web ACL; the load balancers' regional one is pkg/ingress's (TestIngressPerStack).
		acl := r.Named(wafWebACL, "cdn")
		if acl == nil {
			t.Fatal("the CDN's web ACL is missing")
		}
		edge := r.ByURN(harness.ProviderURN(acl.Provider))
		if acl.InputString("scope") != "CLOUDFRONT" || edge == nil || edge.InputString("region") != "us-east-1" {
			t.Errorf("web ACL: scope %q through a provider in %q; want CLOUDFRONT in us-east-1", acl.InputString("scope"), edge.InputString("region"))
		}
		for _, typ := range []string{"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "aws:cloudwatch/logDeliverySource:LogDeliverySource",
			"aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination", "aws:cloudwatch/logDelivery:LogDelivery"} {
			for _, res := range r.ByType(typ) {
				if res.Provider != acl.Provider && !strings.HasPrefix(res.Name, "ingress") {
					t.Errorf("%s %s must be created in us-east-1", typ, res.Name)
				}
			}
		}
		wafLogs := r.Named("aws:cloudwatch/logGroup:LogGroup", "cdn-waf-logs")
		if wafLogs == nil || wafLogs.InputString("name") != "aws-waf-logs-cinegit-"+r.Stack || wafLogs.Provider != acl.Provider || wafLogs.Input("retentionInDays") == nil {
			t.Errorf("WAF logs: a retained aws-waf-logs-cinegit-%s group in us-east-1", r.Stack)
		}
		for _, x := range acl.Input("rules").([]any) {
			rule := x.(map[string]any)
			verdict, _ := rule["overrideAction"].(map[string]any)
			if verdict == nil {
				verdict, _ = rule["action"].(map[string]any)
			}
			if _, counts := verdict["count"]; counts == w.block {
				t.Errorf("rule %s: %v (block=%v for %s)", rule["name"], verdict, w.block, r.Stack)
			}
		}

		d := r.ByType(cfDistribution)[0]
		if d.InputString("priceClass") != w.priceClass || d.InputString("httpVersion") != "http2and3" || d.Input("isIpv6Enabled") != true {
			t.Errorf("distribution: %s %s ipv6=%v", d.InputString("priceClass"), d.InputString("httpVersion"), d.Input("isIpv6Enabled"))
		}
		if !r.DependsOn(d, acl) {
			t.Errorf("the distribution is not behind the web ACL")
		}
		kg := r.ByType("aws:cloudfront/keyGroup:KeyGroup")
		if len(kg) != 1 || !contains(d.PropertyDependencies["defaultCacheBehavior"], kg[0].URN) {
			t.Fatalf("the default behavior must trust the key group")
		}
		if r.Preview {
			return
		}
		for _, x := range append([]any{d.Input("defaultCacheBehavior")}, d.Input("orderedCacheBehaviors").([]any)...) {
			b := x.(map[string]any)
			pattern, _ := b["pathPattern"].(string)
			// Streaming manifests and segments, then progressive proxies and thumbnails, each
			// under the stack's cache policy for how CineGit writes them.
			policy := map[string]string{"streams/*.m3u8": "manifests", "streams/*.mpd": "manifests", "streams/*": "segments"}[pattern]
			if policy == "" {
				policy = "progressive"
			}
			if b["viewerProtocolPolicy"] != "redirect-to-https" || b["cachePolicyId"] != "cinegit-"+r.Stack+"-cdn-"+policy || b["compress"] != (policy != "segments") {
				t.Errorf("behavior %q: %v", pattern, b)
			}
			signed := fmt.Sprint(b["trustedKeyGroups"]) == "["+kg[0].ID+"]"
			if public := strings.HasPrefix(pattern, "thumbnails/public/"); signed == public {
				t.Errorf("behavior %q: signed=%v; only the configured public paths go unsigned", pattern, signed)
			}
		}
	})
}

func TestMediaLifecyclePerStack(t *testing.T) {
	want := map[string]struct {
		noncurrent, derived, logs float64
		transitions               string
		forceDestroy, protect     bool
	}{
		"dev":     {7, 1, 14, "[map[days:30 storageClass:STANDARD_IA]]", true, false},
		"staging": {30, 7, 90, "[map[days:30 storageClass:STANDARD_IA] map[days:90 storageClass:GLACIER_IR]]", true, false},
		"prod":    {90, 14, 365, "[map[days:30 storageClass:STANDARD_IA] map[days:90 storageClass:GLACIER_IR] map[days:365 storageClass:DEEP_ARCHIVE]]", false, true},
	}
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := want[r.Stack]
		lifecycles := configures(r, s3Lifecycle)
		rules := func(purpose string) map[string]map[string]any {
			out := map[string]map[string]any{}
			lc := lifecycles[mediaBucket(t, r, purpose).URN]
			if len(lc) != 1 {
				t.Fatalf("%s: no lifecycle", purpose)
			}
			for _, x := range lc[0].Input("rules").([]any) {
				rule := x.(map[string]any)
				out[rule["id"].(string)] = rule
			}
			return out
		}
		for _, purpose := range []string{"media", "proxies", "thumbnails", "logs"} {
			b := mediaBucket(t, r, purpose)
			if b.Input("forceDestroy") != w.forceDestroy || b.Protect != w.protect {
				t.Errorf("%s bucket: forceDestroy=%v protect=%v", purpose, b.Input("forceDestroy"), b.Protect)
			}
			hk := rules(purpose)["housekeeping"]
			days, _ := hk["abortIncompleteMultipartUpload"].(map[string]any)["daysAfterInitiation"].(float64)
			if days < 1 || days > 7 {
				t.Errorf("%s: incomplete multipart uploads aborted after %v days", purpose, days)
			}
			expected := map[string]float64{"media": w.noncurrent, "proxies": w.derived, "thumbnails": w.derived}
			if nv, ok := expected[purpose]; ok && fmt.Sprint(hk["noncurrentVersionExpiration"]) != fmt.Sprintf("map[noncurrentDays:%v]", nv) {
				t.Errorf("%s: noncurrent versions %v, want %v days", purpose, hk["noncurrentVersionExpiration"], nv)
			}
		}
		if got := fmt.Sprint(rules("media")["transitions"]["transitions"]); got != w.transitions {
			t.Errorf("originals transitions %s, want %s", got, w.transitions)
		}
		if fmt.Sprint(rules("media")["transitions"]["filter"]) != "map[prefix:originals/]" {
			t.Errorf("transitions must apply to originals only")
		}
		if fmt.Sprint(rules("logs")["housekeeping"]["expiration"]) != fmt.Sprintf("map[days:%v]", w.logs) {
			t.Errorf("logs expire after %v, want %v", rules("logs")["housekeeping"]["expiration"], w.logs)
		}
		if k := r.Named("aws:kms/key:Key", "mediastore-media"); k.Protect != w.protect {
			t.Errorf("media key protect=%v", k.Protect)
		}
		n := r.ByType("aws:s3/bucketNotification:BucketNotification")
		if len(n) != 1 || n[0].Input("eventbridge") != true || bucketOf(r, n[0]) != mediaBucket(t, r, "media") {
			t.Errorf("the media bucket must send its events to EventBridge")
		}
	})
}

func TestMediaAndCDNExports(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		for _, name := range []string{"mediaBucketName", "mediaBucketArn", "proxiesBucketName", "proxiesBucketArn", "thumbnailsBucketName",
			"thumbnailsBucketArn", "logsBucketName", "mediaKmsKeyArn", "cdnDistributionId", "cdnDomainName", "cdnKeyGroupId",
			"cdnPublicKeyIds", "cdnWebAclArn", "cdnSigningKeySecretArn"} {
			e, ok := r.Exports[name]
			if !ok {
				t.Errorf("no export %s", name)
				continue
			}
			if !r.Preview && (!e.Known || e.Value == "" || e.Value == nil) {
				t.Errorf("export %s is empty", name)
			}
		}
		if !r.Preview && r.Exports["mediaBucketName"].Value != mediaBucket(t, r, "media").InputString("bucket") {
			t.Errorf("mediaBucketName %v", r.Exports["mediaBucketName"].Value)
		}
	})
}

func TestSigningPrivateKeyIsNeverInState(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		if r.Named("aws:secretsmanager/secretVersion:SecretVersion", "cdn-signing-key") != nil {
			t.Errorf("the signing key secret must be filled out of band, not from the program")
		}
		for _, res := range r.Resources {
			if strings.Contains(fmt.Sprint(res.Inputs), "PRIVATE KEY") {
				t.Errorf("%s %s carries a private key", res.Type, res.Name)
			}
		}
	})
}

// TestUploadsFromAnywhere: prod accelerates uploads of originals and says where to upload
// (mediaUploadEndpoint); browsers' multipart uploads can read each part's ETag and checksums
// (CORS), and unfinished uploads are aborted by lifecycle in every stack.
func TestUploadsFromAnywhere(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		accel := r.ByType("aws:s3/bucketAccelerateConfigurationV2:BucketAccelerateConfigurationV2")
		if want := r.Stack == "prod"; (len(accel) == 1) != want || (want && (accel[0].InputString("status") != "Enabled" ||
			!r.Preview && accel[0].InputString("bucket") != mediaBucket(t, r, "media").InputString("bucket"))) {
			t.Errorf("transfer acceleration %v, want %v", accel, want)
		}
		if e := r.Exports["mediaUploadEndpoint"]; !r.Preview && (!e.Known || strings.Contains(fmt.Sprint(e.Value), "s3-accelerate") != (r.Stack == "prod")) {
			t.Errorf("mediaUploadEndpoint %v", e.Value)
		}
		for _, c := range r.ByType("aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2") {
			exposed := fmt.Sprint(c.Input("corsRules"))
			for _, h := range []string{"ETag", "x-amz-checksum-crc32", "x-amz-checksum-sha256", "x-amz-version-id"} {
				if !strings.Contains(exposed, h) {
					t.Errorf("CORS does not expose %s: %s", h, exposed)
				}
			}
		}
		lc := r.ByType("aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
		for _, l := range lc {
			if !strings.Contains(fmt.Sprint(l.Input("rules")), "abortIncompleteMultipartUpload") {
				t.Errorf("%s: unfinished multipart uploads are never aborted", l.Name)
			}
		}
	})
}
