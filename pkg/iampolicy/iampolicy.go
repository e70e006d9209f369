// Package iampolicy builds IAM policy documents from typed statements whose resources,
// principals and condition values may be Pulumi outputs (ARNs of resources being created).
// Documents are rendered with sorted keys, so the same statements always give the same JSON.
package iampolicy

import (
	"encoding/json"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Version is the IAM policy language version.
const Version = "2012-10-17"

// Condition is one condition operator, key and values: {Test: "StringEquals", Variable:
// "aws:SourceArn", Values: ...}.
type Condition struct {
	Test     string
	Variable string
	Values   pulumi.StringArrayInput
}

// Principal is a principal type ("AWS", "Service", "Federated") and its identifiers.
type Principal struct {
	Type        string
	Identifiers pulumi.StringArrayInput
}

// Statement is one policy statement. Effect defaults to Allow.
type Statement struct {
	Sid        string
	Effect     string
	Actions    []string
	NotActions []string
	Resources  pulumi.StringArrayInput
	Principals []Principal
	Conditions []Condition
}

// Strings is a convenience for literal string lists in statements.
func Strings(s ...string) pulumi.StringArray { return pulumi.ToStringArray(s) }

// Allow is a statement allowing actions on resources.
func Allow(sid string, actions []string, resources pulumi.StringArrayInput) Statement {
	return Statement{Sid: sid, Effect: "Allow", Actions: actions, Resources: resources}
}

// Document renders statements as a policy document.
func Document(statements ...Statement) pulumi.StringOutput {
	// Gather every input in one flat list so one All resolves them together.
	var inputs []any
	for _, s := range statements {
		inputs = append(inputs, orEmpty(s.Resources))
		for _, p := range s.Principals {
			inputs = append(inputs, orEmpty(p.Identifiers))
		}
		for _, c := range s.Conditions {
			inputs = append(inputs, orEmpty(c.Values))
		}
	}
	return pulumi.All(inputs...).ApplyT(func(vals []any) (string, error) {
		i := 0
		next := func() []string { v := vals[i].([]string); i++; return v }
		doc := document{Version: Version}
		for _, s := range statements {
			st := statement{Sid: s.Sid, Effect: s.Effect, Action: s.Actions, NotAction: s.NotActions}
			if st.Effect == "" {
				st.Effect = "Allow"
			}
			st.Resource = next()
			principals := map[string][]string{}
			for _, p := range s.Principals {
				principals[p.Type] = append(principals[p.Type], next()...)
			}
			switch {
			case len(principals) == 1 && len(principals["*"]) > 0:
				st.Principal = "*" // "everyone" is the bare string; {"*": [...]} is not valid IAM
			case len(principals) > 0:
				st.Principal = principals
			}
			for _, c := range s.Conditions {
				if st.Condition == nil {
					st.Condition = map[string]map[string][]string{}
				}
				if st.Condition[c.Test] == nil {
					st.Condition[c.Test] = map[string][]string{}
				}
				st.Condition[c.Test][c.Variable] = append(st.Condition[c.Test][c.Variable], next()...)
			}
			doc.Statement = append(doc.Statement, st)
		}
		b, err := json.Marshal(doc)
		return string(b), err
	}).(pulumi.StringOutput)
}

func orEmpty(in pulumi.StringArrayInput) pulumi.StringArrayInput {
	if in == nil {
		return pulumi.StringArray{}
	}
	return in
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                         `json:"Sid,omitempty"`
	Effect    string                         `json:"Effect"`
	Principal any                            `json:"Principal,omitempty"`
	Action    []string                       `json:"Action,omitempty"`
	NotAction []string                       `json:"NotAction,omitempty"`
	Resource  []string                       `json:"Resource,omitempty"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// AssumeRole is a trust policy letting the named services assume a role, optionally only on
// behalf of one account (the confused-deputy guard).
func AssumeRole(services []string, sourceAccount string) pulumi.StringOutput {
	st := Statement{
		Effect:     "Allow",
		Actions:    []string{"sts:AssumeRole"},
		Principals: []Principal{{Type: "Service", Identifiers: Strings(services...)}},
	}
	if sourceAccount != "" {
		st.Conditions = []Condition{{Test: "StringEquals", Variable: "aws:SourceAccount", Values: Strings(sourceAccount)}}
	}
	return Document(st)
}

// DenyInsecureTransport is the statement every bucket policy carries: no request without TLS.
func DenyInsecureTransport(bucketArn pulumi.StringInput) Statement {
	return Statement{
		Sid:        "DenyInsecureTransport",
		Effect:     "Deny",
		Actions:    []string{"s3:*"},
		Resources:  pulumi.StringArray{bucketArn, pulumi.Sprintf("%s/*", bucketArn)},
		Principals: []Principal{{Type: "*", Identifiers: Strings("*")}},
		Conditions: []Condition{{Test: "Bool", Variable: "aws:SecureTransport", Values: Strings("false")}},
	}
}

// EventBridgeQueuePolicy is the policy of an SQS queue that EventBridge rules feed: every
// request without TLS is refused, and EventBridge may send only on behalf of the named rules
// (aws:SourceArn, the confused-deputy guard: EventBridge User Guide, "Amazon SQS permissions").
func EventBridgeQueuePolicy(sid, queueArn string, ruleArns ...string) pulumi.StringOutput {
	arn := Strings(queueArn)
	return Document(
		Statement{
			Sid:        "DenyInsecureTransport",
			Effect:     "Deny",
			Actions:    []string{"sqs:*"},
			Resources:  arn,
			Principals: []Principal{{Type: "AWS", Identifiers: Strings("*")}},
			Conditions: []Condition{{Test: "Bool", Variable: "aws:SecureTransport", Values: Strings("false")}},
		},
		Statement{
			Sid:        sid,
			Actions:    []string{"sqs:SendMessage"},
			Resources:  arn,
			Principals: []Principal{{Type: "Service", Identifiers: Strings("events.amazonaws.com")}},
			Conditions: []Condition{{Test: "ArnEquals", Variable: "aws:SourceArn", Values: Strings(ruleArns...)}},
		},
	)
}

// EventBridgeQueueKeyStatement is the key policy statement that lets EventBridge deliver to
// queues encrypted with the key: SQS asks KMS on EventBridge's behalf for a data key bound to
// the queue (the encryption context is the queue's ARN), so the key serves only these queues.
// No aws:SourceArn or aws:SourceAccount here: the SQS Developer Guide's statement for AWS
// service event sources has no condition ("Configure KMS permissions for AWS services",
// sqs-key-management.html), EventBridge documents aws:SourceArn for the target's resource
// policy only (eb-use-resource-based.html#eb-sqs-permissions), and the SNS Developer Guide
// states that those keys in a KMS key policy are "not supported for EventBridge-to-encrypted
// topics" (sns-key-management.html). A condition the request does not carry fails closed and
// silently: events would stop. The queue policy pins the rules by aws:SourceArn instead
// (EventBridgeQueuePolicy).
func EventBridgeQueueKeyStatement(queueArns ...string) Statement {
	return Statement{
		Sid:        "AllowEventBridgeToEncryptForTheQueues",
		Actions:    []string{"kms:GenerateDataKey", "kms:Decrypt"},
		Resources:  Strings("*"),
		Principals: []Principal{{Type: "Service", Identifiers: Strings("events.amazonaws.com")}},
		Conditions: []Condition{{Test: "StringEquals", Variable: "kms:EncryptionContext:aws:sqs:arn", Values: Strings(queueArns...)}},
	}
}
