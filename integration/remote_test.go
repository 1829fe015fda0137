package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
	"github.com/mcp-sandbox/mcp-sandbox/shim/remote/remotetest"
)

// The remote tests drive the built binary against a loopback OAuth
// authorization server and MCP server (package remotetest), with a real
// keychain and, as $BROWSER, a loopback-only fetcher that follows the
// authorization URL's redirects to mcp-sandbox's redirect listener as a
// user's browser would after consent. They need no Docker.

// browserOnce builds the loopback browser (the conformance driver in its
// --browser mode) once per test binary.
var browserOnce = sync.OnceValues(func() (string, error) {
	out := filepath.Join(filepath.Dir(binary), "loopback-browser")
	cmd := exec.Command("go", "build", "-o", out, "./integration/conformance")
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build the loopback browser: %v\n%s", err, b)
	}
	return out, nil
})

// remoteName is the configured name of the remote server in every test.
const remoteName = "remote"

// remoteEnv is one remote test's world: a configuration naming the test MCP
// server, a keychain service, a cache directory (lock files), a state
// directory, an audit file and a log file of its own.
type remoteEnv struct {
	t       testing.TB
	dir     string
	config  string
	audit   string
	logFile string
	service string
	cache   string
	browser string // $BROWSER, "" for none
	as      *remotetest.AuthServer
	srv     *remotetest.MCPServer
}

// newRemoteEnv starts an MCP server (behind an authorization server unless
// ao is nil) and writes a configuration with it as server "remote", plus
// serverExtra (keys of [servers.remote]) and extra TOML. It needs the
// built binary and the keychain; it empties its keychain service after the
// test.
func newRemoteEnv(t *testing.T, ao *remotetest.AuthOptions, mo *remotetest.MCPOptions, serverExtra, extra string) *remoteEnv {
	t.Helper()
	needBuild(t)
	e := newRemoteEnvNoKeychain(t, ao, mo, serverExtra, extra)
	needKeychain(t, e.service)
	t.Cleanup(e.clearKeychain)
	return e
}

func newRemoteEnvNoKeychain(t testing.TB, ao *remotetest.AuthOptions, mo *remotetest.MCPOptions, serverExtra, extra string) *remoteEnv {
	t.Helper()
	browser, err := browserOnce()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := &remoteEnv{
		t:       t,
		dir:     dir,
		config:  filepath.Join(dir, "mcp-sandbox.toml"),
		audit:   filepath.Join(dir, "audit.jsonl"),
		logFile: filepath.Join(dir, "mcp-sandbox.log"),
		service: "mcp-sandbox-it-remote-" + randHex(6),
		cache:   filepath.Join(dir, "cache"),
		browser: browser + " --browser",
	}
	if ao != nil {
		e.as = remotetest.NewAuthServer(t, ao)
	}
	e.srv = remotetest.NewMCPServer(t, e.as, mo)
	cfg := fmt.Sprintf("keychain_service = %q\n\n[audit]\npath = %q\n\n[servers.%s]\nurl = %q\n%s\n\n%s\n",
		e.service, e.audit, remoteName, e.srv.URL(), serverExtra, extra)
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// clearKeychain deletes every item the test left in its keychain service.
func (e *remoteEnv) clearKeychain() {
	store := keychain.New(keychain.Options{Service: e.service, Timeout: 5 * time.Second})
	ctx := context.Background()
	names, _ := store.List(ctx)
	for _, n := range names {
		store.Delete(ctx, n)
	}
}

// keychainItems returns the names and values stored in the test's service.
func (e *remoteEnv) keychainItems() map[string]string {
	e.t.Helper()
	store := keychain.New(keychain.Options{Service: e.service, Timeout: 5 * time.Second})
	ctx := context.Background()
	names, err := store.List(ctx)
	if err != nil {
		e.t.Fatalf("list keychain items: %v", err)
	}
	items := map[string]string{}
	for _, n := range names {
		v, err := store.Get(ctx, n)
		if err != nil {
			e.t.Fatalf("keychain item %s: %v", n, err)
		}
		items[n] = v
	}
	return items
}

// command returns `mcp-sandbox ARGS --config CONFIG` with the test's
// keychain service, cache and state directories and browser.
func (e *remoteEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(binary, append(args, "--config", e.config)...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(),
		keychain.EnvService+"="+e.service,
		"XDG_CACHE_HOME="+e.cache,
		"XDG_STATE_HOME="+filepath.Join(e.dir, "state"),
		"BROWSER="+e.browser,
	)
	return cmd
}

// cli runs a non-MCP command (login, logout, status, secret) to completion
// and returns its stdout and stderr.
func (e *remoteEnv) cli(stdin string, args ...string) (stdout, stderr string, err error) {
	cmd := e.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		err = fmt.Errorf("mcp-sandbox %s did not finish within a minute", strings.Join(args, " "))
		<-done
	}
	return out.String(), errOut.String(), err
}

// remoteSession is a host's session with `mcp-sandbox run remote`, with
// the raw JSON-RPC traffic the host saw.
type remoteSession struct {
	*session
	wire *syncBuffer // every message in both directions, as the host saw it
}

// start spawns `mcp-sandbox run remote ARGS` and connects the Go SDK client
// over stdio; on failure it returns the error the host saw.
func (e *remoteEnv) start(args ...string) (*remoteSession, error) {
	cmd := e.command(append([]string{"run", remoteName, "--log-level", "debug"}, args...)...)
	s := &remoteSession{session: &session{cmd: cmd, stderr: &syncBuffer{}, noteCh: make(chan string, 64)}, wire: &syncBuffer{}}
	cmd.Stderr = s.stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "integration-host", Version: "1.0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.LoggingTransport{Transport: hostTransport{cmd}, Writer: s.wire}, nil)
	if err != nil {
		if cmd.Process != nil {
			cmd.Process.Kill()
			<-waited(cmd).done
		}
		return s, err
	}
	s.ClientSession = cs
	e.t.Cleanup(func() { cs.Close() })
	return s, nil
}

// connect is start that fails the test on error.
func (e *remoteEnv) connect(args ...string) *remoteSession {
	e.t.Helper()
	s, err := e.start(args...)
	if err != nil {
		e.t.Fatalf("connect: %v\nstderr:\n%s", err, s.stderr.String())
	}
	return s
}

// close ends the host's side and waits for mcp-sandbox to exit.
func (s *remoteSession) close(t *testing.T) {
	t.Helper()
	s.Close()
	waitExit(t, s.cmd, 30*time.Second)
}

// echo calls the echo tool and checks its answer.
func (s *remoteSession) echo(t *testing.T, msg string) {
	t.Helper()
	if got := text(s.call(t, "echo", map[string]any{"text": msg})); got != msg {
		t.Errorf("echo %q returned %q", msg, got)
	}
}

// assertNoTokens fails if any token or client secret the authorization
// server issued appears in texts.
func assertNoTokens(t *testing.T, as *remotetest.AuthServer, texts map[string]string) {
	t.Helper()
	issued := as.Issued()
	if len(issued) == 0 {
		t.Fatal("the authorization server issued nothing; the check would prove nothing")
	}
	for where, text := range texts {
		for _, secret := range issued {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds an issued secret (%.6s…)", where, secret)
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// TestRemoteLoginThenReuse: the first run logs in through the browser
// in-band (the host just sees a slow initialize), and MCP works; the second
// run uses the refresh token stored in the keychain and opens no browser.
func TestRemoteLoginThenReuse(t *testing.T) {
	e := newRemoteEnv(t, &remotetest.AuthOptions{}, nil, "", "")

	s := e.connect()
	if got := s.InitializeResult().ServerInfo.Name; got != "remote-test" {
		t.Errorf("initialize result names server %q, want remote-test", got)
	}
	res, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{"calls", "delete_thing", "echo", "header", "secret"}; !slices.Equal(names, want) {
		t.Errorf("tools/list = %v, want %v", names, want)
	}
	s.echo(t, "héllo remote")
	s.close(t)

	if got := e.as.Count(remotetest.CountAuthorize); got != 1 {
		t.Fatalf("browser flows after the first run = %d, want 1\nstderr:\n%s", got, s.stderr.String())
	}
	if !strings.Contains(s.stderr.String(), e.as.URL()+"/authorize?") {
		t.Errorf("stderr does not show the authorization URL:\n%s", s.stderr.String())
	}
	items := e.keychainItems()
	issued := e.as.Issued()
	if rt := items["oauth.remote.refresh"]; rt == "" || !slices.Contains(issued, rt) {
		t.Errorf("the keychain holds no issued refresh token: %v", slices.Sorted(maps.Keys(items)))
	}
	for name, v := range items {
		if strings.Contains(v, "at-") {
			t.Errorf("keychain item %s holds an access token", name)
		}
	}

	s2 := e.connect()
	s2.echo(t, "again")
	s2.close(t)
	if got := e.as.Count(remotetest.CountAuthorize); got != 1 {
		t.Errorf("browser flows after the second run = %d, want still 1\nstderr:\n%s", got, s2.stderr.String())
	}
	if got := e.as.Count(remotetest.CountRefresh); got != 1 {
		t.Errorf("refresh grants = %d, want 1 (the second run's)", got)
	}
	if got := e.as.Count(remotetest.CountRegister); got != 1 {
		t.Errorf("client registrations = %d, want 1", got)
	}
	if strings.Contains(s2.stderr.String(), "/authorize?") {
		t.Errorf("the second run asked for a browser login:\n%s", s2.stderr.String())
	}
}

// TestRemoteRefreshOnExpiry: calls made after the access token expired at
// the server succeed through an in-band refresh, without a browser. (The
// bridge's own judgement of a token's age runs on an injectable clock and is
// tested in shim/remote.)
func TestRemoteRefreshOnExpiry(t *testing.T) {
	e := newRemoteEnv(t, &remotetest.AuthOptions{}, nil, "", "")
	s := e.connect()
	s.echo(t, "first")
	for i := range 2 {
		e.as.ExpireAccessTokens()
		s.echo(t, fmt.Sprint("after expiry ", i))
	}
	s.close(t)
	if got := e.as.Count(remotetest.CountAuthorize); got != 1 {
		t.Errorf("browser flows = %d, want 1", got)
	}
	if got := e.as.Count(remotetest.CountRefresh); got < 2 {
		t.Errorf("refresh grants = %d, want at least 2 (one per expired token)", got)
	}
}

// TestRemoteRevokedRefreshRelogin: when the refresh token is revoked at the
// provider while a session runs, the next call after the access token
// expired logs in again through the browser, in-band, and the call
// succeeds; the new refresh token is stored for the next run.
func TestRemoteRevokedRefreshRelogin(t *testing.T) {
	e := newRemoteEnv(t, &remotetest.AuthOptions{}, nil, "", "")
	s := e.connect()
	s.echo(t, "before")
	old := e.keychainItems()["oauth.remote.refresh"]
	e.as.RevokeAllRefresh()
	e.as.ExpireAccessTokens()
	s.echo(t, "after revocation")
	s.close(t)
	if got := e.as.Count(remotetest.CountAuthorize); got != 2 {
		t.Errorf("browser flows = %d, want 2 (a re-login after the revocation)\nstderr:\n%s", got, s.stderr.String())
	}
	if got := e.as.Count(remotetest.CountRegister); got != 1 {
		t.Errorf("client registrations = %d, want 1 (the stored one is reused)", got)
	}
	if now := e.keychainItems()["oauth.remote.refresh"]; now == "" || now == old {
		t.Error("the stored refresh token was not replaced after the re-login")
	}
	s2 := e.connect()
	s2.echo(t, "next run")
	s2.close(t)
	if got := e.as.Count(remotetest.CountAuthorize); got != 2 {
		t.Errorf("browser flows after the next run = %d, want still 2", got)
	}
}

// TestRemoteIssuerMismatch: an authorization response whose iss is not the
// authorization server's issuer is refused; the host gets an error saying
// so and nothing is stored.
func TestRemoteIssuerMismatch(t *testing.T) {
	e := newRemoteEnv(t, &remotetest.AuthOptions{WrongIssuer: "https://evil.example"}, nil, "", "")
	s, err := e.start()
	if err == nil {
		s.close(t)
		t.Fatal("the host connected although the authorization response came from the wrong issuer")
	}
	t.Logf("the host saw: %v", err)
	if !strings.Contains(err.Error(), "does not match expected issuer") || !strings.Contains(err.Error(), "evil.example") {
		t.Errorf("the host's error does not explain the issuer mismatch: %v", err)
	}
	if got := e.as.Count(remotetest.CountAuthorize); got != 1 {
		t.Errorf("browser flows = %d, want 1", got)
	}
	if got := e.as.Count(remotetest.CountCode); got != 0 {
		t.Errorf("authorization codes exchanged = %d, want 0", got)
	}
	for name := range e.keychainItems() {
		if strings.HasPrefix(name, "oauth.remote.") {
			t.Errorf("keychain item %s was stored", name)
		}
	}
}

// TestRemoteNoTokenLeaks runs a login, refreshes and calls with debug
// logging, among them one to a tool that echoes the Authorization header
// the server received, and looks for every token and client secret the
// authorization server issued in all the host saw, stderr, the log file,
// the audit log and the status output.
func TestRemoteNoTokenLeaks(t *testing.T) {
	e := newRemoteEnv(t, &remotetest.AuthOptions{}, nil, "", "")
	s := e.connect("--log-file", e.logFile)
	s.echo(t, "one")
	e.as.ExpireAccessTokens()
	s.echo(t, "two")
	structured(t, s.call(t, "header", map[string]any{"name": "Authorization"}), &struct{}{})
	s.close(t)
	// A second process refreshes with the stored token.
	s2, err := e.start()
	if err != nil {
		t.Fatal(err)
	}
	s2.echo(t, "three")
	s2.close(t)
	status, statusErr, err := e.cli("", "status")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, statusErr)
	}
	if got := e.as.Count(remotetest.CountRefresh); got < 2 {
		t.Errorf("refresh grants = %d, want at least 2 so that rotated tokens are covered", got)
	}
	logs := readFile(t, e.logFile)
	if !strings.Contains(logs, "OAuth login complete") {
		t.Errorf("the log file lacks the login; the check would prove little:\n%s", logs)
	}
	assertNoTokens(t, e.as, map[string]string{
		"the host's messages (first run)":  s.wire.String(),
		"the host's messages (second run)": s2.wire.String(),
		"stderr (first run)":               s.stderr.String(),
		"stderr (second run)":              s2.stderr.String(),
		"the log file":                     logs,
		"the audit log":                    readFile(t, e.audit),
		"status output":                    status + statusErr,
	})
	// The server echoed the bearer token it received (the header tool);
	// the host saw it scrubbed.
	if !strings.Contains(s.wire.String(), "Authorization: Bearer [redacted:oauth-token]") {
		t.Errorf("the host did not get the scrubbed Authorization header back:\n%s", s.wire.String())
	}
}

// TestRemoteConcurrentRunsShareOneLogin starts two `run`s of the same
// server at once, as a host starting two sessions would: separate
// processes, one keychain and lock directory. Only one browser flow
// happens; the other process waits and refreshes with the stored token.
// The user takes 1.5 s to consent, so the two surely overlap.
func TestRemoteConcurrentRunsShareOneLogin(t *testing.T) {
	e := newRemoteEnv(t, &remotetest.AuthOptions{ConsentDelay: 1500 * time.Millisecond}, nil, "", "")
	const n = 2
	sessions := make([]*remoteSession, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { sessions[i], errs[i] = e.start() })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("run %d: %v\nstderr:\n%s", i, errs[i], sessions[i].stderr.String())
		}
		sessions[i].echo(t, fmt.Sprint("run ", i))
	}
	for _, s := range sessions {
		s.close(t)
	}
	if got := e.as.Count(remotetest.CountAuthorize); got != 1 {
		t.Errorf("browser flows = %d, want exactly 1", got)
	}
	if got := e.as.Count(remotetest.CountRegister); got != 1 {
		t.Errorf("client registrations = %d, want 1", got)
	}
	if got := e.as.Count(remotetest.CountRefresh); got != 1 {
		t.Errorf("refresh grants = %d, want 1 (the waiting process's)", got)
	}
	waited := 0
	for _, s := range sessions {
		if strings.Contains(s.stderr.String(), "waiting for another mcp-sandbox process") {
			waited++
		}
	}
	if waited != 1 {
		t.Errorf("%d processes said they waited for the other's login, want 1", waited)
	}
}

// TestRemoteProfileFiltering: a profile hides a remote server's tool
// exactly as a local one's: absent from tools/list, a call gets -32602
// naming the profile, and the server never receives it.
func TestRemoteProfileFiltering(t *testing.T) {
	e := newRemoteEnv(t, &remotetest.AuthOptions{}, nil, `profile = "safe"`, `
[profiles.safe]
tools.deny = ["delete_*"]
`)
	s := e.connect()
	res, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range res.Tools {
		if tool.Name == "delete_thing" {
			t.Error("tools/list shows the hidden tool delete_thing")
		}
	}
	if len(res.Tools) != 4 {
		t.Errorf("tools/list has %d tools, want the 4 allowed ones", len(res.Tools))
	}
	_, err = s.CallTool(context.Background(), &mcp.CallToolParams{Name: "delete_thing", Arguments: map[string]any{"id": "1"}})
	var rpcErr *jsonrpc.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != -32602 || !strings.Contains(rpcErr.Message, `profile "safe"`) || !strings.Contains(rpcErr.Message, "delete_thing") {
		t.Errorf("calling the hidden tool: %v, want a -32602 error naming the tool and profile \"safe\"", err)
	}
	s.echo(t, "allowed")
	var calls struct {
		Calls []string `json:"calls"`
	}
	structured(t, s.call(t, "calls", nil), &calls)
	s.close(t)
	if want := []string{"echo", "calls"}; !slices.Equal(calls.Calls, want) {
		t.Errorf("the server received %v, want %v", calls.Calls, want)
	}
	if got := e.srv.Calls(); slices.Contains(got, "delete_thing") {
		t.Errorf("the server recorded %v", got)
	}
	recs := readAudit(t, e.audit)
	if len(recs) == 0 || recs[0].Name != "delete_thing" || recs[0].Decision != "blocked" || recs[0].Server != remoteName {
		t.Errorf("audit records %+v, want the blocked delete_thing first", recs)
	}
}

// apiKey is a credential the remote server expects in X-Api-Key.
const apiKey = "sk-live_Remote+Key/9xQ=="

// TestRemoteHeaderSecretRedacted: a keychain secret sent as a header
// reaches the server intact, and whatever the server echoes of it reaches
// the host only as [redacted:api-key]. Secrets for a remote server cannot
// be put in an environment (there is none): the configuration refuses them.
func TestRemoteHeaderSecretRedacted(t *testing.T) {
	e := newRemoteEnv(t, &remotetest.AuthOptions{}, &remotetest.MCPOptions{Secret: apiKey},
		`headers = { "X-Api-Key" = "secret:api-key" }`, "")
	if _, errOut, err := e.cli(apiKey+"\n", "secret", "set", "api-key"); err != nil {
		t.Fatalf("secret set: %v\n%s", err, errOut)
	}
	s := e.connect("--log-file", e.logFile)

	res := s.call(t, "header", map[string]any{"name": "X-Api-Key"})
	if got, want := text(res), "X-Api-Key: [redacted:api-key]"; got != want {
		t.Errorf("header tool text = %q, want %q", got, want)
	}
	var h struct{ Name, Value string }
	structured(t, res, &h)
	if h.Value != "[redacted:api-key]" {
		t.Errorf("header tool structured value = %q, want the redaction marker", h.Value)
	}
	res = s.call(t, "secret", nil)
	var sv struct{ Value string }
	structured(t, res, &sv)
	if text(res) != "secret: [redacted:api-key]" || sv.Value != "[redacted:api-key]" {
		t.Errorf("secret tool = %q / %q, want the redaction marker", text(res), sv.Value)
	}
	s.close(t)

	// The server did receive the real value, on every request.
	var got []string
	for _, r := range e.srv.Requests() {
		got = append(got, r.Header.Get("X-Api-Key"))
	}
	if len(got) == 0 || slices.ContainsFunc(got, func(v string) bool { return v != apiKey }) {
		t.Errorf("X-Api-Key values the server received: %q, want %q on each request", got, apiKey)
	}
	for where, text := range map[string]string{
		"the host's messages": s.wire.String(), "stderr": s.stderr.String(),
		"the log file": readFile(t, e.logFile), "the audit log": readFile(t, e.audit),
	} {
		if strings.Contains(text, apiKey) {
			t.Errorf("%s holds the api-key value", where)
		}
	}

	// `secrets` (an environment variable) is for local servers only.
	bad := newRemoteEnvNoKeychain(t, nil, nil, `secrets = { API_KEY = "api-key" }`, "")
	_, errOut, err := bad.cli("", "run", remoteName)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(errOut, "secrets is for local servers") {
		t.Errorf("run with secrets on a remote server: %v, stderr %q; want exit 3 and the reason", err, errOut)
	}
}

// TestRemoteLoginStatusLogout drives the account commands through the
// binary: login opens the browser once, status shows the login without a
// token, a run needs no browser, logout revokes the refresh token at the
// provider and forgets everything, and status then says not logged in.
func TestRemoteLoginStatusLogout(t *testing.T) {
	e := newRemoteEnv(t, &remotetest.AuthOptions{}, nil, "", "")
	var outputs []string
	run := func(args ...string) (string, string) {
		t.Helper()
		out, errOut, err := e.cli("", args...)
		outputs = append(outputs, out, errOut)
		if err != nil {
			t.Fatalf("mcp-sandbox %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
		}
		return out, errOut
	}

	_, errOut := run("login", remoteName)
	if !strings.Contains(errOut, "logged in to remote") {
		t.Errorf("login stderr = %q", errOut)
	}
	if got := e.as.Count(remotetest.CountAuthorize); got != 1 {
		t.Errorf("browser flows after login = %d, want 1", got)
	}
	out, _ := run("status")
	if !statusLine(out, remoteName, "logged in") || !strings.Contains(out, "mcp") {
		t.Errorf("status after login:\n%s", out)
	}

	s := e.connect()
	s.echo(t, "after login")
	s.close(t)
	if got := e.as.Count(remotetest.CountAuthorize); got != 1 {
		t.Errorf("browser flows after a run = %d, want still 1", got)
	}

	refresh := e.keychainItems()["oauth.remote.refresh"]
	_, errOut = run("logout", remoteName)
	if !strings.Contains(errOut, "logged out of remote") {
		t.Errorf("logout stderr = %q", errOut)
	}
	if got := e.as.Revoked(); !slices.Equal(got, []string{refresh}) {
		t.Errorf("the authorization server saw %d revocation(s), want exactly the stored refresh token", len(got))
	}
	for name := range e.keychainItems() {
		if strings.HasPrefix(name, "oauth.remote.") {
			t.Errorf("keychain item %s survived logout", name)
		}
	}
	out, _ = run("status")
	if !statusLine(out, remoteName, "not logged in") {
		t.Errorf("status after logout:\n%s", out)
	}
	outputs = append(outputs, s.wire.String(), s.stderr.String())
	texts := map[string]string{}
	for i, o := range outputs {
		texts[fmt.Sprint("output ", i)] = o
	}
	assertNoTokens(t, e.as, texts)
}

// statusLine reports whether status output has a line for server whose
// state column is state.
func statusLine(out, server, state string) bool {
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, server+" "); ok && strings.HasPrefix(strings.TrimSpace(rest), state) {
			return true
		}
	}
	return false
}

// BenchmarkRemoteVsDirect compares the per-call latency of a tool call
// through `mcp-sandbox run` (stdio → relay → remote bridge → streamable
// HTTP) with a Go SDK client talking streamable HTTP to the same loopback
// server directly, in one run: p50/p95 of 300 echo calls each (alternating
// between the two so both see the same machine load), and their ratios.
// The server needs no OAuth here, so both paths do the same HTTP work.
// Run it with:
//
//	go test -run '^$' -bench RemoteVsDirect -benchtime 1x ./integration
func BenchmarkRemoteVsDirect(b *testing.B) {
	needBuild(b)
	e := newRemoteEnvNoKeychain(b, nil, nil, "", "")
	cfg := fmt.Sprintf("keychain_service = %q\n\n[audit]\npath = \"off\"\n\n[servers.%s]\nurl = %q\n", e.service, remoteName, e.srv.URL())
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	const calls = 300
	ctx := context.Background()
	connect := func(t mcp.Transport) *mcp.ClientSession {
		client := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cs, err := client.Connect(cctx, t, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			b.Fatal(err)
		}
		return cs
	}
	params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "ping"}}
	one := func(cs *mcp.ClientSession) time.Duration {
		start := time.Now()
		if _, err := cs.CallTool(ctx, params); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for i := 0; i < b.N; i++ {
		sandbox := connect(hostTransport{e.command("run", remoteName, "--no-watch", "--log-level", "warn")})
		direct := connect(&mcp.StreamableClientTransport{Endpoint: e.srv.URL()})
		for range 20 { // warm-up
			one(sandbox)
			one(direct)
		}
		var latS, latD []time.Duration
		for j := range calls {
			if j%2 == 0 {
				latS = append(latS, one(sandbox))
				latD = append(latD, one(direct))
			} else {
				latD = append(latD, one(direct))
				latS = append(latS, one(sandbox))
			}
		}
		sandbox.Close()
		direct.Close()
		ps50, ps95 := pct(latS, 50), pct(latS, 95)
		pd50, pd95 := pct(latD, 50), pct(latD, 95)
		b.ReportMetric(float64(ps50.Microseconds()), "call-p50-sandbox-µs")
		b.ReportMetric(float64(pd50.Microseconds()), "call-p50-direct-µs")
		b.ReportMetric(float64(ps50)/float64(pd50), "call-p50-ratio")
		b.ReportMetric(float64(ps95)/float64(pd95), "call-p95-ratio")
		fmt.Println("mcp-sandbox run (stdio → relay → bridge → HTTP) vs a direct streamable HTTP client, same loopback server:")
		fmt.Printf("%-10s p50 %9v vs %9v (%.3fx)   p95 %9v vs %9v (%.3fx)\n", "call",
			ps50.Round(time.Microsecond), pd50.Round(time.Microsecond), float64(ps50)/float64(pd50),
			ps95.Round(time.Microsecond), pd95.Round(time.Microsecond), float64(ps95)/float64(pd95))
	}
}
