package remote

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		msg        string
		wantID     string
		wantMethod string
		wantKind   string
	}{
		{"request", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, "1", "tools/list", "request"},
		{"big id", `{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}`, "9007199254740993", "ping", "request"},
		{"string id with spaces", `{ "id" :  "a b" , "method":"ping"}`, `"a b"`, "ping", "request"},
		{"null id is a request", `{"id":null,"method":"ping"}`, "null", "ping", "request"},
		{"notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, "", "notifications/initialized", "notification"},
		{"response", `{"jsonrpc":"2.0","id":"x","result":{}}`, `"x"`, "", "response"},
		{"last duplicate wins", `{"id":1,"id":2,"method":"a","method":"b"}`, "2", "b", "request"},
		{"keys are case-sensitive", `{"ID":1,"Method":"x","id":3,"result":{}}`, "3", "", "response"},
		{"pretty printed", "{\n  \"id\": 7,\n  \"method\": \"ping\"\n}", "7", "ping", "request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := parseEnvelope([]byte(tt.msg))
			if err != nil {
				t.Fatalf("parseEnvelope: %v", err)
			}
			kind := "other"
			switch {
			case env.IsRequest():
				kind = "request"
			case env.IsNotification():
				kind = "notification"
			case env.IsResponse():
				kind = "response"
			}
			got := []string{string(env.ID), env.Method, kind}
			want := []string{tt.wantID, tt.wantMethod, tt.wantKind}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("envelope (-got +want):\n%s", diff)
			}
			if env.ID != nil {
				if got := tt.msg[env.IDStart:env.IDEnd]; got != tt.wantID {
					t.Errorf("id bounds select %q, want %q", got, tt.wantID)
				}
			}
		})
	}
}

func TestParseEnvelopeRejects(t *testing.T) {
	for _, msg := range []string{``, `[]`, `{"id":1`, `{"id":1} {}`, `"x"`} {
		if _, err := parseEnvelope([]byte(msg)); err == nil {
			t.Errorf("parseEnvelope(%q) succeeded, want error", msg)
		}
	}
}

func TestSpliceKeepsOtherBytes(t *testing.T) {
	msg := `{"z":1, "id" : 9007199254740993 ,"params":{"n":1.50}}`
	env, err := parseEnvelope([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	got := string(splice([]byte(msg), env.IDStart, env.IDEnd, []byte("12")))
	want := `{"z":1, "id" : 12 ,"params":{"n":1.50}}`
	if got != want {
		t.Errorf("splice = %s, want %s", got, want)
	}
}

func TestNormalizeMessage(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{`{"a":1}`, `{"a":1}`, false},
		{"{\n \"a\": \"x\\ny\",\r\n \"b\": 12345678901234567890\n}", `{"a":"x\ny","b":12345678901234567890}`, false},
		{"  {\"a\":1}\n", `{"a":1}`, false},
		{`{"a":`, "", true},
	}
	for _, tt := range tests {
		got, err := normalizeMessage([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("normalizeMessage(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("normalizeMessage(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestProtocolVersionOf(t *testing.T) {
	got := protocolVersionOf([]byte(`{"ProtocolVersion":"x","protocolVersion":"2025-06-18","capabilities":{}}`))
	if got != "2025-06-18" {
		t.Errorf("protocolVersionOf = %q, want 2025-06-18", got)
	}
}

func TestSSEReader(t *testing.T) {
	stream := ": comment\n" +
		"retry: 1500\n" +
		"id: 1\n" +
		"data: {\"a\":\n" +
		"data: 1}\n\n" +
		"event: endpoint\r\n" +
		"data: /messages?s=1\r\n\r\n" +
		"id: 2\n\n" + // priming event: id only
		"id: 3\n" +
		"data: {\"b\":2}\n\n" +
		"data: {\"partial\":true}\n" // no blank line: never dispatched
	sr := newSSEReader(strings.NewReader(stream))
	type ev struct{ Name, Data, LastID string }
	var got []ev
	for {
		e, err := sr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev{e.name, string(e.data), sr.lastID})
	}
	want := []ev{
		{"message", "{\"a\":\n1}", "1"},
		{"endpoint", "/messages?s=1", "1"},
		{"message", `{"b":2}`, "3"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	if sr.retry != 1500*time.Millisecond {
		t.Errorf("retry = %v, want 1.5s", sr.retry)
	}
}

func TestCheckBrowserURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://as.example/authorize", true},
		{"http://127.0.0.1:8080/authorize", true},
		{"file:///etc/passwd", false},
		{"javascript:alert(1)", false},
		{"/relative", false},
		{"https://", false},
	}
	for _, tt := range tests {
		if err := checkBrowserURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("checkBrowserURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestResolveEndpoint(t *testing.T) {
	tests := []struct {
		ref, want string
		wantErr   bool
	}{
		{"/message?sessionid=1", "http://h:1/message?sessionid=1", false},
		{"message?x=1", "http://h:1/a/message?x=1", false},
		{"http://h:1/m", "http://h:1/m", false},
		{"http://evil:1/m", "", true},
		{"https://h:1/m", "", true},
	}
	for _, tt := range tests {
		got, err := resolveEndpoint("http://h:1/a/sse", tt.ref)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("resolveEndpoint(%q) = %q, %v; want %q, error %v", tt.ref, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSettingsValidation(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"minimal", Options{Server: "s", URL: "https://x/mcp"}, true},
		{"no server", Options{URL: "https://x/mcp"}, false},
		{"bad scheme", Options{Server: "s", URL: "ftp://x"}, false},
		{"bad transport", Options{Server: "s", URL: "https://x", Transport: "ws"}, false},
		{"reserved header", Options{Server: "s", URL: "https://x", Headers: map[string]string{"mcp-session-id": "1"}}, false},
		{"api key header", Options{Server: "s", URL: "https://x", Headers: map[string]string{"X-Api-Key": "1"}}, true},
		{"cimd not https", Options{Server: "s", URL: "https://x", OAuth: &OAuthOptions{ClientMetadataURL: "http://c/m.json"}}, false},
	}
	for _, tt := range tests {
		_, err := tt.opts.settings()
		if (err == nil) != tt.ok {
			t.Errorf("%s: settings() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestSafeName(t *testing.T) {
	if got, want := safeName("../a b/c"), ".._a_b_c"; got != want {
		t.Errorf("safeName = %q, want %q", got, want)
	}
}

func TestSystemBrowserOutputGoesToErrOut(t *testing.T) {
	t.Setenv("BROWSER", "echo opened")
	var out syncBuffer
	b := &systemBrowser{out: &out}
	if err := b.Open(t.Context(), "https://as.example/authorize?x=1"); err != nil {
		t.Fatalf("Open: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "opened https://as.example/authorize?x=1") {
		if time.Now().After(deadline) {
			t.Fatalf("browser output %q never reached ErrOut", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Open(t.Context(), "file:///etc/passwd"); err == nil {
		t.Error("Open(file://) succeeded")
	}
}

func TestRedirectToAnotherOriginRefused(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "" {
			leaked.Store(true)
		}
	}))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path == "/local" {
			http.Redirect(w, r, "/same", http.StatusTemporaryRedirect)
			return
		}
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer origin.Close()
	c := defaultHTTPClient()
	get := func(path string) error {
		req, _ := http.NewRequest("GET", origin.URL+path, nil)
		req.Header.Set("X-Api-Key", "sk-live-SECRETSECRET")
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get("/local"); err != nil {
		t.Errorf("redirect within the origin: %v", err)
	}
	if err := get("/away"); err == nil || !strings.Contains(err.Error(), "another origin") {
		t.Errorf("redirect to another origin: got %v, want a refusal", err)
	}
	if leaked.Load() {
		t.Error("the static header reached another origin")
	}
}
