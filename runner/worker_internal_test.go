package runner

import (
	"encoding/json"
	"testing"
)

// TestValidObject: an agent's result must be a JSON object; the check
// agrees with decoding the result into a map.
func TestValidObject(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{}`, ` {"a":1} `, "\n{\"a\":[1,{\"b\":null}]}\t", `{"a":1,"a":2}`, "{\"\xff\":1}",
		``, ` `, `null`, `[]`, `[{}]`, `"{}"`, `1`, `true`, `{`, `{"a":1}x`, `{"a":1}{}`, `{"a"}`, `{} }`,
	} {
		var obj map[string]json.RawMessage
		want := json.Unmarshal([]byte(in), &obj) == nil && obj != nil
		if got := validObject(json.RawMessage(in)); got != want {
			t.Errorf("validObject(%q) = %v, want %v", in, got, want)
		}
	}
}
