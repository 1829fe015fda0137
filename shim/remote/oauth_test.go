package remote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
	"github.com/mcp-sandbox/mcp-sandbox/shim/remote/remotetest"
)

// callEcho runs a tools/call through c and returns the response.
func callEcho(t *testing.T, c *Conn, id int) string {
	t.Helper()
	resp, _ := rpc(t, c, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x%d"}}}`, id, id))
	if _, rpcErr := resultOf(t, resp); rpcErr != nil {
		t.Fatalf("tools/call = %s", resp)
	}
	return resp
}

func TestOAuthLoginThenReuse(t *testing.T) {
	e := newMCPEnv(t, envOptions{auth: true})
	cl := newClient(t)

	c := dial(t, cl.options(e.URL))
	if resp := handshake(t, c); strings.Contains(resp, `"error"`) {
		t.Fatalf("initialize = %s", resp)
	}
	callEcho(t, c, 1)
	c.Close()
	if got := cl.browser.opened(); got != 1 {
		t.Fatalf("browser opened %d times on first run, want 1", got)
	}
	if !strings.Contains(cl.errOut.String(), e.as.URL()+"/authorize?") {
		t.Errorf("ErrOut does not show the authorization URL:\n%s", cl.errOut.String())
	}
	if cl.store.get("oauth.test.refresh") == "" || cl.store.get("oauth.test.client") == "" || cl.store.get("oauth.test.meta") == "" {
		t.Fatalf("store after login = %v", cl.store.items)
	}

	// Second run: the stored refresh token and client, no browser.
	c2 := dial(t, cl.options(e.URL))
	handshake(t, c2)
	callEcho(t, c2, 2)
	c2.Close()
	if got := cl.browser.opened(); got != 1 {
		t.Errorf("browser opened %d times after the second run, want still 1", got)
	}
	if got := e.as.Count(remotetest.CountRegister); got != 1 {
		t.Errorf("dynamic registrations = %d, want 1", got)
	}
	resources := e.as.RefreshResources()
	if diff := cmp.Diff(resources, []string{e.URL}); diff != "" {
		t.Errorf("refresh grants' resource parameters (-got +want):\n%s", diff)
	}
	// Access tokens are never stored.
	for name, v := range cl.store.items {
		if strings.Contains(v, "at-") {
			t.Errorf("store item %s holds an access token", name)
		}
	}
	st, err := GetStatus(context.Background(), cl.options(e.URL))
	if err != nil {
		t.Fatal(err)
	}
	if !st.LoggedIn || st.Issuer != e.as.URL() || !strings.HasPrefix(st.ClientID, "client-") ||
		!cmp.Equal(slices.Sorted(slices.Values(st.Scopes)), []string{"mcp", "offline_access"}) || st.Expiry.Before(time.Now()) {
		t.Errorf("GetStatus = %+v", st)
	}
	cl.assertNoSecrets(t, e.as, fmt.Sprintf("%+v", st))
}

// fakeClock is the bridge's clock in tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestOAuthRefreshOnExpiry(t *testing.T) {
	// Access tokens are refreshed once fewer than refreshMargin (or half
	// their lifetime) remain, judged on the bridge's clock: the server's
	// tokens live an hour, the bridge's clock jumps.
	e := newMCPEnv(t, envOptions{auth: true, as: remotetest.AuthOptions{AccessTTL: time.Hour}})
	cl := newClient(t)
	clk := &fakeClock{t: time.Now()}
	opts := cl.options(e.URL)
	opts.now = clk.now
	c := dial(t, opts)
	handshake(t, c)
	if got := e.as.Count(remotetest.CountRefresh); got != 0 {
		t.Errorf("refresh grants right after login = %d, want 0", got)
	}
	clk.advance(time.Hour - 2*refreshMargin)
	callEcho(t, c, 0)
	if got := e.as.Count(remotetest.CountRefresh); got != 0 {
		t.Errorf("refresh grants with %v left = %d, want 0", 2*refreshMargin, got)
	}
	for i := range 3 {
		clk.advance(time.Hour - refreshMargin/2) // each new token is as old
		callEcho(t, c, i+1)
		if got := e.as.Count(remotetest.CountRefresh); got != i+1 {
			t.Errorf("refresh grants after call %d = %d, want %d (one per request with a nearly expired token)", i+1, got, i+1)
		}
	}
	if got := cl.browser.opened(); got != 1 {
		t.Errorf("browser opened %d times, want 1", got)
	}
	cl.assertNoSecrets(t, e.as)
}

func TestOAuthRevokedRefreshTokenRelogin(t *testing.T) {
	e := newMCPEnv(t, envOptions{auth: true})
	cl := newClient(t)
	c := dial(t, cl.options(e.URL))
	handshake(t, c)
	c.Close()
	oldRefresh := cl.store.get("oauth.test.refresh")

	e.as.RevokeAllRefresh()
	c2 := dial(t, cl.options(e.URL))
	handshake(t, c2)
	callEcho(t, c2, 1)
	if got := cl.browser.opened(); got != 2 {
		t.Errorf("browser opened %d times, want 2 (re-login after the refresh token was revoked)", got)
	}
	if newRefresh := cl.store.get("oauth.test.refresh"); newRefresh == "" || newRefresh == oldRefresh {
		t.Errorf("stored refresh token was not replaced")
	}
	// The stored dynamic registration was reused for the new login.
	if got := e.as.Count(remotetest.CountRegister); got != 1 {
		t.Errorf("dynamic registrations = %d, want 1", got)
	}
	cl.assertNoSecrets(t, e.as)
}

func TestOAuthRefusals(t *testing.T) {
	tests := []struct {
		name        string
		as          remotetest.AuthOptions
		tamperState bool
		interactive bool
		wantInError string
		wantBrowser int
	}{
		{
			name:        "state mismatch",
			tamperState: true,
			interactive: true,
			wantInError: "state does not match",
			wantBrowser: 1,
		},
		{
			name:        "issuer mismatch",
			as:          remotetest.AuthOptions{WrongIssuer: "https://evil.example"},
			interactive: true,
			wantInError: "does not match expected issuer",
			wantBrowser: 1,
		},
		{
			name:        "not interactive",
			interactive: false,
			wantInError: "run `mcp-sandbox login test`",
			wantBrowser: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMCPEnv(t, envOptions{auth: true, as: tt.as})
			cl := newClient(t)
			cl.browser.tamperState = tt.tamperState
			opts := cl.options(e.URL)
			opts.Interactive = tt.interactive
			c := dial(t, opts)
			resp, _ := rpc(t, c, initializeMsg)
			_, rpcErr := resultOf(t, resp)
			if rpcErr == nil || !strings.Contains(fmt.Sprint(rpcErr["message"]), tt.wantInError) {
				t.Errorf("initialize = %s, want an error containing %q", resp, tt.wantInError)
			}
			if got := cl.browser.opened(); got != tt.wantBrowser {
				t.Errorf("browser opened %d times, want %d", got, tt.wantBrowser)
			}
			if got := e.as.Count(remotetest.CountCode); got != 0 {
				t.Errorf("authorization codes exchanged = %d, want 0", got)
			}
			if v := cl.store.get("oauth.test.refresh"); v != "" {
				t.Error("a refresh token was stored")
			}
			cl.assertNoSecrets(t, e.as, resp)
		})
	}
}

func TestOAuthConcurrentDialsShareOneLogin(t *testing.T) {
	e := newMCPEnv(t, envOptions{auth: true})
	cl := newClient(t)
	var wg sync.WaitGroup
	resps := make([]string, 3)
	for i := range resps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate Conns (as separate processes would have) sharing the
			// store and the lock directory.
			c, err := Dial(context.Background(), cl.options(e.URL))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			if err := c.WriteMessage([]byte(initializeMsg)); err != nil {
				t.Error(err)
				return
			}
			m, err := c.ReadMessage()
			if err != nil {
				t.Error(err)
				return
			}
			resps[i] = string(m)
		}()
	}
	wg.Wait()
	for i, r := range resps {
		if !strings.Contains(r, `"protocolVersion"`) {
			t.Errorf("conn %d initialize = %s", i, r)
		}
	}
	if got := cl.browser.opened(); got != 1 {
		t.Errorf("browser opened %d times, want 1", got)
	}
	if got := e.as.Count(remotetest.CountRegister); got != 1 {
		t.Errorf("registrations = %d, want 1", got)
	}
	cl.assertNoSecrets(t, e.as)
}

func TestLoginLogout(t *testing.T) {
	e := newMCPEnv(t, envOptions{auth: true})
	cl := newClient(t)
	opts := cl.options(e.URL)
	opts.Interactive = false // Login opens the browser regardless
	if err := Login(context.Background(), opts); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if got := cl.browser.opened(); got != 1 {
		t.Errorf("browser opened %d times, want 1", got)
	}
	refresh := cl.store.get("oauth.test.refresh")
	if refresh == "" {
		t.Fatal("Login stored no refresh token")
	}
	// The stored login serves a non-interactive run.
	c := dial(t, opts)
	handshake(t, c)
	callEcho(t, c, 1)
	c.Close()

	refresh = cl.store.get("oauth.test.refresh") // rotated by the run
	if err := Logout(context.Background(), opts); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	revoked := e.as.Revoked()
	if diff := cmp.Diff(revoked, []string{refresh}); diff != "" {
		t.Errorf("revoked tokens (-got +want):\n%s", diff)
	}
	if len(cl.store.items) != 0 {
		t.Errorf("store after Logout holds %d items", len(cl.store.items))
	}
	st, err := GetStatus(context.Background(), opts)
	if err != nil || st.LoggedIn {
		t.Errorf("GetStatus after Logout = %+v, %v", st, err)
	}
	// Now a non-interactive run must ask for a login.
	c2 := dial(t, opts)
	resp, _ := rpc(t, c2, initializeMsg)
	if !strings.Contains(resp, "mcp-sandbox login test") {
		t.Errorf("initialize after Logout = %s", resp)
	}
	cl.assertNoSecrets(t, e.as, resp)
}

func TestLoginTimeout(t *testing.T) {
	e := newMCPEnv(t, envOptions{auth: true})
	cl := newClient(t)
	opts := cl.options(e.URL)
	opts.Browser = browserFunc(func(context.Context, string) error { return errors.New("no display") })
	opts.LoginTimeout = 200 * time.Millisecond
	err := Login(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "no browser login for \"test\" within 200ms") {
		t.Errorf("Login = %v, want a timeout error", err)
	}
	if !strings.Contains(cl.errOut.String(), "could not open a browser (no display)") {
		t.Errorf("ErrOut = %q, want the browser failure", cl.errOut.String())
	}
}

type browserFunc func(context.Context, string) error

func (f browserFunc) Open(ctx context.Context, u string) error { return f(ctx, u) }

func TestLoginNoAuthServer(t *testing.T) {
	e := newMCPEnv(t, envOptions{})
	cl := newClient(t)
	if err := Login(context.Background(), cl.options(e.URL)); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if !strings.Contains(cl.errOut.String(), "did not ask for authorization") {
		t.Errorf("ErrOut = %q", cl.errOut.String())
	}
}

func TestOAuthScopeStepUp(t *testing.T) {
	e := newMCPEnv(t, envOptions{auth: true, stepUp: "write"})
	cl := newClient(t)
	c := dial(t, cl.options(e.URL))
	handshake(t, c)
	callEcho(t, c, 1) // 403 insufficient_scope → second login with more scopes, in-band
	if got := cl.browser.opened(); got != 2 {
		t.Errorf("browser opened %d times, want 2", got)
	}
	st, err := GetStatus(context.Background(), cl.options(e.URL))
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(st.Scopes)); !cmp.Equal(got, []string{"mcp", "offline_access", "write"}) {
		t.Errorf("scopes after step-up = %v", got)
	}
	cl.assertNoSecrets(t, e.as)
}

func TestOAuthScopeStepUpIsBounded(t *testing.T) {
	e := newMCPEnv(t, envOptions{auth: true, stepUp: "write", as: remotetest.AuthOptions{Withhold: "write"}})
	cl := newClient(t)
	c := dial(t, cl.options(e.URL))
	handshake(t, c)
	resp, _ := rpc(t, c, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{}}}`)
	if _, rpcErr := resultOf(t, resp); rpcErr == nil || !strings.Contains(fmt.Sprint(rpcErr["message"]), "403") {
		t.Errorf("tools/call = %s, want a 403 error", resp)
	}
	// One login for initialize, then at most maxAuthRounds step-ups.
	if got, want := cl.browser.opened(), 1+maxAuthRounds; got != want {
		t.Errorf("browser opened %d times, want %d", got, want)
	}
}

// TestOAuthTokenEchoIsScrubbed: a server that echoes the bearer token it
// received (here the header tool, in text and structured content) cannot
// show it to the host.
func TestOAuthTokenEchoIsScrubbed(t *testing.T) {
	e := newMCPEnv(t, envOptions{auth: true})
	cl := newClient(t)
	opts := cl.options(e.URL)
	// The session's redactor, shared with the relay and the logs.
	red, err := redact.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Redactor = red
	c := dial(t, opts)
	handshake(t, c)
	resp, _ := rpc(t, c, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"header","arguments":{"name":"Authorization"}}}`)
	result, rpcErr := resultOf(t, resp)
	if rpcErr != nil {
		t.Fatalf("tools/call = %s", resp)
	}
	want := map[string]any{"name": "Authorization", "value": "Bearer [redacted:oauth-token]"}
	if diff := cmp.Diff(result["structuredContent"], want); diff != "" {
		t.Errorf("structured content (-got +want):\n%s", diff)
	}
	if !strings.Contains(resp, `"text":"Authorization: Bearer [redacted:oauth-token]"`) {
		t.Errorf("text content not scrubbed: %s", resp)
	}
	// The server did get the real token: the scrub is on the way back.
	var sawBearer bool
	for _, r := range e.Requests() {
		if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer at-") {
			sawBearer = true
		}
	}
	if !sawBearer {
		t.Error("the server never received a bearer token")
	}
	// The shared redactor learnt every token the bridge held, so a log
	// line or a relay scrub covers them too.
	for _, tok := range e.as.Issued() {
		if !strings.HasPrefix(tok, "at-") && !strings.HasPrefix(tok, "rt-") {
			continue // client secrets are the store's, not tokens
		}
		if got := red.String("token " + tok); got != "token [redacted:oauth-token]" {
			t.Errorf("the shared redactor does not know an issued token: %q", got)
		}
	}
	cl.assertNoSecrets(t, e.as, resp)
}
