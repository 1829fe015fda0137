package redact

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMessage checks the two promises of Message for arbitrary JSON and an
// arbitrary secret: valid JSON stays valid, and no decoded string or key of
// the output contains the secret value.
func FuzzMessage(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}`), "s3cr3t-Value_42", "pre ", " post")
	f.Add([]byte(`{"a":"\u0073\u0033cr3t-Value_42","s3cr3t-Value_42":[1,"x"]}`), "s3cr3t-Value_42", "", "")
	f.Add([]byte(`["pa\"ss\\wo\/rd", "x\n"]`), `pa"ss\wo/rd`, "\"", "\\")
	f.Add([]byte(`{"k":"cl\u00e9-secr\u00e8te"}`), "clé-secrète", "é", "")
	f.Add([]byte(`"czNjcjN0LVZhbHVlXzQy"`), "s3cr3t-Value_42", "ab", "c")
	f.Add([]byte(`{"t":"S]aaaaaaaaaaaaaaaaa"}`), "S]aaaaaa", "S]", "aaaa")
	f.Fuzz(func(t *testing.T, doc []byte, value, pre, post string) {
		r, err := New([]Secret{{Name: "S", Value: value}})
		if err != nil {
			return // too short, or part of its own marker
		}
		// encoding/json turns invalid UTF-8 into U+FFFD when decoding, which
		// would make the check below compare different bytes.
		if !utf8.ValidString(value) || strings.ContainsRune(value, utf8.RuneError) {
			_ = r.Message(doc) // must still not panic
			return
		}
		check := func(msg []byte) {
			got := r.Message(msg)
			if !json.Valid(msg) {
				return
			}
			if !json.Valid(got) {
				t.Fatalf("Message(%q) = %q: not valid JSON", msg, got)
			}
			var v any
			dec := json.NewDecoder(bytes.NewReader(got))
			dec.UseNumber() // 1e1000 is valid JSON but no float64
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("Unmarshal(Message(%q)): %v", msg, err)
			}
			if s, found := findString(v, value); found {
				t.Fatalf("Message(%q) = %q: decoded string %q contains the secret %q", msg, got, s, value)
			}
		}
		check(doc)
		// Make sure the value is present at least once.
		embedded, err := json.Marshal(pre + value + post)
		if err != nil {
			return
		}
		var msg bytes.Buffer
		msg.WriteString(`{"k":[`)
		msg.Write(embedded)
		if json.Valid(doc) {
			msg.WriteString(",")
			msg.Write(doc)
		}
		msg.WriteString(`]}`)
		check(msg.Bytes())
	})
}

// findString returns a string or object key in v that contains sub.
func findString(v any, sub string) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, strings.Contains(v, sub)
	case []any:
		for _, e := range v {
			if s, ok := findString(e, sub); ok {
				return s, true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.Contains(k, sub) {
				return k, true
			}
			if s, ok := findString(e, sub); ok {
				return s, true
			}
		}
	}
	return "", false
}
