package shim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentBothWays sends many requests from both sides at once, with
// the same ids in both directions; every answer must reach the side that
// asked, under the id it asked with.
func TestConcurrentBothWays(t *testing.T) {
	h := startRelay(t, Options{Server: "s"})
	const n = 200
	var wg sync.WaitGroup
	// The fake server answers host requests with their own id in the result;
	// the fake host does the same for server requests.
	echo := func(c *memConn, who string, asked map[string]bool, mu *sync.Mutex, got *int) {
		defer wg.Done()
		for i := 0; i < 2*n; i++ {
			m := next(t, c, who)
			var env struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Result struct {
					Echo json.RawMessage `json:"echo"`
				} `json:"result"`
			}
			if err := json.Unmarshal(m, &env); err != nil {
				t.Error(err)
				return
			}
			if env.Method != "" {
				c.WriteMessage([]byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"echo":%s}}`, env.ID, env.ID)))
				continue
			}
			if !bytes.Equal(env.ID, env.Result.Echo) {
				t.Errorf("%s: answer for %s carries %s", who, env.ID, env.Result.Echo)
			}
			mu.Lock()
			if !asked[string(env.ID)] {
				t.Errorf("%s: answer to a request it never sent: %s", who, env.ID)
			}
			delete(asked, string(env.ID))
			*got++
			mu.Unlock()
		}
	}
	var hmu, smu sync.Mutex
	hostAsked, serverAsked := map[string]bool{}, map[string]bool{}
	var hostGot, serverGot int
	for i := 0; i < n; i++ {
		id := fmt.Sprint(i)
		hostAsked[id] = true
		sid := fmt.Sprint(i)
		serverAsked[sid] = true
	}
	wg.Add(2)
	go echo(h.host, "host", hostAsked, &hmu, &hostGot)
	go echo(h.server, "server", serverAsked, &smu, &serverGot)
	go func() {
		for i := 0; i < n; i++ {
			h.host.WriteMessage([]byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"x/y"}`, i)))
		}
	}()
	go func() {
		for i := 0; i < n; i++ {
			h.server.WriteMessage([]byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping"}`, i)))
		}
	}()
	wg.Wait()
	if hostGot != n || serverGot != n {
		t.Errorf("answers: host got %d, server got %d, want %d each", hostGot, serverGot, n)
	}
}

// TestUpstreamDies answers every pending request with an error and ends Serve
// with ErrUpstreamClosed.
func TestUpstreamDies(t *testing.T) {
	h := startRelay(t, Options{Server: "probe"})
	for i := 1; i <= 3; i++ {
		h.host.WriteMessage([]byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"sleep"}}`, i)))
		next(t, h.server, "server")
	}
	h.server.CloseWrite() // the server's stdout ends: it died
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		m := next(t, h.host, "host")
		var resp errorResponse
		if err := json.Unmarshal(m, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Error.Code != codeInternalError || !strings.Contains(resp.Error.Message, "probe") {
			t.Errorf("unexpected error answer %s", m)
		}
		seen[string(resp.ID)] = true
	}
	if len(seen) != 3 {
		t.Errorf("answered ids %v, want 1, 2 and 3", seen)
	}
	select {
	case err := <-h.done:
		if !errors.Is(err, ErrUpstreamClosed) {
			t.Errorf("Serve returned %v, want ErrUpstreamClosed", err)
		}
		h.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the server died")
	}
}

// TestHostHangsUp lets answers in flight reach the host after its stdin
// ends, then returns nil.
func TestHostHangsUp(t *testing.T) {
	h := startRelay(t, Options{Server: "s"})
	h.host.WriteMessage([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	next(t, h.server, "server")
	h.host.CloseWrite()
	// The server sees its input end...
	select {
	case _, ok := <-h.server.in:
		if ok {
			t.Fatal("server got a message, want end of input")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server input did not end")
	}
	// ...and its last answer still reaches the host.
	h.server.WriteMessage([]byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`))
	if m := next(t, h.host, "host"); string(m) != `{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}` {
		t.Errorf("got %s", m)
	}
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
		h.done <- err
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the host hung up")
	}
}

// TestAudit writes one line per audited call with the decision and a hash of
// the arguments, never their values.
func TestAudit(t *testing.T) {
	var buf syncBuffer
	a := NewAuditor(&buf)
	pol := policyFrom(t, `
[servers.s]
image = "x"
profile = "p"
[profiles.p]
tools.deny = ["rm"]
`)
	h := startRelay(t, Options{Server: "s", Policy: pol, Audit: a})
	h.host.WriteMessage([]byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","clientInfo":{"name":"claude","version":"9"}}}`))
	next(t, h.server, "server")
	h.server.WriteMessage([]byte(`{"jsonrpc":"2.0","id":1,"result":{"capabilities":{}}}`))
	next(t, h.host, "host")
	h.host.WriteMessage([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hunter2-value"}}}`))
	next(t, h.server, "server")
	h.server.WriteMessage([]byte(`{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"ok"}]}}`))
	next(t, h.host, "host")
	h.host.WriteMessage([]byte(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"rm","arguments":{"path":"/"}}}`))
	next(t, h.host, "host")
	h.host.WriteMessage([]byte(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"boom"}}`))
	next(t, h.server, "server")
	h.server.WriteMessage([]byte(`{"jsonrpc":"2.0","id":4,"result":{"content":[],"isError":true}}`))
	next(t, h.host, "host")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "hunter2") || strings.Contains(out, `"/"`) {
		t.Errorf("audit holds argument values:\n%s", out)
	}
	var recs []AuditRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad audit line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d audit lines, want 3:\n%s", len(recs), out)
	}
	type brief struct{ Name, Decision, Client, Profile string }
	var got []brief
	for _, r := range recs {
		got = append(got, brief{r.Name, r.Decision, r.Client, r.Profile})
		if r.Server != "s" || r.Method != "tools/call" {
			t.Errorf("record %+v: wrong server or method", r)
		}
	}
	want := []brief{{"echo", "allowed", "claude/9", "p"}, {"rm", "blocked", "claude/9", "p"}, {"boom", "error", "claude/9", "p"}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if recs[0].ArgumentsSHA256 == "" || recs[0].ResultBytes == 0 {
		t.Errorf("allowed call lacks hash or size: %+v", recs[0])
	}
	if recs[1].Rule == "" {
		t.Errorf("blocked call lacks its rule: %+v", recs[1])
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
