package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/servicequotas"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Quota increases: what the account's stack needs beyond a new account's defaults (the main
// project's `plan --stack <stack> --quotas` marks them RAISE), requested once per account so
// the first `pulumi up` does not find the shortfall halfway. A request above the account's
// value opens a Service Quotas increase request; AWS may take hours or days to grant it, and
// scripts/check-quotas.sh stops a deploy until it has ("Requesting a quota increase", Service
// Quotas User Guide).

// quotaKey is "<service code>/<quota code>", e.g. "ec2/L-1216C47A".
var quotaKey = regexp.MustCompile(`^([a-z0-9-]{2,32})/(L-[0-9A-F]{8})$`)

func init() {
	keys["quotaIncreases"] = "{}"
	keys["spotServiceLinkedRole"] = "true"
}

// SpotServiceName is the service whose service-linked role (AWSServiceRoleForEC2Spot) lets EC2
// launch Spot Instances for the account. EC2 creates it on a first Spot request only when the
// caller may create service-linked roles; Karpenter's controller may not (least privilege), so
// the account's first Spot launch would fail without it ("Service-linked role for Spot Instance
// requests", Amazon EC2 User Guide; Karpenter's getting-started creates it for that reason).
// An account that already has it (any earlier Spot use) sets spotServiceLinkedRole false:
// scripts/bootstrap-preflight.sh says so.
const SpotServiceName = "spot.amazonaws.com"

// newSpotServiceLinkedRole creates the account's Spot service-linked role.
func newSpotServiceLinkedRole(ctx *pulumi.Context, opts ...pulumi.ResourceOption) error {
	_, err := iam.NewServiceLinkedRole(ctx, "spot-service-linked-role", &iam.ServiceLinkedRoleArgs{
		AwsServiceName: pulumi.String(SpotServiceName),
		Description:    pulumi.String("EC2 Spot Instances launched by Karpenter for the CineGit stack's media pools"),
	}, opts...)
	return err
}

// parseQuotaIncreases reads quotaIncreases with ParseConfig's get and reports with its bad.
func parseQuotaIncreases(get func(string) string, bad func(key, format string, a ...any)) map[string]float64 {
	out := map[string]float64{}
	if err := json.Unmarshal([]byte(get("quotaIncreases")), &out); err != nil {
		bad(Project+":quotaIncreases", "must map \"<service>/<quota code>\" to a value, e.g. {\"ec2/L-1216C47A\": 256} (%v)", err)
	}
	for k, v := range out {
		if !quotaKey.MatchString(k) || v <= 0 {
			bad(Project+":quotaIncreases", "%q: %g must be a Service Quotas service and quota code (ec2/L-1216C47A) and a positive value", k, v)
		}
	}
	return out
}

// requestQuotaIncreases asks Service Quotas for each value, in the provider's region.
func requestQuotaIncreases(ctx *pulumi.Context, increases map[string]float64, opts ...pulumi.ResourceOption) error {
	names := make([]string, 0, len(increases))
	for k := range increases {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		service, code, _ := strings.Cut(k, "/")
		if _, err := servicequotas.NewServiceQuota(ctx, "quota-"+service+"-"+code, &servicequotas.ServiceQuotaArgs{
			ServiceCode: pulumi.String(service),
			QuotaCode:   pulumi.String(code),
			Value:       pulumi.Float64(increases[k]),
		}, opts...); err != nil {
			return fmt.Errorf("quota %s: %w", k, err)
		}
	}
	return nil
}
