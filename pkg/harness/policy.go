package harness

import (
	"encoding/json"
	"fmt"
)

// Statement is one statement of an IAM policy document as the program writes them (Action and
// Resource always lists, conditions as operator -> key -> values).
type Statement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  []string
	Condition map[string]map[string][]string
}

// PolicyBySid parses the IAM policy document in an input property (e.g. "policy") and returns
// its statements by Sid; two statements with one Sid are an error, so none is lost.
func (res *Resource) PolicyBySid(path string) (map[string]Statement, error) {
	var doc struct{ Statement []Statement }
	if err := json.Unmarshal([]byte(res.InputString(path)), &doc); err != nil {
		return nil, fmt.Errorf("%s of %s: %w", path, res.Name, err)
	}
	out := map[string]Statement{}
	for _, s := range doc.Statement {
		if _, dup := out[s.Sid]; dup {
			return nil, fmt.Errorf("%s of %s: two statements with Sid %q", path, res.Name, s.Sid)
		}
		out[s.Sid] = s
	}
	return out, nil
}
