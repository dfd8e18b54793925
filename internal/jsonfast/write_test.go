package jsonfast

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// marshal is encoding/json's output as huma writes answers: HTML escaping
// off, without the Encoder's newline.
func marshal(t *testing.T, v any) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "<html> & co", "\b\f\n\r\t\x00\x1f\x7f",
		"é ü 日本", "\u2028 \u2029", "bad \xff utf-8 \xe2\x80", "tail\xc3",
	} {
		want, _ := marshal(t, s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: wrote %s, encoding/json %s", s, got[1:], want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"a\"b", "\u2029\xfe", "\x01<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := marshal(t, s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: wrote %s, encoding/json %s", s, got, want)
		}
	})
}

func TestAppendTime(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{
		time.Date(2026, 11, 26, 17, 4, 5, 123456789, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -7*3600-30*60)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 23*3600+59*60)),
		{},
	} {
		want, err := marshal(t, tm)
		got, ok := AppendTime(nil, tm)
		if ok != (err == nil) || (ok && !bytes.Equal(got, want)) {
			t.Errorf("%v: wrote %s (ok %v); encoding/json %s, %v", tm, got, ok, want, err)
		}
	}
}

func TestAppendRaw(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`{}`, `{"a": 1, "b": [true, null, "x <y>"]}`, "\n{ \"\u2028\" : 1 }", `{"a":`, `{} {}`, ``} {
		want, err := marshal(t, json.RawMessage(raw))
		got, ok := AppendRaw([]byte("x"), []byte(raw))
		if ok != (err == nil) || string(got) != "x"+string(want) {
			t.Errorf("%q: wrote %s (ok %v); encoding/json %s, %v", raw, got, ok, want, err)
		}
	}
}
