package shim

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStreamConnReadsLines(t *testing.T) {
	big := `{"jsonrpc":"2.0","id":1,"result":{"text":"` + strings.Repeat("x", 3<<20) + `"}}`
	in := "\n" + `{"a":1}` + "\r\n   \n" + big + "\n" + `{"tail":true}`
	c := NewStreamConn(strings.NewReader(in), io.Discard)
	var got []string
	for {
		m, err := c.ReadMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m))
	}
	want := []string{`{"a":1}`, big, `{"tail":true}`}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: got %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
}

func TestStreamConnWritesWholeLines(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})
	c := NewStreamConn(strings.NewReader(""), w)
	big := []byte(`{"x":"` + strings.Repeat("y", 100000) + `"}`)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.WriteMessage(big); err != nil {
				t.Error(err)
			}
			if err := c.WriteMessage([]byte("{\n\"pretty\": true\n}")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 40 {
		t.Fatalf("got %d lines, want 40", len(lines))
	}
	for _, l := range lines {
		if l != string(big) && l != `{"pretty":true}` {
			t.Fatalf("interleaved or altered line of %d bytes", len(l))
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestStreamConnCloseWrite(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := NewStreamConn(a, halfCloseWriter{a})
	go c.WriteMessage([]byte(`{"a":1}`))
	peer := NewStreamConn(b, b)
	m, err := peer.ReadMessage()
	if err != nil || string(m) != `{"a":1}` {
		t.Fatalf("got %q, %v", m, err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.ReadMessage(); err != io.EOF {
		t.Fatalf("after CloseWrite: got %v, want EOF", err)
	}
}

type halfCloseWriter struct{ net.Conn }

func (h halfCloseWriter) CloseWrite() error { return h.Conn.Close() }

func TestEnvelope(t *testing.T) {
	tests := []struct {
		in                 string
		id, method, params string
		req, notif, resp   bool
	}{
		{in: `{"jsonrpc":"2.0","id":1,"method":"a","params":{}}`, id: "1", method: "a", params: "{}", req: true},
		{in: `{"jsonrpc":"2.0","method":"n"}`, method: "n", notif: true},
		{in: `{"jsonrpc":"2.0","id":"x","result":{}}`, id: `"x"`, resp: true},
		{in: `{"id":null,"method":"m"}`, id: "null", method: "m", req: true},
		{in: ` { "id" : 12345678901234567890 , "method" : "m\u0031" } `, id: "12345678901234567890", method: "m1", req: true},
		{in: `{"method":"a","method":"b","id":1,"ID":2}`, id: "1", method: "b", req: true},
		{in: `{"Method":"a","id":1,"error":{}}`, id: "1", resp: true},
		{in: `{"m\"":"x","id":[1,{"a":"]}"}],"method":"q"}`, id: `[1,{"a":"]}"}]`, method: "q", req: true},
	}
	for _, tt := range tests {
		m, err := parseMessage([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if string(m.id) != tt.id || m.method != tt.method || string(m.params) != tt.params ||
			m.isRequest() != tt.req || m.isNotification() != tt.notif || m.isResponse() != tt.resp {
			t.Errorf("%s: got id=%s method=%q params=%s req=%v notif=%v resp=%v", tt.in, m.id, m.method, m.params, m.isRequest(), m.isNotification(), m.isResponse())
		}
	}
}

func TestSetMember(t *testing.T) {
	tests := []struct{ in, key, val, want string }{
		{`{}`, "a", `1`, `{"a":1}`},
		{` { } `, "a", `1`, ` { "a":1} `},
		{`{"a":1,"b":2}`, "a", `[3]`, `{"a":[3],"b":2}`},
		{`{"a":1,"a":2}`, "a", `9`, `{"a":1,"a":9}`},
		{`{"b":"x:y"}`, "a", `true`, `{"b":"x:y","a":true}`},
		{`{"b":{"a":1}}`, "a", `2`, `{"b":{"a":1},"a":2}`},
	}
	for _, tt := range tests {
		got := string(setMember([]byte(tt.in), tt.key, []byte(tt.val)))
		if got != tt.want {
			t.Errorf("setMember(%s, %s, %s) = %s, want %s", tt.in, tt.key, tt.val, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("setMember(%s) produced invalid JSON %s", tt.in, got)
		}
	}
}

func TestStringMember(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`{"name":"a"}`, "a", true},
		{`{"name":"a","name":"b"}`, "", false}, // a first-duplicate reader sees "a"
		{`{"name":"a","NAME":"b"}`, "", false},
		{`{"nam\u0065":"a"}`, "a", true},
		{`{"name":1}`, "", false},
		{`{"Name":"a"}`, "", false},
		{`{}`, "", false},
	}
	for _, tt := range tests {
		got, ok := stringMember([]byte(tt.in), "name")
		if diff := cmp.Diff(tt.want, got); diff != "" || ok != tt.ok {
			t.Errorf("stringMember(%s) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIDKey(t *testing.T) {
	key := func(raw string) string {
		k, ok := idKey([]byte(raw))
		if !ok {
			return "invalid"
		}
		return k
	}
	same := [][]string{
		{`"a"`, `"\u0061"`},
		{`1`, `1.0`, `1e0`, ` 1 `},
		{`1000000`, `1e6`, `1000000.0`},
		{`0`, `-0`},
		{`9007199254740993`, `9007199254740992`}, // one float64
	}
	for _, ids := range same {
		for _, id := range ids[1:] {
			if key(id) != key(ids[0]) || key(id) == "invalid" {
				t.Errorf("%s and %s should be the same id (keys %q, %q)", ids[0], id, key(ids[0]), key(id))
			}
		}
	}
	different := [][2]string{{`1`, `"1"`}, {`1`, `2`}, {`-1`, `1`}, {`"a"`, `"A"`}}
	for _, p := range different {
		if key(p[0]) == key(p[1]) {
			t.Errorf("%s and %s must be different ids", p[0], p[1])
		}
	}
	for _, bad := range []string{`null`, `1.5`, `1e400`, `true`, `{}`, `[1]`} {
		if k := key(bad); k != "invalid" {
			t.Errorf("id %s accepted as %q; MCP ids are strings or integers", bad, k)
		}
	}
}
