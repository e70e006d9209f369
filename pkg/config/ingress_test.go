package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestIngressDefaultsFollowTheStack(t *testing.T) {
	for _, tc := range []struct {
		stack    string
		raw      map[string]string
		replicas int
	}{
		{"dev", base(), 1},
		{"prod", prodWith(), 2},
	} {
		c, err := Parse(tc.stack, tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		in := c.Ingress
		if in.Controller.Replicas != tc.replicas || in.GroupName != "cinegit-"+tc.stack || in.IngressClass != "alb" ||
			in.Controller.ChartVersion != "3.5.0" || in.ExternalDNS.ChartVersion != "1.21.1" || in.ExternalDNS.Policy != "sync" ||
			in.WAFMode != WAFBlock || !reflect.DeepEqual(in.NetworkPolicy.ServicePorts, []int{8080}) {
			t.Errorf("%s: %+v", tc.stack, in)
		}
	}
}

func TestInvalidIngressConfigurationsNameTheKey(t *testing.T) {
	tests := []struct {
		name, stack, ingress, key, allowed string
	}{
		{"chart range", "dev", `{"controller":{"chartVersion":"3.x"}}`, "cinegit:ingress.controller.chartVersion", "exact chart version"},
		{"no replicas", "dev", `{"controller":{"replicas":5}}`, "cinegit:ingress.controller.replicas", "1 to 3"},
		{"one controller in prod", "prod", `{"controller":{"replicas":1}}`, "cinegit:ingress.controller.replicas", "at least 2"},
		{"unknown ExternalDNS policy", "dev", `{"externalDns":{"policy":"create-only"}}`, "cinegit:ingress.externalDns.policy", `"sync" or "upsert-only"`},
		{"counting WAF in prod", "prod", `{"wafMode":"count"}`, "cinegit:ingress.wafMode", "count mode lets attacks through"},
		{"rate limit too low", "dev", `{"rateLimit":5}`, "cinegit:ingress.rateLimit", "10 to"},
		{"odd window", "dev", `{"rateLimitWindowSeconds":30}`, "cinegit:ingress.rateLimitWindowSeconds", "60, 120, 300 or 600"},
		{"retention CloudWatch refuses", "dev", `{"wafLogRetentionDays":10}`, "cinegit:ingress.wafLogRetentionDays", "retention values"},
		{"group with capitals", "dev", `{"groupName":"CineGit"}`, "cinegit:ingress.groupName", "DNS label"},
		{"logs prefix with AWSLogs", "dev", `{"accessLogsPrefix":"alb/AWSLogs"}`, "cinegit:ingress.accessLogsPrefix", "without AWSLogs"},
		{"port 0", "dev", `{"networkPolicy":{"servicePorts":[0]}}`, "cinegit:ingress.networkPolicy.servicePorts[0]", "1 to 65535"},
		{"bad namespace", "dev", `{"namespace":"Ingress"}`, "cinegit:ingress.namespace", ""},
		{"CPU limit below request", "dev", `{"externalDns":{"resources":{"requests":{"cpu":"500m"},"limits":{"cpu":"100m"}}}}`, "cinegit:ingress.externalDns.resources", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := with("cinegit:ingress", tt.ingress)
			if tt.stack == "prod" {
				raw = prodWith("cinegit:ingress", tt.ingress)
			}
			_, err := Parse(tt.stack, raw)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("want a validation error, got %v", err)
			}
			for _, p := range verr.Problems {
				if strings.HasPrefix(p.Key, tt.key) && strings.Contains(p.Allowed, tt.allowed) {
					return
				}
			}
			t.Fatalf("no problem names %s with %q; got:\n%v", tt.key, tt.allowed, err)
		})
	}
}
