package bridge

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, in := range []string{"", "plain", `q"uo\te`, "tab\tcr\rnl\n", "\x00\x01\x1f\x7f", "é ✓ \u2028\u2029 😀", "</script>"} {
		enc := `"` + string(appendJSONString(nil, []byte(in))) + `"`
		var out string
		if err := json.Unmarshal([]byte(enc), &out); err != nil {
			t.Errorf("%q encodes as %s, which is not JSON: %v", in, enc, err)
			continue
		}
		if out != in {
			t.Errorf("%q encodes as %s, which decodes to %q", in, enc, out)
		}
	}
}
