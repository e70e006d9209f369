package kmskey

import (
	"fmt"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
)

// DNSSECRegion is the only region Route 53 takes a key-signing key's KMS key from.
const DNSSECRegion = "us-east-1"

// Route53DNSSECStatements are the key policy statements Route 53's DNSSEC service needs on a
// key-signing key's KMS key (an ECC_NIST_P256 signing key in DNSSECRegion), for hosted zones of this account only
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-configuring-dnssec-cmk-requirements.html).
func Route53DNSSECStatements(accountID, partition string) []iampolicy.Statement {
	dnssec := []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("dnssec-route53.amazonaws.com")}}
	return []iampolicy.Statement{{
		Sid:        "Route53DNSSECSignsThisAccountsZones",
		Actions:    []string{"kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"},
		Resources:  iampolicy.Strings("*"),
		Principals: dnssec,
		Conditions: []iampolicy.Condition{
			{Test: "StringEquals", Variable: "aws:SourceAccount", Values: iampolicy.Strings(accountID)},
			{Test: "ArnLike", Variable: "aws:SourceArn", Values: iampolicy.Strings(fmt.Sprintf("arn:%s:route53:::hostedzone/*", partition))},
		},
	}, {
		Sid:        "Route53DNSSECGrantsForAWSResources",
		Actions:    []string{"kms:CreateGrant"},
		Resources:  iampolicy.Strings("*"),
		Principals: dnssec,
		Conditions: []iampolicy.Condition{{Test: "Bool", Variable: "kms:GrantIsForAWSResource", Values: iampolicy.Strings("true")}},
	}}
}
