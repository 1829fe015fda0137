package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-sandbox/mcp-sandbox/shim/remote/remotetest"
)

// upstream is the relay's view of the connection; Conn must satisfy it.
type upstream interface {
	ReadMessage() ([]byte, error)
	WriteMessage(msg []byte) error
	Close() error
}

var _ upstream = (*Conn)(nil)

func dial(t *testing.T, opts Options) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRelayStreamable(t *testing.T) {
	for _, jsonMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", jsonMode), func(t *testing.T) {
			e := newMCPEnv(t, envOptions{json: jsonMode})
			cl := newClient(t)
			c := dial(t, cl.options(e.URL))

			initResp := handshake(t, c)
			result, rpcErr := resultOf(t, initResp)
			if rpcErr != nil || result["protocolVersion"] != "2025-06-18" {
				t.Fatalf("initialize response = %s", initResp)
			}
			if !strings.HasPrefix(initResp, `{"jsonrpc":"2.0","id":0,`) {
				t.Errorf("initialize response does not carry the host's id 0: %s", initResp)
			}

			// Ids come back byte for byte, even those a float64 would corrupt.
			for _, id := range []string{`9007199254740993`, `"req-1"`, `-3`, `12345678901234567890123`} {
				resp, _ := rpc(t, c, `{"jsonrpc":"2.0","id":`+id+`,"method":"tools/list"}`)
				env, err := parseEnvelope([]byte(resp))
				if err != nil {
					t.Fatal(err)
				}
				if string(env.ID) != id {
					t.Errorf("tools/list response id = %s, want %s", env.ID, id)
				}
				if !strings.Contains(resp, `"name":"echo"`) {
					t.Errorf("tools/list response lacks echo: %s", resp)
				}
			}

			resp, _ := rpc(t, c, `{"jsonrpc":"2.0","id":"call","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi there"}}}`)
			result, rpcErr = resultOf(t, resp)
			if rpcErr != nil {
				t.Fatalf("tools/call error: %s", resp)
			}
			if diff := cmp.Diff(result["content"], []any{map[string]any{"type": "text", "text": "hi there"}}); diff != "" {
				t.Errorf("tools/call content (-got +want):\n%s", diff)
			}

			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := c.ReadMessage(); err == nil {
				t.Error("ReadMessage after Close succeeded")
			}

			// Every request after initialize carries the session and the
			// negotiated protocol version; Close sends DELETE.
			reqs := e.Requests()
			if s, p := sessionOf(reqs[0]), reqs[0].Header.Get("Mcp-Protocol-Version"); s != "" || p != "" {
				t.Errorf("initialize carried session %q / protocol %q", s, p)
			}
			var sawDelete bool
			for _, r := range reqs[1:] {
				if s, p := sessionOf(r), r.Header.Get("Mcp-Protocol-Version"); s == "" || p != "2025-06-18" {
					t.Errorf("%s request carried session %q, protocol %q", r.Method, s, p)
				}
				sawDelete = sawDelete || r.Method == http.MethodDelete
			}
			if !sawDelete {
				t.Error("Close sent no DELETE")
			}
		})
	}
}

func TestServerNotificationViaGETStream(t *testing.T) {
	e := newMCPEnv(t, envOptions{})
	c := dial(t, newClient(t).options(e.URL))
	handshake(t, c)

	// Wait until the server has answered the standalone GET stream, then
	// change the tool list: the server announces it on that stream.
	select {
	case <-e.StandaloneStreamOpen():
	case <-time.After(5 * time.Second):
		t.Fatal("no standalone GET stream was opened")
	}
	if !hasGET(e.Requests()) {
		t.Fatal("the stream was opened without a GET carrying the session")
	}
	e.Server().AddTool(&mcp.Tool{Name: "late", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	got := readMessage(t, c, 5*time.Second)
	if want := `{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{}}`; got != want {
		t.Errorf("server notification = %s, want %s", got, want)
	}
}

func sessionOf(r remotetest.Request) string { return r.Header.Get("Mcp-Session-Id") }

func hasGET(reqs []remotetest.Request) bool {
	for _, r := range reqs {
		if r.Method == http.MethodGet && sessionOf(r) != "" {
			return true
		}
	}
	return false
}

func TestSessionExpiryReinitializesOnce(t *testing.T) {
	e := newMCPEnv(t, envOptions{})
	c := dial(t, newClient(t).options(e.URL))
	handshake(t, c)
	rpc(t, c, `{"jsonrpc":"2.0","id":76,"method":"tools/list"}`) // the handshake is done

	e.ResetSessions() // the server forgets the session: next request gets 404
	resp, before := rpc(t, c, `{"jsonrpc":"2.0","id":77,"method":"tools/list"}`)
	if _, rpcErr := resultOf(t, resp); rpcErr != nil || !strings.Contains(resp, `"echo"`) {
		t.Fatalf("tools/list after session expiry = %s", resp)
	}
	// The replayed initialize's response is consumed, not relayed.
	for _, m := range before {
		if strings.Contains(m, "protocolVersion") {
			t.Errorf("the bridge's own initialize response reached the host: %s", m)
		}
	}
	sessions := map[string]bool{}
	posts := 0
	for _, r := range e.Requests() {
		if r.Method == http.MethodPost {
			posts++
		}
		if s := sessionOf(r); s != "" {
			sessions[s] = true
		}
	}
	// initialize, initialized, tools/list, tools/list (404), initialize,
	// initialized, tools/list.
	if posts != 7 {
		t.Errorf("POSTs = %d, want 7", posts)
	}
	if len(sessions) != 2 {
		t.Errorf("sessions used = %d, want 2", len(sessions))
	}
	resp, _ = rpc(t, c, `{"jsonrpc":"2.0","id":78,"method":"tools/call","params":{"name":"echo","arguments":{"text":"again"}}}`)
	if !strings.Contains(resp, `"again"`) {
		t.Errorf("tools/call on the new session = %s", resp)
	}
}

func TestSessionExpiryReinitFailureSurfaces(t *testing.T) {
	e := newMCPEnv(t, envOptions{})
	c := dial(t, newClient(t).options(e.URL))
	handshake(t, c)
	rpc(t, c, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`) // the handshake is done
	// From now on every request is refused, so the replay fails too.
	e.SetStreamableHandler(http.NotFoundHandler())
	resp, _ := rpc(t, c, `{"jsonrpc":"2.0","id":"x","method":"tools/list"}`)
	_, rpcErr := resultOf(t, resp)
	if rpcErr == nil || !strings.Contains(fmt.Sprint(rpcErr["message"]), "re-initialization failed") {
		t.Errorf("response = %s, want a re-initialization error", resp)
	}
	if _, err := c.ReadMessage(); err == nil {
		t.Error("ReadMessage after a failed re-initialization succeeded, want the failure")
	}
}

func TestSSEFallback(t *testing.T) {
	for _, transport := range []string{TransportAuto, TransportSSE} {
		t.Run(transport, func(t *testing.T) {
			e := newMCPEnv(t, envOptions{})
			opts := newClient(t).options(e.SSEURL)
			opts.Transport = transport
			c := dial(t, opts)
			initResp := handshake(t, c)
			if _, rpcErr := resultOf(t, initResp); rpcErr != nil {
				t.Fatalf("initialize = %s", initResp)
			}
			resp, _ := rpc(t, c, `{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"echo","arguments":{"text":"legacy"}}}`)
			if !strings.HasPrefix(resp, `{"jsonrpc":"2.0","id":9007199254740993,`) || !strings.Contains(resp, `"legacy"`) {
				t.Errorf("tools/call over legacy SSE = %s", resp)
			}
		})
	}
}

func TestTransportFailureSynthesizesError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/mcp"
	ln.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer broken.Close()

	for _, tt := range []struct{ name, url string }{{"connection refused", deadURL}, {"HTTP 500", broken.URL}} {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, newClient(t).options(tt.url))
			const id = `18446744073709551617`
			resp, _ := rpc(t, c, `{"jsonrpc":"2.0","id":`+id+`,"method":"initialize","params":{}}`)
			if !strings.HasPrefix(resp, `{"jsonrpc":"2.0","id":`+id+`,"error":{"code":-32603,`) {
				t.Errorf("response = %s, want a -32603 error with id %s", resp, id)
			}
		})
	}
}

func TestCancelledRequestIsRewritten(t *testing.T) {
	e := newMCPEnv(t, envOptions{})
	c := dial(t, newClient(t).options(e.URL))
	handshake(t, c)
	p := c.newPending([]byte(`"host-7"`), "tools/call")
	env, err := parseEnvelope([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"host-7","reason":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := string(c.rewriteCancel([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"host-7","reason":"x"}}`), env))
	want := fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%d,"reason":"x"}}`, p.upID)
	if got != want {
		t.Errorf("rewritten = %s, want %s", got, want)
	}
	if !p.isAnswered() {
		t.Error("cancelled request is still pending")
	}
}
