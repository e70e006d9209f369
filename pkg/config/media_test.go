package config

import (
	"testing"
)

func TestMediaDefaults(t *testing.T) {
	c, err := Parse("dev", base())
	if err != nil {
		t.Fatal(err)
	}
	m := c.Media
	if m.AbortIncompleteUploadDays != 7 || m.NoncurrentVersionExpirationDays != 30 || m.DerivedNoncurrentVersionExpirationDays != 7 ||
		m.LogsExpirationDays != 90 || m.OriginalsPrefix != "originals/" || *m.ProxiesOneZoneIADays != 30 || m.ForceDestroy {
		t.Fatalf("defaults not applied: %+v", m)
	}
	if len(m.OriginalsTransitions) != 2 || m.OriginalsTransitions[0].StorageClass != "STANDARD_IA" || m.OriginalsTransitions[1].Days != 90 {
		t.Fatalf("default transitions: %+v", m.OriginalsTransitions)
	}
}

func TestValidMediaConfigurations(t *testing.T) {
	tests := []struct {
		name  string
		stack string
		media string
		check func(t *testing.T, m MediaConfig)
	}{
		{"dev may force destroy", "dev", `{"forceDestroy":true}`, func(t *testing.T, m MediaConfig) {
			if !m.ForceDestroy {
				t.Fatal("forceDestroy not read")
			}
		}},
		{"https origins with port and wildcard label", "dev", `{"corsOrigins":["https://app.cinegit.io","https://localhost:5173","https://*.preview.cinegit.io"]}`, func(t *testing.T, m MediaConfig) {
			if len(m.CORSOrigins) != 3 {
				t.Fatalf("origins: %v", m.CORSOrigins)
			}
		}},
		{"a full waterfall to deep archive", "dev", `{"originalsTransitions":[{"days":30,"storageClass":"STANDARD_IA"},{"days":60,"storageClass":"GLACIER_IR"},{"days":180,"storageClass":"DEEP_ARCHIVE"}]}`, func(t *testing.T, m MediaConfig) {
			if len(m.OriginalsTransitions) != 3 {
				t.Fatalf("transitions: %+v", m.OriginalsTransitions)
			}
		}},
		{"glacier from day one", "dev", `{"originalsTransitions":[{"days":1,"storageClass":"GLACIER_IR"}]}`, func(*testing.T, MediaConfig) {}},
		{"no transitions at all", "dev", `{"originalsTransitions":[]}`, func(t *testing.T, m MediaConfig) {
			if len(m.OriginalsTransitions) != 0 {
				t.Fatalf("an explicit empty list must stay empty: %+v", m.OriginalsTransitions)
			}
		}},
		{"proxies may stay in standard", "dev", `{"proxiesOneZoneIaDays":0}`, func(t *testing.T, m MediaConfig) {
			if *m.ProxiesOneZoneIADays != 0 {
				t.Fatalf("0 must switch the transition off, got %d", *m.ProxiesOneZoneIADays)
			}
		}},
		{"prod with long retention", "prod", `{"noncurrentVersionExpirationDays":365,"derivedNoncurrentVersionExpirationDays":30,"logsExpirationDays":730}`, func(t *testing.T, m MediaConfig) {
			if m.LogsExpirationDays != 730 {
				t.Fatalf("logs: %d", m.LogsExpirationDays)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := with("cinegit:media", tt.media)
			if tt.stack == "prod" {
				raw = with("cinegit:media", tt.media, "cinegit:protect", "true", "cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`)
			}
			c, err := Parse(tt.stack, raw)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c.Media)
		})
	}
}

func TestInvalidMediaConfigurationsNameTheKey(t *testing.T) {
	tests := []struct {
		name, stack, media string
		key, allowed       string
	}{
		{"force destroy in prod", "prod", `{"forceDestroy":true}`, "cinegit:media.forceDestroy", "false for stack \"prod\""},
		{"http origin", "dev", `{"corsOrigins":["http://app.cinegit.io"]}`, "cinegit:media.corsOrigins[0]", "https origin"},
		{"origin with a path", "dev", `{"corsOrigins":["https://app.cinegit.io/upload"]}`, "cinegit:media.corsOrigins[0]", "no path"},
		{"origin with a trailing slash", "dev", `{"corsOrigins":["https://app.cinegit.io/"]}`, "cinegit:media.corsOrigins[0]", "trailing slash"},
		{"any origin", "dev", `{"corsOrigins":["*"]}`, "cinegit:media.corsOrigins[0]", "https origin"},
		{"not a URL", "dev", `{"corsOrigins":["app.cinegit.io"]}`, "cinegit:media.corsOrigins[0]", "https origin"},
		{"duplicate origin", "dev", `{"corsOrigins":["https://a.cinegit.io","https://A.cinegit.io"]}`, "cinegit:media.corsOrigins[1]", "duplicate"},
		{"abort after more than a week", "dev", `{"abortIncompleteUploadDays":8}`, "cinegit:media.abortIncompleteUploadDays", "1 to 7"},
		{"abort never", "dev", `{"abortIncompleteUploadDays":-1}`, "cinegit:media.abortIncompleteUploadDays", "1 to 7"},
		{"negative noncurrent expiry", "dev", `{"noncurrentVersionExpirationDays":-5}`, "cinegit:media.noncurrentVersionExpirationDays", "positive"},
		{"derived kept longer than originals", "dev", `{"noncurrentVersionExpirationDays":10,"derivedNoncurrentVersionExpirationDays":20}`, "cinegit:media.derivedNoncurrentVersionExpirationDays", "at most media.noncurrentVersionExpirationDays (10)"},
		{"negative derived expiry", "dev", `{"derivedNoncurrentVersionExpirationDays":-1}`, "cinegit:media.derivedNoncurrentVersionExpirationDays", "positive"},
		{"unknown storage class", "dev", `{"originalsTransitions":[{"days":30,"storageClass":"COLD"}]}`, "cinegit:media.originalsTransitions[0].storageClass", "one of STANDARD_IA"},
		{"zero-day transition", "dev", `{"originalsTransitions":[{"days":0,"storageClass":"GLACIER"}]}`, "cinegit:media.originalsTransitions[0].days", "positive"},
		{"infrequent access too early", "dev", `{"originalsTransitions":[{"days":7,"storageClass":"STANDARD_IA"}]}`, "cinegit:media.originalsTransitions[0].days", "at least 30 days for STANDARD_IA"},
		{"days not increasing", "dev", `{"originalsTransitions":[{"days":90,"storageClass":"GLACIER_IR"},{"days":60,"storageClass":"DEEP_ARCHIVE"}]}`, "cinegit:media.originalsTransitions[1].days", "more days than the previous"},
		{"warmer class after colder", "dev", `{"originalsTransitions":[{"days":30,"storageClass":"GLACIER"},{"days":90,"storageClass":"STANDARD_IA"}]}`, "cinegit:media.originalsTransitions[1].storageClass", "a colder class than GLACIER"},
		{"leaving infrequent access too soon", "dev", `{"originalsTransitions":[{"days":30,"storageClass":"STANDARD_IA"},{"days":45,"storageClass":"GLACIER_IR"}]}`, "cinegit:media.originalsTransitions[1].days", "at least 60"},
		{"originals prefix with leading slash", "dev", `{"originalsPrefix":"/originals/"}`, "cinegit:media.originalsPrefix", "ending in a slash"},
		{"originals prefix without trailing slash", "dev", `{"originalsPrefix":"originals"}`, "cinegit:media.originalsPrefix", "ending in a slash"},
		{"proxies to one zone too early", "dev", `{"proxiesOneZoneIaDays":10}`, "cinegit:media.proxiesOneZoneIaDays", "at least 30"},
		{"logs never expire", "dev", `{"logsExpirationDays":-1}`, "cinegit:media.logsExpirationDays", "positive"},
		{"unknown field", "dev", `{"forceDestory":true}`, "cinegit:media.forceDestory", "unknown field"},
		{"wrong type", "dev", `{"corsOrigins":"https://app.cinegit.io"}`, "cinegit:media.corsOrigins", "type []string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := with("cinegit:media", tt.media)
			if tt.stack != "dev" {
				raw = with("cinegit:media", tt.media, "cinegit:protect", "true",
					"cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`)
			}
			expectParseProblem(t, tt.stack, raw, tt.key, tt.allowed)
		})
	}
}
