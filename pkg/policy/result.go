package policy

import (
	"encoding/json"
)

// resourceResult is one element of the evaluator's resources query (evaluatorModule): the
// resource policies' findings on the i-th resource, waived ones included, and the exceptions
// the resource declares ({policy: reason}). The stack query's value is {policy: [stackItem]}.
type resourceResult struct {
	I          int                 `json:"i"`
	Findings   map[string][]string `json:"findings"`
	Exceptions map[string]string   `json:"exceptions"`
}

// stackItem is one stack policy finding: {"msg", "urn"}, or a bare message about the stack.
type stackItem struct {
	Msg string `json:"msg"`
	URN string `json:"urn"`
}

// UnmarshalJSON accepts an object or a string.
func (s *stackItem) UnmarshalJSON(b []byte) error {
	var msg string
	if err := json.Unmarshal(b, &msg); err == nil {
		*s = stackItem{Msg: msg}
		return nil
	}
	type plain stackItem
	return json.Unmarshal(b, (*plain)(s))
}

// decode converts a Rego result value into v.
func decode(value any, v any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
