package iampolicy

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// resolve waits for a document built outside a Pulumi program.
func resolve(t *testing.T, out pulumi.StringOutput) map[string]any {
	t.Helper()
	ch := make(chan string, 1)
	out.ApplyT(func(s string) string { ch <- s; return s })
	var doc map[string]any
	if err := json.Unmarshal([]byte(<-ch), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestDocument(t *testing.T) {
	arn := pulumi.String("arn:aws:s3:::media").ToStringOutput()
	tests := []struct {
		name  string
		doc   pulumi.StringOutput
		check func(t *testing.T, st map[string]any)
	}{
		{
			name: "allow statement lists actions and output resources",
			doc:  Document(Allow("Read", []string{"s3:GetObject"}, pulumi.StringArray{pulumi.Sprintf("%s/*", arn)})),
			check: func(t *testing.T, st map[string]any) {
				if st["Effect"] != "Allow" || st["Resource"].([]any)[0] != "arn:aws:s3:::media/*" {
					t.Fatalf("unexpected statement %v", st)
				}
			},
		},
		{
			name: "deny insecure transport covers bucket and objects",
			doc:  Document(DenyInsecureTransport(arn)),
			check: func(t *testing.T, st map[string]any) {
				res := st["Resource"].([]any)
				cond := st["Condition"].(map[string]any)["Bool"].(map[string]any)["aws:SecureTransport"].([]any)
				if st["Effect"] != "Deny" || len(res) != 2 || cond[0] != "false" || st["Principal"] != "*" {
					t.Fatalf("unexpected statement %v", st)
				}
			},
		},
		{
			name: "assume role guards the source account",
			doc:  AssumeRole([]string{"lambda.amazonaws.com"}, "123456789012"),
			check: func(t *testing.T, st map[string]any) {
				cond := st["Condition"].(map[string]any)["StringEquals"].(map[string]any)["aws:SourceAccount"].([]any)
				if cond[0] != "123456789012" || st["Resource"] != nil {
					t.Fatalf("unexpected statement %v", st)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := resolve(t, tt.doc)
			if doc["Version"] != Version {
				t.Fatalf("version %v", doc["Version"])
			}
			tt.check(t, doc["Statement"].([]any)[0].(map[string]any))
		})
	}
}
