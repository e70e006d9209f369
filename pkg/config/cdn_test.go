package config

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
)

// Test keys are generated per run: no key material, not even a throwaway one, is committed.
var (
	testKeysOnce sync.Once
	testKeys     map[string]string
)

func testPEM(t *testing.T, kind string) string {
	t.Helper()
	testKeysOnce.Do(func() {
		testKeys = map[string]string{}
		pub := func(k any) string {
			der, err := x509.MarshalPKIXPublicKey(k)
			if err != nil {
				panic(err)
			}
			return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		}
		rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
		rsa2048b, _ := rsa.GenerateKey(rand.Reader, 2048)
		rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
		p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		edPub, _, _ := ed25519.GenerateKey(rand.Reader)
		privDER, _ := x509.MarshalPKCS8PrivateKey(p256)
		testKeys["rsa2048"] = pub(&rsa2048.PublicKey)
		testKeys["rsa2048b"] = pub(&rsa2048b.PublicKey)
		testKeys["rsa1024"] = pub(&rsa1024.PublicKey)
		testKeys["p256"] = pub(&p256.PublicKey)
		testKeys["p384"] = pub(&p384.PublicKey)
		testKeys["ed25519"] = pub(edPub)
		testKeys["private"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
		testKeys["certificate"] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}))
		testKeys["two"] = testKeys["rsa2048"] + testKeys["p256"]
	})
	return testKeys[kind]
}

// cdnSection renders a cdn section with one valid key, plus the given fields.
func cdnSection(t *testing.T, fields map[string]any) string {
	t.Helper()
	section := map[string]any{"publicKeys": []map[string]string{{"name": "k1", "pem": testPEM(t, "rsa2048")}}}
	for k, v := range fields {
		section[k] = v
	}
	b, err := json.Marshal(section)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keys(t *testing.T, kinds ...string) []map[string]string {
	var out []map[string]string
	for i, k := range kinds {
		out = append(out, map[string]string{"name": "k" + string(rune('a'+i)), "pem": testPEM(t, k)})
	}
	return out
}

func TestCDNDefaults(t *testing.T) {
	c, err := Parse("dev", with("cinegit:cdn", cdnSection(t, nil)))
	if err != nil {
		t.Fatal(err)
	}
	d := c.CDN
	if d.PriceClass != "PriceClass_100" || d.WAFMode != WAFBlock || d.RateLimit != 2000 || d.RateLimitWindowSeconds != 300 ||
		d.LogRetentionDays != 30 || *d.SigningKeyRecoveryWindowDays != 30 {
		t.Fatalf("defaults not applied: %+v", d)
	}
	if !strings.HasSuffix(d.PublicKeys[0].PEM, "-----END PUBLIC KEY-----\n") {
		t.Fatalf("PEM not normalised to end with one newline: %q", d.PublicKeys[0].PEM)
	}
}

func TestValidCDNConfigurations(t *testing.T) {
	tests := []struct {
		name   string
		stack  string
		fields map[string]any
	}{
		{"no cdn section at all still parses", "dev", nil},
		{"ECDSA P-256 and RSA-2048 keys side by side during a rotation", "dev", map[string]any{"publicKeys": keys(t, "rsa2048", "p256")}},
		{"three keys", "dev", map[string]any{"publicKeys": []map[string]string{
			{"name": "a", "pem": testPEM(t, "rsa2048")}, {"name": "b", "pem": testPEM(t, "p256")}, {"name": "c", "pem": testPEM(t, "rsa2048b")},
		}}},
		{"dev counts", "dev", map[string]any{"wafMode": "count", "signingKeyRecoveryWindowDays": 0}},
		{"custom domain with a us-east-1 certificate", "dev", map[string]any{
			"customDomain":   "media.cinegit.io",
			"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		}},
		{"public thumbnails", "dev", map[string]any{"publicThumbnailPaths": []string{"thumbnails/public/*", "/thumbnails/posters/*.jpg"}}},
		{"prod shape", "prod", map[string]any{"priceClass": "PriceClass_All", "rateLimit": 5000, "rateLimitWindowSeconds": 60, "logRetentionDays": 365, "allowedOrigins": []string{"https://app.cinegit.io"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := base()
			if tt.fields != nil {
				raw = with("cinegit:cdn", cdnSection(t, tt.fields))
			}
			if tt.stack == "prod" {
				raw["cinegit:protect"] = "true"
				raw["cinegit:network"] = `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`
			}
			if _, err := Parse(tt.stack, raw); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestInvalidCDNConfigurationsNameTheKey(t *testing.T) {
	six := keys(t, "rsa2048", "p256", "rsa2048b")
	six = append(six, six...)
	for i := range six {
		six[i] = map[string]string{"name": "k" + string(rune('a'+i)), "pem": six[i]["pem"]}
	}
	tests := []struct {
		name    string
		stack   string
		fields  map[string]any
		key     string
		allowed string
	}{
		{"unknown price class", "dev", map[string]any{"priceClass": "PriceClass_50"}, "cinegit:cdn.priceClass", "one of PriceClass_100"},
		{"unknown WAF mode", "dev", map[string]any{"wafMode": "off"}, "cinegit:cdn.wafMode", `"block" or "count"`},
		{"count mode in prod", "prod", map[string]any{"wafMode": "count"}, "cinegit:cdn.wafMode", "count mode lets attacks through"},
		{"rate limit below WAF's minimum", "dev", map[string]any{"rateLimit": 5}, "cinegit:cdn.rateLimit", "10 to"},
		{"rate window not offered", "dev", map[string]any{"rateLimitWindowSeconds": 30}, "cinegit:cdn.rateLimitWindowSeconds", "60, 120, 300 or 600"},
		{"RSA-1024 key", "dev", map[string]any{"publicKeys": keys(t, "rsa1024")}, "cinegit:cdn.publicKeys[0].pem", "not RSA-1024"},
		{"ECDSA P-384 key", "dev", map[string]any{"publicKeys": keys(t, "p384")}, "cinegit:cdn.publicKeys[0].pem", "not ECDSA P-384"},
		{"Ed25519 key", "dev", map[string]any{"publicKeys": keys(t, "ed25519")}, "cinegit:cdn.publicKeys[0].pem", "RSA-2048 or ECDSA P-256"},
		{"a private key pasted", "dev", map[string]any{"publicKeys": keys(t, "private")}, "cinegit:cdn.publicKeys[0].pem", "must never be in config"},
		{"a certificate instead of a key", "dev", map[string]any{"publicKeys": keys(t, "certificate")}, "cinegit:cdn.publicKeys[0].pem", `not "CERTIFICATE"`},
		{"two keys in one PEM", "dev", map[string]any{"publicKeys": keys(t, "two")}, "cinegit:cdn.publicKeys[0].pem", "exactly one PEM block"},
		{"not PEM at all", "dev", map[string]any{"publicKeys": []map[string]string{{"name": "k", "pem": "ssh-rsa AAAA"}}}, "cinegit:cdn.publicKeys[0].pem", "a PEM block"},
		{"the same key twice", "dev", map[string]any{"publicKeys": []map[string]string{{"name": "a", "pem": testPEM(t, "p256")}, {"name": "b", "pem": testPEM(t, "p256")}}}, "cinegit:cdn.publicKeys[1].pem", "duplicate"},
		{"the same name twice", "dev", map[string]any{"publicKeys": []map[string]string{{"name": "a", "pem": testPEM(t, "p256")}, {"name": "a", "pem": testPEM(t, "rsa2048")}}}, "cinegit:cdn.publicKeys[1].name", "duplicate"},
		{"key name with spaces", "dev", map[string]any{"publicKeys": []map[string]string{{"name": "my key", "pem": testPEM(t, "p256")}}}, "cinegit:cdn.publicKeys[0].name", "letters, digits"},
		{"more keys than a key group holds", "dev", map[string]any{"publicKeys": six}, "cinegit:cdn.publicKeys", "at most 5"},
		{"domain without certificate", "dev", map[string]any{"customDomain": "media.cinegit.io"}, "cinegit:cdn.certificateArn", "us-east-1 for media.cinegit.io"},
		{"certificate without domain", "dev", map[string]any{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, "cinegit:cdn.customDomain", "only used with a custom domain"},
		{"certificate in another region", "dev", map[string]any{"customDomain": "media.cinegit.io", "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, "cinegit:cdn.certificateArn", "not eu-west-1"},
		{"not a certificate ARN", "dev", map[string]any{"customDomain": "media.cinegit.io", "certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}, "cinegit:cdn.certificateArn", "ACM certificate ARN"},
		{"domain that is a URL", "dev", map[string]any{"customDomain": "https://media.cinegit.io", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, "cinegit:cdn.customDomain", "host name"},
		{"all thumbnails public", "dev", map[string]any{"publicThumbnailPaths": []string{"thumbnails/*"}}, "cinegit:cdn.publicThumbnailPaths[0]", "narrower than thumbnails/*"},
		{"public path outside thumbnails", "dev", map[string]any{"publicThumbnailPaths": []string{"proxies/*"}}, "cinegit:cdn.publicThumbnailPaths[0]", "under thumbnails/"},
		{"public path with bad characters", "dev", map[string]any{"publicThumbnailPaths": []string{"thumbnails/a b/*"}}, "cinegit:cdn.publicThumbnailPaths[0]", "path pattern"},
		{"http allowed origin", "dev", map[string]any{"allowedOrigins": []string{"http://app.cinegit.io"}}, "cinegit:cdn.allowedOrigins[0]", "https origin"},
		{"log retention CloudWatch lacks", "dev", map[string]any{"logRetentionDays": 45}, "cinegit:cdn.logRetentionDays", "retention values"},
		{"recovery window out of range", "dev", map[string]any{"signingKeyRecoveryWindowDays": 3}, "cinegit:cdn.signingKeyRecoveryWindowDays", "0 or 7 to 30"},
		{"immediate secret deletion in prod", "prod", map[string]any{"signingKeyRecoveryWindowDays": 0}, "cinegit:cdn.signingKeyRecoveryWindowDays", "must be recoverable"},
		{"unknown field", "dev", map[string]any{"priceTier": "PriceClass_All"}, "cinegit:cdn.priceTier", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := with("cinegit:cdn", cdnSection(t, tt.fields))
			if tt.stack != "dev" {
				raw["cinegit:protect"] = "true"
				raw["cinegit:network"] = `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`
			}
			expectParseProblem(t, tt.stack, raw, tt.key, tt.allowed)
		})
	}
}

func TestPrivateKeysNeverReachErrorMessages(t *testing.T) {
	_, err := Parse("dev", with("cinegit:cdn", cdnSection(t, map[string]any{"publicKeys": keys(t, "private")})))
	if err == nil || strings.Contains(err.Error(), "MI") {
		t.Fatalf("the error must not quote the private key: %v", err)
	}
}
