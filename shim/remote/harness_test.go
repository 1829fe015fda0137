package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/shim/remote/remotetest"
)

// mcpEnv is a test MCP server on loopback, optionally behind an
// authorization server.
type mcpEnv struct {
	*remotetest.MCPServer
	URL    string // streamable HTTP endpoint
	SSEURL string // legacy SSE endpoint
	as     *remotetest.AuthServer
}

type envOptions struct {
	auth bool
	// as tunes the authorization server (with auth).
	as   remotetest.AuthOptions
	json bool // JSON responses instead of SSE
	// stepUp, with auth, is a scope tools/call needs beyond "mcp": without
	// it the server answers 403 insufficient_scope.
	stepUp string
}

func newMCPEnv(t testing.TB, o envOptions) *mcpEnv {
	e := &mcpEnv{}
	if o.auth {
		e.as = remotetest.NewAuthServer(t, &o.as)
	}
	e.MCPServer = remotetest.NewMCPServer(t, e.as, &remotetest.MCPOptions{JSONResponse: o.json, StepUpScope: o.stepUp})
	e.URL, e.SSEURL = e.MCPServer.URL(), e.MCPServer.SSEURL()
	return e
}

// fakeBrowser follows the authorization URL with an HTTP client, like a
// user's browser: the authorization server's 302 lands on the loopback
// callback.
type fakeBrowser struct {
	// tamperState changes the state parameter before following the URL.
	tamperState bool

	mu   sync.Mutex
	urls []string
	errs []error
}

func (b *fakeBrowser) Open(ctx context.Context, u string) error {
	b.mu.Lock()
	b.urls = append(b.urls, u)
	b.mu.Unlock()
	if b.tamperState {
		pu, _ := url.Parse(u)
		q := pu.Query()
		q.Set("state", "forged")
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	go func() {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		b.mu.Lock()
		b.errs = append(b.errs, err)
		b.mu.Unlock()
	}()
	return nil
}

func (b *fakeBrowser) opened() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.urls)
}

var errTestNotFound = errors.New("test store: not found")

// fakeStore is a map-backed SecretStore.
type fakeStore struct {
	mu    sync.Mutex
	items map[string]string
}

func newFakeStore() *fakeStore { return &fakeStore{items: map[string]string{}} }

func (s *fakeStore) Get(_ context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.items[name]
	if !ok {
		return "", errTestNotFound
	}
	return v, nil
}

func (s *fakeStore) Set(_ context.Context, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[name] = value
	return nil
}

func (s *fakeStore) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[name]; !ok {
		return errTestNotFound
	}
	delete(s.items, name)
	return nil
}

func (s *fakeStore) get(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.items[name]
}

// syncBuffer is a goroutine-safe bytes.Buffer.
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

// client bundles what a test passes to Dial and what it inspects after.
type client struct {
	store   *fakeStore
	browser *fakeBrowser
	logs    *syncBuffer
	errOut  *syncBuffer
	lockDir string
}

func newClient(t testing.TB) *client {
	return &client{store: newFakeStore(), browser: &fakeBrowser{}, logs: &syncBuffer{},
		errOut: &syncBuffer{}, lockDir: t.TempDir()}
}

func (c *client) options(url string) Options {
	return Options{
		Server:       "test",
		URL:          url,
		Secrets:      c.store,
		NotFound:     errTestNotFound,
		Browser:      c.browser,
		ErrOut:       c.errOut,
		Logger:       zerolog.New(c.logs).Level(zerolog.DebugLevel),
		Interactive:  true,
		LockDir:      c.lockDir,
		LoginTimeout: 10 * time.Second,
	}
}

// assertNoSecrets fails if any issued token or client secret appears in
// the logs, ErrOut or the given texts.
func (c *client) assertNoSecrets(t *testing.T, as *remotetest.AuthServer, texts ...string) {
	t.Helper()
	all := append([]string{c.logs.String(), c.errOut.String()}, texts...)
	for _, secret := range as.Issued() {
		for _, text := range all {
			if strings.Contains(text, secret) {
				t.Errorf("secret %.6s… leaked into output:\n%s", secret, text)
			}
		}
	}
}

// rpc writes msg and reads until the response with the same raw id,
// returning it and the messages read before it.
func rpc(t testing.TB, c *Conn, msg string) (resp string, before []string) {
	t.Helper()
	env, err := parseEnvelope([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage([]byte(msg)); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	for {
		got := readMessage(t, c, 10*time.Second)
		genv, err := parseEnvelope([]byte(got))
		if err != nil {
			t.Fatalf("read invalid message %s: %v", got, err)
		}
		if genv.IsResponse() && bytes.Equal(genv.ID, env.ID) {
			return got, before
		}
		before = append(before, got)
	}
}

// readMessage reads one message or fails after d.
func readMessage(t testing.TB, c *Conn, d time.Duration) string {
	t.Helper()
	type result struct {
		msg []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := c.ReadMessage()
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("ReadMessage: %v", r.err)
		}
		return string(r.msg)
	case <-time.After(d):
		t.Fatalf("no message within %v", d)
		return ""
	}
}

const initializeMsg = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"roots":{"listChanged":true}},"clientInfo":{"name":"host","version":"1"}}}`
const initializedMsg = `{"jsonrpc":"2.0","method":"notifications/initialized"}`

// handshake runs initialize + initialized and returns the initialize response.
func handshake(t testing.TB, c *Conn) string {
	t.Helper()
	resp, _ := rpc(t, c, initializeMsg)
	if err := c.WriteMessage([]byte(initializedMsg)); err != nil {
		t.Fatal(err)
	}
	return resp
}

// resultOf decodes a response's result or error.
func resultOf(t testing.TB, resp string) (result map[string]any, rpcErr map[string]any) {
	t.Helper()
	var m struct {
		Result map[string]any `json:"result"`
		Error  map[string]any `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp), &m); err != nil {
		t.Fatalf("decode %s: %v", resp, err)
	}
	return m.Result, m.Error
}
