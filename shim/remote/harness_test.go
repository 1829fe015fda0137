package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/rs/zerolog"
)

// testAS is a small OAuth 2.1 authorization server: metadata, dynamic
// registration, an authorize endpoint that approves at once (302 to the
// redirect URI with code, state and iss), a token endpoint with PKCE
// verification, refresh token rotation and revocation.
type testAS struct {
	srv *httptest.Server
	ttl time.Duration // access token lifetime
	// wrongIss, if set, is sent as iss in the redirect instead of the issuer.
	wrongIss string
	// withhold, if set, is a scope the server never grants.
	withhold string

	mu      sync.Mutex
	clients map[string]string // client_id → secret
	codes   map[string]*grant
	access  map[string]*grant
	refresh map[string]*grant
	secrets []string // every token and client secret issued
	counts  map[string]int
	// refreshResources lists the resource parameter of each refresh grant.
	refreshResources []string
	revoked          []string
}

type grant struct {
	clientID, challenge, redirect, resource, scope string
	expiry                                         time.Time
}

func newTestAS(t testing.TB) *testAS {
	as := &testAS{
		ttl: time.Hour, clients: map[string]string{}, codes: map[string]*grant{},
		access: map[string]*grant{}, refresh: map[string]*grant{}, counts: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", as.metadata)
	mux.HandleFunc("POST /register", as.register)
	mux.HandleFunc("GET /authorize", as.authorize)
	mux.HandleFunc("POST /token", as.token)
	mux.HandleFunc("POST /revoke", as.revoke)
	as.srv = httptest.NewServer(mux)
	t.Cleanup(as.srv.Close)
	return as
}

func (as *testAS) count(name string) int {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.counts[name]
}

func (as *testAS) issued() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return append([]string(nil), as.secrets...)
}

// revokeAllRefresh forgets every refresh token, as if the user revoked the
// grant at the provider.
func (as *testAS) revokeAllRefresh() {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.refresh = map[string]*grant{}
}

func randToken(prefix string) string { return prefix + rand.Text() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (as *testAS) metadata(w http.ResponseWriter, r *http.Request) {
	u := as.srv.URL
	writeJSON(w, 200, map[string]any{
		"issuer":                                         as.srv.URL,
		"authorization_endpoint":                         u + "/authorize",
		"token_endpoint":                                 u + "/token",
		"registration_endpoint":                          u + "/register",
		"revocation_endpoint":                            u + "/revoke",
		"response_types_supported":                       []string{"code"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_post"},
		"scopes_supported":                               []string{"mcp", "offline_access"},
		"authorization_response_iss_parameter_supported": true,
	})
}

func (as *testAS) register(w http.ResponseWriter, r *http.Request) {
	var md oauthex.ClientRegistrationMetadata
	if err := json.NewDecoder(r.Body).Decode(&md); err != nil || len(md.RedirectURIs) == 0 {
		writeJSON(w, 400, map[string]string{"error": "invalid_client_metadata"})
		return
	}
	id, secret := randToken("client-"), randToken("secret-")
	as.mu.Lock()
	as.clients[id] = secret
	as.secrets = append(as.secrets, secret)
	as.counts["register"]++
	as.mu.Unlock()
	writeJSON(w, 201, map[string]any{
		"client_id": id, "client_secret": secret, "redirect_uris": md.RedirectURIs,
		"token_endpoint_auth_method": "client_secret_post",
	})
}

func (as *testAS) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	as.mu.Lock()
	_, known := as.clients[q.Get("client_id")]
	as.counts["authorize"]++
	as.mu.Unlock()
	if !known || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorization request", 400)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Hostname() != "127.0.0.1" {
		http.Error(w, "bad redirect_uri", 400)
		return
	}
	code := randToken("code-")
	as.mu.Lock()
	scopes := slices.DeleteFunc(strings.Fields(q.Get("scope")), func(s string) bool { return s == as.withhold })
	as.codes[code] = &grant{clientID: q.Get("client_id"), challenge: q.Get("code_challenge"),
		redirect: q.Get("redirect_uri"), resource: q.Get("resource"), scope: strings.Join(scopes, " ")}
	as.mu.Unlock()
	iss := as.srv.URL
	if as.wrongIss != "" {
		iss = as.wrongIss
	}
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	rq.Set("iss", iss)
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (as *testAS) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	f := r.PostForm
	as.mu.Lock()
	defer as.mu.Unlock()
	if secret, ok := as.clients[f.Get("client_id")]; !ok || secret != f.Get("client_secret") {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	var g *grant
	switch f.Get("grant_type") {
	case "authorization_code":
		g = as.codes[f.Get("code")]
		delete(as.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if g == nil || g.clientID != f.Get("client_id") || g.redirect != f.Get("redirect_uri") ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge || g.resource != f.Get("resource") {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		as.counts["code"]++
	case "refresh_token":
		g = as.refresh[f.Get("refresh_token")]
		delete(as.refresh, f.Get("refresh_token")) // rotation
		as.counts["refresh"]++
		as.refreshResources = append(as.refreshResources, f.Get("resource"))
		if g == nil || g.clientID != f.Get("client_id") {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
	default:
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	at, rt := randToken("at-"), randToken("rt-")
	ng := *g
	ng.expiry = time.Now().Add(as.ttl)
	as.access[at] = &ng
	as.refresh[rt] = &ng
	as.secrets = append(as.secrets, at, rt)
	writeJSON(w, 200, map[string]any{
		"access_token": at, "token_type": "Bearer", "refresh_token": rt,
		"expires_in": int(as.ttl.Seconds()), "scope": g.scope,
	})
}

func (as *testAS) revoke(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	as.mu.Lock()
	defer as.mu.Unlock()
	as.counts["revoke"]++
	as.revoked = append(as.revoked, r.PostForm.Get("token"))
	delete(as.refresh, r.PostForm.Get("token"))
	w.WriteHeader(200)
}

// verify is the resource server's token verifier.
func (as *testAS) verify(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	g := as.access[token]
	if g == nil {
		return nil, fmt.Errorf("unknown token: %w", auth.ErrInvalidToken)
	}
	return &auth.TokenInfo{Scopes: strings.Fields(g.scope), Expiration: g.expiry}, nil
}

// mcpEnv is a Go SDK MCP server on loopback, optionally behind bearer auth.
type mcpEnv struct {
	srv    *httptest.Server
	URL    string // streamable HTTP endpoint
	SSEURL string // legacy SSE endpoint
	server *mcp.Server
	as     *testAS

	handler atomic.Pointer[http.Handler] // swapped to forget sessions
	json    bool

	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	Method, Session, Protocol, Auth, LastEventID string
}

type envOptions struct {
	auth bool
	json bool // JSON responses instead of SSE
	// stepUp, with auth, is a scope tools/call needs beyond "mcp": without
	// it the server answers 403 insufficient_scope.
	stepUp string
}

type echoArgs struct {
	Text string `json:"text"`
}

func newMCPServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "remote-test", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "echoes text"},
		func(ctx context.Context, req *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
		})
	return s
}

func newMCPEnv(t testing.TB, o envOptions) *mcpEnv {
	e := &mcpEnv{server: newMCPServer(), json: o.json}
	e.resetSessions()
	mux := http.NewServeMux()
	var mcpHandler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.requests = append(e.requests, recorded{r.Method, r.Header.Get("Mcp-Session-Id"),
			r.Header.Get("Mcp-Protocol-Version"), r.Header.Get("Authorization"), r.Header.Get("Last-Event-ID")})
		e.mu.Unlock()
		(*e.handler.Load()).ServeHTTP(w, r)
	})
	sse := mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return e.server }, nil)
	var sseHandler http.Handler = sse
	if o.auth {
		e.as = newTestAS(t)
		mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, r *http.Request) {
			auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
				Resource:             e.URL,
				AuthorizationServers: []string{e.as.srv.URL},
				ScopesSupported:      []string{"mcp"},
			}).ServeHTTP(w, r)
		})
		mw := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth.RequireBearerToken(e.as.verify, &auth.RequireBearerTokenOptions{
					ResourceMetadataURL: e.srv.URL + "/.well-known/oauth-protected-resource/mcp",
					Scopes:              []string{"mcp"},
				})(h).ServeHTTP(w, r)
			})
		}
		if o.stepUp != "" {
			inner := mcpHandler
			mcpHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if info := auth.TokenInfoFromContext(r.Context()); bytes.Contains(body, []byte(`"tools/call"`)) &&
					info != nil && !slices.Contains(info.Scopes, o.stepUp) {
					w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope="mcp %s", resource_metadata="%s"`,
						o.stepUp, e.srv.URL+"/.well-known/oauth-protected-resource/mcp"))
					http.Error(w, "insufficient scope", http.StatusForbidden)
					return
				}
				inner.ServeHTTP(w, r)
			})
		}
		mcpHandler = mw(mcpHandler)
		sseHandler = mw(sseHandler)
	}
	mux.Handle("/mcp", mcpHandler)
	mux.Handle("/sse", sseHandler)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.URL = e.srv.URL + "/mcp"
	e.SSEURL = e.srv.URL + "/sse"
	return e
}

// resetSessions installs a fresh streamable handler: every existing session
// becomes unknown (404), as after a server restart.
func (e *mcpEnv) resetSessions() {
	var h http.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return e.server },
		&mcp.StreamableHTTPOptions{JSONResponse: e.json, EventStore: mcp.NewMemoryEventStore(nil)})
	e.handler.Store(&h)
}

func (e *mcpEnv) recorded() []recorded {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]recorded(nil), e.requests...)
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
func (c *client) assertNoSecrets(t *testing.T, as *testAS, texts ...string) {
	t.Helper()
	all := append([]string{c.logs.String(), c.errOut.String()}, texts...)
	for _, secret := range as.issued() {
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
		if genv.isResponse() && bytes.Equal(genv.id, env.id) {
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
