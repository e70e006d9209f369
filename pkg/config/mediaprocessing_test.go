package config

import (
	"testing"
)

func TestMediaProcessingDefaults(t *testing.T) {
	c, err := Parse("dev", base())
	if err != nil {
		t.Fatal(err)
	}
	m := c.MediaProcessing
	if m.Architecture != "x86_64" || m.MemoryMB != 3008 || m.EphemeralStorageMB != 10240 || m.TimeoutSeconds != 900 ||
		m.MaximumConcurrency != 2 || m.ReservedConcurrency != nil || m.AccountConcurrencyQuota != 0 || m.BatchSize != 1 || m.MaxBatchingWindowSeconds != 0 || m.MaxReceiveCount != 3 {
		t.Errorf("function defaults: %+v", m)
	}
	if m.MessageRetentionDays != 4 || m.DeadLetterRetentionDays != 14 || m.LogRetentionDays != 30 || m.ImagesToKeep != 10 ||
		m.EcrForceDelete || m.ScratchTransitionToIA != "AFTER_7_DAYS" || m.ImageTag != "" {
		t.Errorf("queue, log and image defaults: %+v", m)
	}
	if a := m.Alarms; a.Email != "" || a.OldestMessageAgeSeconds != 3600 || a.ErrorThreshold != 1 || a.ThrottleThreshold != 1 {
		t.Errorf("alarm defaults: %+v", a)
	}
	if j := m.Jobs; j.DefaultCPU != "2" || j.DefaultMemory != "4Gi" || j.MaxCPU != "7" || j.MaxMemory != "12Gi" ||
		j.MaxEphemeralStorage != "150Gi" || j.QuotaCPU != "16" || j.QuotaMemory != "48Gi" || j.QuotaPods != 4 {
		t.Errorf("jobs defaults: %+v", j)
	}
}

func TestValidMediaProcessingConfigurations(t *testing.T) {
	tests := []struct {
		name, stack, section string
	}{
		{"Lambda's largest function", "dev", `{"imageTag":"ffmpeg-2026.11.1","memoryMb":10240,"ephemeralStorageMb":10240,"timeoutSeconds":900,"architecture":"arm64"}`},
		{"Lambda's smallest function", "dev", `{"memoryMb":128,"ephemeralStorageMb":512,"timeoutSeconds":1,"alarms":{"oldestMessageAgeSeconds":60}}`},
		{"dev may force-delete its repository", "dev", `{"ecrForceDelete":true}`},
		{"prod sized for the SLA", "prod", `{"imageTag":"ffmpeg-2026.11.1","memoryMb":10240,"maximumConcurrency":50,"alarms":{"email":"media-oncall@cinegit.io"}}`},
		{"first deployment: no image tag yet", "prod", `{"maximumConcurrency":50}`},
		{"mapping at Lambda's widest", "dev", `{"maximumConcurrency":1000}`},
		{"mapping within a new account's quota", "dev", `{"maximumConcurrency":10,"accountConcurrencyQuota":10}`},
		{"reservation on a raised quota", "prod", `{"maximumConcurrency":50,"reservedConcurrency":50,"accountConcurrencyQuota":1000}`},
		{"reservation leaving exactly 100 unreserved", "dev", `{"maximumConcurrency":2,"reservedConcurrency":900,"accountConcurrencyQuota":1000}`},
		{"milli-CPU and decimal quantities", "dev", `{"jobs":{"defaultCpu":"500m","maxCpu":"1.5","quotaCpu":"2","defaultMemory":"512Mi","maxMemory":"1G","quotaMemory":"8Gi"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := with("cinegit:mediaProcessing", tt.section)
			if tt.stack == "prod" {
				raw = prodWith("cinegit:mediaProcessing", tt.section)
			}
			if _, err := Parse(tt.stack, raw); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestInvalidMediaProcessingConfigurationsNameTheKey(t *testing.T) {
	tests := []struct {
		name, stack, section string
		key                  string // the key path the error must name
		allowed              string // a fragment of what is allowed
	}{
		{"memory above Lambda's limit", "dev", `{"memoryMb":10241}`, "memoryMb", "128 to 10240"},
		{"memory below Lambda's limit", "dev", `{"memoryMb":64}`, "memoryMb", "128 to 10240"},
		{"ephemeral storage above Lambda's limit", "dev", `{"ephemeralStorageMb":20480}`, "ephemeralStorageMb", "512 to 10240"},
		{"ephemeral storage below Lambda's limit", "dev", `{"ephemeralStorageMb":256}`, "ephemeralStorageMb", "512 to 10240"},
		{"timeout beyond 15 minutes", "dev", `{"timeoutSeconds":901}`, "timeoutSeconds", "1 to 900"},
		{"negative timeout", "dev", `{"timeoutSeconds":-1}`, "timeoutSeconds", "1 to 900"},
		{"unknown architecture", "dev", `{"architecture":"aarch64"}`, "architecture", "x86_64, arm64"},
		{"mutable-looking tag", "dev", `{"imageTag":"latest"}`, "imageTag", "versioned tag"},
		{"tag ECR rejects", "dev", `{"imageTag":"-ffmpeg"}`, "imageTag", "ECR image tag"},
		{"mapping below Lambda's minimum", "dev", `{"maximumConcurrency":1}`, "maximumConcurrency", "2 to 1000"},
		{"mapping above Lambda's maximum", "dev", `{"maximumConcurrency":1001}`, "maximumConcurrency", "2 to 1000"},
		{"mapping wider than the account's quota", "dev", `{"maximumConcurrency":50,"accountConcurrencyQuota":10}`, "maximumConcurrency", "at most accountConcurrencyQuota (10)"},
		{"reservation without the quota it comes from", "dev", `{"reservedConcurrency":2}`, "reservedConcurrency", "set together with accountConcurrencyQuota"},
		{"reservation on a new account's quota", "dev", `{"reservedConcurrency":2,"accountConcurrencyQuota":10}`, "reservedConcurrency", "Lambda keeps 100 unreserved"},
		{"reservation taking the account's unreserved pool", "prod", `{"maximumConcurrency":50,"reservedConcurrency":950,"accountConcurrencyQuota":1000}`, "reservedConcurrency", "at most accountConcurrencyQuota - 100 = 900"},
		{"reservation below the mapping's cap", "prod", `{"maximumConcurrency":50,"reservedConcurrency":10,"accountConcurrencyQuota":1000}`, "reservedConcurrency", "at least maximumConcurrency (50)"},
		{"negative quota", "dev", `{"accountConcurrencyQuota":-1}`, "accountConcurrencyQuota", "L-B99A9384"},
		{"batch too large", "dev", `{"batchSize":11}`, "batchSize", "1 to 10"},
		{"batching window too long", "dev", `{"maxBatchingWindowSeconds":301}`, "maxBatchingWindowSeconds", "0 to 300"},
		{"no retries at all", "dev", `{"maxReceiveCount":-3}`, "maxReceiveCount", "1 to 1000"},
		{"retention beyond SQS's limit", "dev", `{"messageRetentionDays":15}`, "messageRetentionDays", "1 to 14"},
		{"dead letters expire before the source's", "dev", `{"messageRetentionDays":7,"deadLetterRetentionDays":7}`, "deadLetterRetentionDays", "more than messageRetentionDays"},
		{"log retention CloudWatch rejects", "dev", `{"logRetentionDays":10}`, "logRetentionDays", "retention values"},
		{"no images kept", "dev", `{"imagesToKeep":-1}`, "imagesToKeep", "1 to 1000"},
		{"force delete in prod", "prod", `{"ecrForceDelete":true}`, "ecrForceDelete", "false for stack \"prod\""},
		{"EFS transition EFS rejects", "dev", `{"scratchTransitionToIa":"AFTER_2_DAYS"}`, "scratchTransitionToIa", "AFTER_7_DAYS"},
		{"malformed alarm email", "dev", `{"alarms":{"email":"oncall"}}`, "alarms.email", "an email address"},
		{"queue age alarm within a function run", "dev", `{"timeoutSeconds":900,"alarms":{"oldestMessageAgeSeconds":600}}`, "alarms.oldestMessageAgeSeconds", "more than mediaProcessing.timeoutSeconds"},
		{"queue age alarm beyond retention", "dev", `{"alarms":{"oldestMessageAgeSeconds":2000000}}`, "alarms.oldestMessageAgeSeconds", "at most 1209600"},
		{"error alarm that never fires", "dev", `{"alarms":{"errorThreshold":-1}}`, "alarms.errorThreshold", "at least 1"},
		{"throttle alarm that never fires", "dev", `{"alarms":{"throttleThreshold":-2}}`, "alarms.throttleThreshold", "at least 1"},
		{"quantity Kubernetes rejects", "dev", `{"jobs":{"maxMemory":"12GB"}}`, "jobs.maxMemory", "Kubernetes quantity"},
		{"default above the maximum", "dev", `{"jobs":{"defaultCpu":"8","maxCpu":"4"}}`, "jobs.defaultCpu", "at most maxCpu"},
		{"one container above the quota", "dev", `{"jobs":{"maxMemory":"64Gi","quotaMemory":"32Gi"}}`, "jobs.maxMemory", "at most quotaMemory"},
		{"no pods allowed", "dev", `{"jobs":{"quotaPods":-1}}`, "jobs.quotaPods", "1 to 1000"},
		{"unknown field", "dev", `{"memory":3008}`, "memory", "unknown field"},
		{"wrong type", "dev", `{"memoryMb":"3008"}`, "memoryMb", "type int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := with("cinegit:mediaProcessing", tt.section)
			switch tt.stack {
			case "prod":
				raw = prodWith("cinegit:mediaProcessing", tt.section)
			case "staging":
				raw = with("cinegit:network", threeAZs, "cinegit:mediaProcessing", tt.section)
			}
			_, err := Parse(tt.stack, raw)
			want := "cinegit:mediaProcessing." + tt.key
			expectProblem(t, err, want, tt.allowed)
		})
	}
}

func TestParseQuantity(t *testing.T) {
	for q, want := range map[string]float64{"2": 2, "500m": 0.5, "1.5": 1.5, "4Gi": 4 << 30, "1G": 1e9, "512Mi": 512 << 20} {
		if got, ok := parseQuantity(q); !ok || got != want {
			t.Errorf("parseQuantity(%q) = %v, %v; want %v", q, got, ok, want)
		}
	}
	for _, q := range []string{"", "4GB", "-1", "1e3", "Gi", "2 Gi"} {
		if _, ok := parseQuantity(q); ok {
			t.Errorf("parseQuantity(%q) accepted a non-quantity", q)
		}
	}
}
