package jsonfast

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// decodeSamples are documents at the edges of what DecodeAny takes on
// itself and what it leaves to encoding/json.
var decodeSamples = []string{
	`{"name":"bench","task_type":"bench_noop","parameters":{"n":1,"deep":[1,2,{"x":null}]}}`,
	` { "a" : [ ] , "b" : { } , "c" : [ true , false , null ] } `,
	`{"a":1,"a":2}`,
	`[]`, `{}`, `null`, `true`, `0`, `-0`, `-0.0`, `1e3`, `1E+3`, `1.5e-3`, `123456789012345678901234567890`,
	`"plain"`, `"tab\there"`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"caf` + "\xc3\xa9" + `"`, `"bad` + "\xff" + `"`,
	`{"k\"ey":"v"}`,
	`1e400`, `-1e400`, `01`, `1.`, `.5`, `+1`, `0x10`, `1_000`, `Infinity`, `NaN`, `-`, `1e`, `1e+`,
	`{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a" 1}`, `{"a":}`, `{1:2}`, `[1 2]`, `[1,,2]`, `"unterminated`,
	`"ctl` + "\x01" + `"`, `"\x"`, `"\u12"`, `"\u12g4"`, `tru`, `nul`, `falsey`, `{} {}`, `[]]`, ``, ` `,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth),
}

// checkDecodeAny fails t where DecodeAny and encoding/json disagree: a
// document DecodeAny decodes must decode to the same value with
// encoding/json, and one encoding/json refuses DecodeAny must refuse too.
// A document shorter than MaxDepth cannot nest past it, so DecodeAny must
// decode every such one that encoding/json does, number ranges aside.
func checkDecodeAny(t *testing.T, doc []byte) {
	t.Helper()
	got, ok := DecodeAny(doc)
	var want any
	err := json.Unmarshal(doc, &want)
	switch {
	case ok && err != nil:
		t.Fatalf("DecodeAny(%q) = %#v, but encoding/json refuses it: %v", doc, got, err)
	case ok && !reflect.DeepEqual(got, want):
		t.Fatalf("DecodeAny(%q) = %#v, encoding/json gives %#v", doc, got, want)
	case !ok && err == nil && len(doc) < MaxDepth:
		t.Fatalf("DecodeAny(%q) left to encoding/json a document it decodes: %#v", doc, want)
	}

	end, vok := ValueEnd(doc, SkipSpace(doc, 0))
	whole := vok && SkipSpace(doc, end) == len(doc)
	if valid := json.Valid(doc); whole != valid && (!valid || len(doc) < MaxDepth) {
		t.Fatalf("ValueEnd(%q) takes the whole document: %v; json.Valid: %v", doc, whole, valid)
	}
}

func TestDecodeAny(t *testing.T) {
	for _, doc := range decodeSamples {
		checkDecodeAny(t, []byte(doc))
	}
	// The cases that must not simply be left to encoding/json.
	for _, doc := range []string{`{"a":1,"a":2}`, `"\u00e9\ud83d\ude00"`, `"bad` + "\xff" + `"`, `{"k\"ey":"v"}`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)} {
		if _, ok := DecodeAny([]byte(doc)); !ok {
			t.Errorf("DecodeAny(%q) refused a document it should decode", doc)
		}
	}
	for _, doc := range []string{`1e400`, strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)} {
		if _, ok := DecodeAny([]byte(doc)); ok {
			t.Errorf("DecodeAny(%q) decoded what it should leave to encoding/json", doc)
		}
	}
}

func TestValueEnd(t *testing.T) {
	b := []byte(`{"parameters": {"a":[1,"x\n",{}]} , "n":1e400}`)
	i := strings.Index(string(b), "{\"a\"")
	end, ok := ValueEnd(b, i)
	if !ok || string(b[i:end]) != `{"a":[1,"x\n",{}]}` {
		t.Fatalf("ValueEnd = %d, %v: %q", end, ok, b[i:end])
	}
	// A raw value keeps any number, so ValueEnd takes one past float64.
	if end, ok := ValueEnd(b, len(b)-6); !ok || string(b[len(b)-6:end]) != "1e400" {
		t.Fatalf("ValueEnd of 1e400 = %d, %v", end, ok)
	}
}

func FuzzDecodeAny(f *testing.F) {
	for _, doc := range decodeSamples {
		f.Add([]byte(doc))
	}
	f.Fuzz(checkDecodeAny)
}

// BenchmarkDecodeAny reads a task submission as huma's validation does,
// against encoding/json.
func BenchmarkDecodeAny(b *testing.B) {
	doc := []byte(`{"name":"bench","task_type":"bench_noop","priority":"normal","parameters":{"n":12345,"text":"hello world","list":[1,2,3]}}`)
	b.Run("jsonfast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := DecodeAny(doc); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
