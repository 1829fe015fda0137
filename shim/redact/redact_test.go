package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testSecrets covers a plain token, a value full of characters that JSON
// and URLs escape, and a non-ASCII value.
var testSecrets = []Secret{
	{Name: "API", Value: "s3cr3t-Value_42"},
	{Name: "QUOTE", Value: `pa"ss\wo/rd`},
	{Name: "UNI", Value: "clé-secrète"},
	{Name: "EMOJI", Value: "key-😀-secret"},
}

func mustNew(t testing.TB, secrets []Secret) *Redactor {
	t.Helper()
	r, err := New(secrets)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name     string
		secrets  []Secret
		wantIs   error
		wantName string
	}{
		{
			name:     "too short",
			secrets:  []Secret{{Name: "OK", Value: "long enough value"}, {Name: "PIN", Value: "1234567"}},
			wantIs:   ErrTooShort,
			wantName: `"PIN"`,
		},
		{
			name:     "empty value",
			secrets:  []Secret{{Name: "EMPTY"}},
			wantIs:   ErrTooShort,
			wantName: `"EMPTY"`,
		},
		{
			name:     "value inside a marker",
			secrets:  []Secret{{Name: "X", Value: "redacted:X"}},
			wantName: `"X"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.secrets)
			if err == nil {
				t.Fatalf("New() = %v, nil; want error", r)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("New() error = %v; want it to wrap %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantName) {
				t.Errorf("New() error = %q; want it to name %s", err, tt.wantName)
			}
			for _, s := range tt.secrets {
				if s.Value != "" && strings.Contains(err.Error(), s.Value) {
					t.Errorf("New() error = %q reveals the value of %s", err, s.Name)
				}
			}
		})
	}
}

func TestEmptyRedactor(t *testing.T) {
	msg := []byte(`{"jsonrpc":"2.0","id":1,"result":{"text":"s3cr3t-Value_42"}}`)
	empty := mustNew(t, nil)
	for name, r := range map[string]*Redactor{"nil": nil, "New(nil)": empty, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			if !r.Empty() {
				t.Errorf("Empty() = false; want true")
			}
			if got := r.Message(msg); &got[0] != &msg[0] || len(got) != len(msg) {
				t.Errorf("Message() = %q; want msg itself", got)
			}
			if got, want := r.String("s3cr3t-Value_42"), "s3cr3t-Value_42"; got != want {
				t.Errorf("String() = %q; want %q", got, want)
			}
			var buf bytes.Buffer
			if _, err := r.Writer(&buf).Write(msg); err != nil || buf.String() != string(msg) {
				t.Errorf("Writer() wrote %q (%v); want msg unchanged", buf.String(), err)
			}
		})
	}
	var buf bytes.Buffer
	if got := (*Redactor)(nil).Writer(&buf); got != &buf {
		t.Errorf("nil Writer() = %T; want the writer itself", got)
	}
	if r := mustNew(t, testSecrets); r.Empty() {
		t.Errorf("Empty() = true with secrets; want false")
	}
}

func TestMessage(t *testing.T) {
	r := mustNew(t, testSecrets)
	b64 := func(enc *base64.Encoding, s string) string { return enc.EncodeToString([]byte(s)) }
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "text content",
			in:   `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"s3cr3t-Value_42"}]}}`,
			want: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"[redacted:API]"}]}}`,
		},
		{
			name: "embedded in a longer string",
			in:   `{"text":"token=s3cr3t-Value_42; next"}`,
			want: `{"text":"token=[redacted:API]; next"}`,
		},
		{
			name: "twice in one string",
			in:   `{"text":"s3cr3t-Value_42 and s3cr3t-Value_42"}`,
			want: `{"text":"[redacted:API] and [redacted:API]"}`,
		},
		{
			name: "nested structuredContent",
			in:   `{"result":{"structuredContent":{"a":{"b":[1,{"c":"x s3cr3t-Value_42"}]}},"n":12}}`,
			want: `{"result":{"structuredContent":{"a":{"b":[1,{"c":"x [redacted:API]"}]}},"n":12}}`,
		},
		{
			name: "object key",
			in:   `{"s3cr3t-Value_42":true, "other" : "s3cr3t-Value_42"}`,
			want: `{"[redacted:API]":true, "other" : "[redacted:API]"}`,
		},
		{
			name: "error message",
			in:   `{"jsonrpc":"2.0","id":"7","error":{"code":-32603,"message":"auth failed for s3cr3t-Value_42","data":{"k":"s3cr3t-Value_42"}}}`,
			want: `{"jsonrpc":"2.0","id":"7","error":{"code":-32603,"message":"auth failed for [redacted:API]","data":{"k":"[redacted:API]"}}}`,
		},
		{
			name: "array of strings",
			in:   `["a","s3cr3t-Value_42","b", "s3cr3t-Value_42"]`,
			want: `["a","[redacted:API]","b", "[redacted:API]"]`,
		},
		{
			name: "bare string",
			in:   `"s3cr3t-Value_42"`,
			want: `"[redacted:API]"`,
		},
		{
			name: "ASCII value spelled with unicode escapes",
			in:   `{"t":"\u0073\u0033cr3t-Valu\u0065_42!"}`,
			want: `{"t":"[redacted:API]!"}`,
		},
		{
			name: "every character unicode-escaped",
			in:   `{"t":"\u0073\u0033\u0063\u0072\u0033\u0074\u002d\u0056\u0061\u006c\u0075\u0065\u005f\u0034\u0032"}`,
			want: `{"t":"[redacted:API]"}`,
		},
		{
			name: "special characters unicode-escaped",
			in:   `{"t":"pa\u0022ss\u005Cwo\u002frd"}`,
			want: `{"t":"[redacted:QUOTE]"}`,
		},
		{
			name: "surrogate pair in value",
			in:   `{"t":"a key-\ud83d\ude00-secret b"}`,
			want: `{"t":"a [redacted:EMOJI] b"}`,
		},
		{
			name: "escaped slash inside value",
			in:   `{"t":"pa\"ss\\wo\/rd"}`,
			want: `{"t":"[redacted:QUOTE]"}`,
		},
		{
			name: "value with quote and backslash, canonical escapes",
			in:   `{"t":"x pa\"ss\\wo/rd\ny"}`,
			want: `{"t":"x [redacted:QUOTE]\ny"}`,
		},
		{
			name: "other escapes in a changed string are normalised",
			in:   `{"t":"\u00e9\/\t pa\"ss\\wo/rd","u":"\u00e9\/"}`,
			want: `{"t":"é/\t [redacted:QUOTE]","u":"\u00e9\/"}`,
		},
		{
			name: "non-ASCII value raw",
			in:   `{"t":"le clé-secrète."}`,
			want: `{"t":"le [redacted:UNI]."}`,
		},
		{
			name: "non-ASCII value escaped",
			in:   `{"t":"le cl\u00e9-secr\u00E8te."}`,
			want: `{"t":"le [redacted:UNI]."}`,
		},
		{
			name: "base64 standard padded",
			in:   `{"t":"` + b64(base64.StdEncoding, "s3cr3t-Value_42") + `"}`,
			want: `{"t":"[redacted:API]"}`,
		},
		{
			name: "base64 of a value with a pad",
			in:   `{"t":"` + b64(base64.StdEncoding, "clé-secrète") + `"}`,
			want: `{"t":"[redacted:UNI]"}`,
		},
		{
			name: "base64 URL unpadded",
			in:   `{"t":"` + b64(base64.RawURLEncoding, "clé-secrète") + `"}`,
			want: `{"t":"[redacted:UNI]"}`,
		},
		{
			name: "query escape",
			in:   `{"url":"https://x.test/?k=` + url.QueryEscape(`pa"ss\wo/rd`) + `&z=1"}`,
			want: `{"url":"https://x.test/?k=[redacted:QUOTE]&z=1"}`,
		},
		{
			name: "path escape, lower-case hex",
			in:   `{"url":"https://x.test/` + strings.ToLower(url.PathEscape("clé-secrète")) + `/x"}`,
			want: `{"url":"https://x.test/[redacted:UNI]/x"}`,
		},
		{
			name: "hex upper-case",
			in:   `{"t":"0x` + strings.ToUpper(hex.EncodeToString([]byte("s3cr3t-Value_42"))) + `"}`,
			want: `{"t":"0x[redacted:API]"}`,
		},
		{
			name: "value as a JSON document inside text",
			in:   `{"text":"{\"password\":\"pa\\\"ss\\\\wo/rd\"}"}`,
			want: `{"text":"{\"password\":\"[redacted:QUOTE]\"}"}`,
		},
		{
			name: "outside strings is left alone",
			in:   `{"t":1234567890123}`,
			want: `{"t":1234567890123}`,
		},
		{
			name: "value split across strings is not a match",
			in:   `["s3cr3t-","Value_42"]`,
			want: `["s3cr3t-","Value_42"]`,
		},
		{
			name: "whitespace and unicode outside changed strings kept",
			in:   "{ \"a\" :\t\"\\u00e9\" ,\n \"b\": \"s3cr3t-Value_42\" }",
			want: "{ \"a\" :\t\"\\u00e9\" ,\n \"b\": \"[redacted:API]\" }",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !jsonValid(tt.in) {
				t.Fatalf("test input is not valid JSON: %s", tt.in)
			}
			got := string(r.Message([]byte(tt.in)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Message(%s) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if !jsonValid(got) {
				t.Errorf("Message(%s) = %s, not valid JSON", tt.in, got)
			}
		})
	}
}

func TestOverlappingSecrets(t *testing.T) {
	r := mustNew(t, []Secret{
		{Name: "A", Value: "abcdefgh"},
		{Name: "B", Value: "defghijklmnop"},
		{Name: "C", Value: "xxxxxxxx"},
		{Name: "D", Value: "xxxxxxxx"}, // same value: the first name wins
	})
	tests := []struct {
		in   string
		want string
	}{
		// The longer B names the span; A's prefix must not survive.
		{in: "abcdefghijklmnop", want: "[redacted:B]"},
		{in: "..abcdefgh..", want: "..[redacted:A].."},
		{in: "abcdefghXdefghijklmnop", want: "[redacted:A]X[redacted:B]"},
		// Overlapping occurrences of one secret collapse into one marker.
		{in: "xxxxxxxxxxx", want: "[redacted:C]"},
		{in: "xxxxxxxx xxxxxxxx", want: "[redacted:C] [redacted:C]"},
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q; want %q", tt.in, got, tt.want)
		}
		msg := `{"k":"` + tt.in + `"}`
		if got, want := string(r.Message([]byte(msg))), `{"k":"`+tt.want+`"}`; got != want {
			t.Errorf("Message(%s) = %s; want %s", msg, got, want)
		}
	}
}

func TestMarkerReformsSecret(t *testing.T) {
	// A value ending in the tail of its own marker: replacing it once
	// leaves "S]" next to text that completes the value again.
	r := mustNew(t, []Secret{{Name: "S", Value: "S]aaaaaa"}})
	tests := []struct {
		in   string
		want string
	}{
		// Each pass eats six more a's: three passes.
		{in: "S]" + strings.Repeat("a", 22), want: "[redacted:[redacted:[redacted:S]aaaa"},
		// Too many passes: the whole string becomes one marker.
		{in: "S]" + strings.Repeat("a", 100), want: "[redacted:S]"},
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestMessageUnchangedIsSameSlice(t *testing.T) {
	r := mustNew(t, testSecrets)
	msgs := []string{
		`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello\nworld \"quoted\" caf\u00e9 s3cr3t-Valu"}]}}`,
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}`,
		`{"k":"passwords are not secrets: password, clé"}`,
		`[]`,
		``,
	}
	for _, m := range msgs {
		msg := []byte(m)
		got := r.Message(msg)
		if len(got) != len(msg) || (len(msg) > 0 && &got[0] != &msg[0]) {
			t.Errorf("Message(%s) = %s; want msg itself", m, got)
		}
		if allocs := testing.AllocsPerRun(10, func() { r.Message(msg) }); allocs != 0 {
			t.Errorf("Message(%s) allocates %v times; want 0", m, allocs)
		}
	}
}

// TestBase64Embedded places each value at every alignment inside longer
// base64 blobs with random surroundings and checks that the value's part of
// the encoding is gone, in plain text and inside a JSON string.
func TestBase64Embedded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range append(testSecrets, Secret{Name: "SHORT", Value: "8bytes!!"}) {
		r := mustNew(t, []Secret{s})
		marker := "[redacted:" + s.Name + "]"
		for _, enc := range []*base64.Encoding{
			base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding,
		} {
			for trial := range 60 {
				prefix := randBytes(rng, trial%3+3*rng.IntN(4)) // every alignment
				suffix := randBytes(rng, rng.IntN(9))
				blob := enc.EncodeToString(append(append(prefix, s.Value...), suffix...))
				got := r.String(blob)
				if !strings.Contains(got, marker) {
					t.Errorf("%s: String(%q) = %q; want %s (prefix %d bytes, suffix %d)",
						s.Name, blob, got, marker, len(prefix), len(suffix))
				}
				// The characters carrying only the value's bits are gone.
				for _, mid := range base64Embedded(enc, s.Value) {
					if strings.Contains(got, mid) {
						t.Errorf("%s: String(%q) = %q still holds %q", s.Name, blob, got, mid)
					}
				}
				msg := []byte(`{"data":"` + blob + `"}`)
				if gotMsg := r.Message(msg); !bytes.Contains(gotMsg, []byte(marker)) || !jsonValid(string(gotMsg)) {
					t.Errorf("%s: Message(%s) = %s; want valid JSON with %s", s.Name, msg, gotMsg, marker)
				}
			}
		}
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestBase64EmbeddedNeedles(t *testing.T) {
	// For an 8-byte value the stable characters are 64/6 rounded down at
	// alignment 0, and one fewer bit-boundary at the others.
	got := base64Embedded(base64.StdEncoding, "\x00\x00\x00\x00\x00\x00\x00\x00")
	want := []string{"AAAAAAAAAA", "AAAAAAAAAA", "AAAAAAAAAA"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("base64Embedded mismatch (-want +got):\n%s", diff)
	}
	// Alignment 0 of a 9-byte value is exactly its unpadded encoding.
	v := "123456789"
	if got, want := base64Embedded(base64.StdEncoding, v)[0], base64.RawStdEncoding.EncodeToString([]byte(v)); got != want {
		t.Errorf("alignment 0 = %q; want %q", got, want)
	}
}

func TestPercentEncodings(t *testing.T) {
	s := Secret{Name: "P", Value: "p@ss word/+&=ü"}
	r := mustNew(t, []Secret{s})
	for _, in := range []string{
		url.QueryEscape(s.Value),                  // p%40ss+word%2F%2B%26%3D%C3%BC
		url.PathEscape(s.Value),                   // p@ss%20word%2F+&=%C3%BC
		strings.ToLower(url.QueryEscape(s.Value)), // lower-case hex (and letters, which are lower already)
		lowerPercentHex(url.PathEscape(s.Value)),
	} {
		if got, want := r.String("?q="+in+"&x"), "?q=[redacted:P]&x"; got != want {
			t.Errorf("String(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestString(t *testing.T) {
	r := mustNew(t, testSecrets)
	tests := []struct {
		in   string
		want string
	}{
		{in: "", want: ""},
		{in: "nothing here", want: "nothing here"},
		{in: "dial: token s3cr3t-Value_42 rejected", want: "dial: token [redacted:API] rejected"},
		{in: `got {"pw":"pa\"ss\\wo/rd"}`, want: `got {"pw":"[redacted:QUOTE]"}`},
		{in: `got {"pw":"pa\"ss\\wo\/rd"}`, want: `got {"pw":"[redacted:QUOTE]"}`},
		{in: `python says "cl\u00e9-secr\u00e8te"`, want: `python says "[redacted:UNI]"`},
		{in: "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("user:s3cr3t-Value_42")), want: "Authorization: Basic dXNlcjp[redacted:API]I="},
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriter(t *testing.T) {
	r := mustNew(t, testSecrets)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "JSON log line",
			in:   `{"level":"error","error":"open s3cr3t-Value_42: denied","msg":"x"}` + "\n",
			want: `{"level":"error","error":"open [redacted:API]: denied","msg":"x"}` + "\n",
		},
		{
			name: "JSON log line with escaped value",
			in:   `{"level":"info","env":"PW=pa\"ss\\wo/rd"}` + "\n",
			want: `{"level":"info","env":"PW=[redacted:QUOTE]"}` + "\n",
		},
		{
			name: "JSON log line, value spelled with unicode escapes",
			in:   `{"v":"\u0073\u0033cr3t-Value_42"}` + "\n",
			want: `{"v":"[redacted:API]"}` + "\n",
		},
		{
			name: "console line",
			in:   "12:00 ERR dial failed token=s3cr3t-Value_42\n",
			want: "12:00 ERR dial failed token=[redacted:API]\n",
		},
		{
			name: "clean line",
			in:   `{"level":"info","msg":"started"}` + "\n",
			want: `{"level":"info","msg":"started"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := r.Writer(&buf)
			n, err := w.Write([]byte(tt.in))
			if err != nil || n != len(tt.in) {
				t.Errorf("Write() = %d, %v; want %d, nil", n, err, len(tt.in))
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("written mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterError(t *testing.T) {
	r := mustNew(t, testSecrets)
	wantErr := errors.New("disk full")
	n, err := r.Writer(failWriter{wantErr}).Write([]byte("line\n"))
	if n != 0 || !errors.Is(err, wantErr) {
		t.Errorf("Write() = %d, %v; want 0, %v", n, err, wantErr)
	}
}

func TestMessageDoesNotModifyInput(t *testing.T) {
	r := mustNew(t, testSecrets)
	in := `{"a":"s3cr3t-Value_42","b":"\u0073\u0033cr3t-Value_42"}`
	msg := []byte(in)
	_ = r.Message(msg)
	if string(msg) != in {
		t.Errorf("Message modified its input: %s", msg)
	}
}

func TestAppendDecoded(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{in: `plain`, want: "plain"},
		{in: `a\"b\\c\/d\b\f\n\r\t`, want: "a\"b\\c/d\b\f\n\r\t"},
		{in: `\u00e9\u00E9`, want: "éé"},
		{in: `\ud83d\ude00!`, want: "😀!"},
		{in: `\ud83d!`, want: "\ufffd!"},
		{in: `\ude00`, want: "\ufffd"},
		{in: `\ud83d\u0041`, want: "\ufffdA"},
	}
	for _, tt := range tests {
		if got := string(appendDecoded(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendDecoded(%q) = %q; want %q", tt.in, got, tt.want)
		}
		// Round trip through the encoder and encoding/json.
		enc := `"` + string(appendEncoded(nil, []byte(tt.want))) + `"`
		var back string
		if err := jsonUnmarshal(enc, &back); err != nil || back != tt.want {
			t.Errorf("appendEncoded(%q) = %s, decodes to %q, %v", tt.want, enc, back, err)
		}
	}
}

// TestAdd feeds a Redactor a value after its writer was made, as the remote
// bridge does with OAuth tokens: every scrub from then on covers it.
func TestAdd(t *testing.T) {
	r := mustNew(t, nil)
	var buf bytes.Buffer
	w := r.Writer(&buf)
	const tok = "ya29.access-token-value"
	msg := []byte(`{"result":{"echo":"Bearer ` + tok + `"}}`)
	if got := string(r.Message(msg)); got != string(msg) {
		t.Fatalf("before Add: %s", got)
	}
	if err := r.Add(Secret{Name: "oauth-token", Value: tok}); err != nil {
		t.Fatal(err)
	}
	want := `{"result":{"echo":"Bearer [redacted:oauth-token]"}}`
	if got := string(r.Message(msg)); got != want {
		t.Errorf("Message after Add = %s, want %s", got, want)
	}
	if _, err := w.Write(append(msg, '\n')); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != want+"\n" {
		t.Errorf("writer made before Add wrote %q, want %q", got, want+"\n")
	}
	if err := r.Add(Secret{Name: "short", Value: "abc"}); !errors.Is(err, ErrTooShort) {
		t.Errorf("Add of a short value: %v, want ErrTooShort", err)
	}
	if got := r.String(tok); got != "[redacted:oauth-token]" {
		t.Errorf("a failed Add lost the earlier secret: %q", got)
	}
	// The same value again changes nothing.
	if err := r.Add(Secret{Name: "again", Value: tok}); err != nil || r.String(tok) != "[redacted:oauth-token]" {
		t.Errorf("re-adding a value: %v, %q", err, r.String(tok))
	}
}
