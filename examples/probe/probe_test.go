//lint:file-ignore SA1019 MCP logging is deprecated from protocol 2026-07-28, but relays still carry it and the probe tests it.

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// runAsServerEnv makes the test binary behave as the probe binary, so tests
// can run the real stdio server as a subprocess.
const runAsServerEnv = "PROBE_TEST_RUN_AS_SERVER"

// TestMain lets the test binary stand in for the probe binary in two roles:
// a stdio server (for the subprocess tests) and a fork child, which the fork
// tool starts by re-executing os.Executable (the test binary, here) with the
// hidden --sleep-child flag.
func TestMain(m *testing.M) {
	if os.Getenv(runAsServerEnv) == "1" || (len(os.Args) > 1 && os.Args[1] == "--"+sleepChildFlag) {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// connect serves a fresh probe server in-process and returns a connected
// client session. srvHook, if non-nil, may add middleware before serving.
func connect(t *testing.T, opts *options, copts *mcp.ClientOptions, srvHook func(*mcp.Server)) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	srv := newServer(opts)
	if srvHook != nil {
		srvHook(srv)
	}
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatalf("server connect: %v", err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "probe-test", Version: "0"}, copts)
	cs, err := client.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatalf("client connect: %v", err)
	}
	t.Cleanup(func() {
		cs.Close()
		ss.Wait()
	})
	return cs
}

// connectUnlimited is connect without the SDK's default 16 MiB cap on an
// inbound frame, which the client of a 50 MB result needs.
func connectUnlimited(t *testing.T) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	c1, c2 := net.Pipe()
	ss, err := newServer(nil).Connect(ctx, &mcp.IOTransport{Reader: c1, Writer: c1}, nil)
	if err != nil {
		t.Fatalf("server connect: %v", err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "probe-test", Version: "0"}, nil)
	cs, err := client.Connect(ctx, &mcp.IOTransport{Reader: c2, Writer: c2, MaxLineLength: -1}, nil)
	if err != nil {
		t.Fatalf("client connect: %v", err)
	}
	t.Cleanup(func() {
		cs.Close()
		ss.Wait()
	})
	return cs
}

// call calls a tool and fails the test on a protocol error.
func call(t *testing.T, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	return res
}

// text returns the concatenated text contents of a result.
func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	var b strings.Builder
	for _, c := range res.Content {
		tc, ok := c.(*mcp.TextContent)
		if !ok {
			t.Fatalf("content %T, want *mcp.TextContent", c)
		}
		b.WriteString(tc.Text)
	}
	return b.String()
}

// structured decodes a result's structuredContent into T.
func structured[T any](t *testing.T, res *mcp.CallToolResult) T {
	t.Helper()
	var out T
	if res.IsError {
		t.Fatalf("tool error: %s", text(t, res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatalf("marshal structuredContent: %v", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode structuredContent %s: %v", b, err)
	}
	return out
}

func TestListTools(t *testing.T) {
	cs := connect(t, nil, nil, nil)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tool := range res.Tools {
		got = append(got, tool.Name)
		if tool.Description == "" {
			t.Errorf("tool %s has no description", tool.Name)
		}
	}
	slices.Sort(got)
	want := []string{
		"alloc", "bytes", "calls", "crash", "delete_file", "described", "dial", "echo", "env", "env_hash", "fetch", "fork", "get_time",
		"identity", "list_dir", "network", "notify", "read_env", "read_file", "redescribe", "roots", "sample", "sleep", "write_file",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tool names (-want +got):\n%s", diff)
	}
}

func TestEcho(t *testing.T) {
	cs := connect(t, nil, nil, nil)
	res := call(t, cs, "echo", map[string]any{"text": "hello, probe"})
	if got, want := text(t, res), "hello, probe"; got != want {
		t.Errorf("echo = %q, want %q", got, want)
	}
}

func TestReadEnv(t *testing.T) {
	// The value exercises every encoding: '+' and '/' for base64 vs
	// base64url, a quote for json, non-ASCII and spaces for percent.
	const value = `s3cr+t/"<é> x?`
	t.Setenv("PROBE_TEST_SECRET", value)
	cs := connect(t, nil, nil, nil)

	tests := []struct {
		encoding string
		wrap     bool
		want     string
	}{
		{"", false, value},
		{"raw", false, value},
		{"base64", false, "czNjcit0LyI8w6k+IHg/"},
		{"base64url", false, "czNjcit0LyI8w6k-IHg_"},
		{"percent", false, "s3cr%2Bt%2F%22%3C%C3%A9%3E+x%3F"},
		{"json", false, `"s3cr+t/\"<é> x?"`},
		{"hex", false, "733363722b742f223cc3a93e20783f"},
		{"raw", true, "the value is " + value + " ok"},
		{"base64", true, "the value is czNjcit0LyI8w6k+IHg/ ok"},
	}
	for _, tt := range tests {
		name := tt.encoding
		if name == "" {
			name = "default"
		}
		if tt.wrap {
			name += "_wrap"
		}
		t.Run(name, func(t *testing.T) {
			args := map[string]any{"name": "PROBE_TEST_SECRET", "wrap": tt.wrap}
			if tt.encoding != "" {
				args["encoding"] = tt.encoding
			}
			res := call(t, cs, "read_env", args)
			if got := text(t, res); got != tt.want {
				t.Errorf("text = %q, want %q", got, tt.want)
			}
			got := structured[readEnvOut](t, res)
			want := readEnvOut{Name: "PROBE_TEST_SECRET", Value: tt.want, Set: true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("structuredContent (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("unset", func(t *testing.T) {
		res := call(t, cs, "read_env", map[string]any{"name": "PROBE_TEST_NOT_SET"})
		got := structured[readEnvOut](t, res)
		if diff := cmp.Diff(readEnvOut{Name: "PROBE_TEST_NOT_SET"}, got); diff != "" {
			t.Errorf("structuredContent (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown encoding", func(t *testing.T) {
		res := call(t, cs, "read_env", map[string]any{"name": "PROBE_TEST_SECRET", "encoding": "rot13"})
		if !res.IsError {
			t.Fatalf("IsError = false, want true; text %q", text(t, res))
		}
		if strings.Contains(text(t, res), value) {
			t.Errorf("error text leaks the value: %q", text(t, res))
		}
	})
}

func TestEnvListsNamesOnly(t *testing.T) {
	t.Setenv("PROBE_TEST_NAME_ONLY", "value-must-not-appear")
	cs := connect(t, nil, nil, nil)
	res := call(t, cs, "env", nil)
	got := structured[envOut](t, res)
	if !slices.Contains(got.Names, "PROBE_TEST_NAME_ONLY") {
		t.Errorf("names %v lack PROBE_TEST_NAME_ONLY", got.Names)
	}
	if txt := text(t, res); strings.Contains(txt, "value-must-not-appear") {
		t.Errorf("env text contains a value: %q", txt)
	}
}

func TestBytes(t *testing.T) {
	cs := connectUnlimited(t)
	sizes := []int{0, 1, len(bytesPattern) + 1, 1 << 20}
	if !testing.Short() {
		// What relay tests push through the sandbox; about 10s here, most
		// of it JSON encoding inside the SDK.
		sizes = append(sizes, 50<<20)
	}
	for _, n := range sizes {
		res := call(t, cs, "bytes", map[string]any{"n": n})
		got := text(t, res)
		if len(got) != n {
			t.Errorf("bytes(%d) returned %d bytes", n, len(got))
			continue
		}
		// Check the content, not just the length: every byte must follow
		// the pattern.
		for i := 0; i < n; i += len(bytesPattern) {
			end := min(i+len(bytesPattern), n)
			if got[i:end] != bytesPattern[:end-i] {
				t.Errorf("bytes(%d): pattern broken at offset %d: %q", n, i, got[i:end])
				break
			}
		}
	}
	if res := call(t, cs, "bytes", map[string]any{"n": maxBytes + 1}); !res.IsError {
		t.Errorf("bytes(maxBytes+1): IsError = false, want true")
	}
}

func TestCalls(t *testing.T) {
	cs := connect(t, nil, nil, nil)
	call(t, cs, "echo", map[string]any{"text": "a"})
	call(t, cs, "get_time", nil)
	// A call to a tool that does not exist still reached the server.
	if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "no_such_tool"}); err == nil && !res.IsError {
		t.Errorf("no_such_tool succeeded")
	}
	call(t, cs, "echo", map[string]any{"text": "b"})
	got := structured[callsOut](t, call(t, cs, "calls", nil))
	want := callsOut{Calls: []string{"echo", "get_time", "no_such_tool", "echo", "calls"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cs := connect(t, nil, nil, nil)

	tests := []struct {
		name      string
		path      string
		wantOK    bool
		wantError string // substring of the error text
	}{
		{"writable", filepath.Join(dir, "out.txt"), true, ""},
		// Both failures hold even when the tests run as root.
		{"missing parent", filepath.Join(dir, "missing", "out.txt"), false, "no such file or directory"},
		{"parent is a file", filepath.Join(notDir, "out.txt"), false, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && !tt.wantOK {
				t.Skip("error texts differ on Windows")
			}
			got := structured[outcome](t, call(t, cs, "write_file", map[string]any{"path": tt.path, "content": "probe"}))
			if got.OK != tt.wantOK || !strings.Contains(got.Error, tt.wantError) {
				t.Errorf("write_file = %+v, want ok=%t and error containing %q", got, tt.wantOK, tt.wantError)
			}
			if tt.wantOK {
				b, err := os.ReadFile(tt.path)
				if err != nil || string(b) != "probe" {
					t.Errorf("file holds %q, %v; want %q", b, err, "probe")
				}
			}
		})
	}
}

func TestReadFileAndListDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	cs := connect(t, nil, nil, nil)

	got := structured[readFileOut](t, call(t, cs, "read_file", map[string]any{"path": filepath.Join(dir, "secret"), "encoding": "hex"}))
	want := readFileOut{Path: filepath.Join(dir, "secret"), Content: "68756e74657232", Size: 7}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read_file (-want +got):\n%s", diff)
	}
	if res := call(t, cs, "read_file", map[string]any{"path": filepath.Join(dir, "absent")}); !res.IsError {
		t.Errorf("read_file of a missing file: IsError = false, want true")
	}

	gotDir := structured[listDirOut](t, call(t, cs, "list_dir", map[string]any{"path": dir}))
	wantDir := listDirOut{Entries: []dirEntry{{Name: "secret"}, {Name: "sub", Dir: true}}}
	if diff := cmp.Diff(wantDir, gotDir); diff != "" {
		t.Errorf("list_dir (-want +got):\n%s", diff)
	}
}

func TestDeleteFileRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keep")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cs := connect(t, nil, nil, nil)
	res := call(t, cs, "delete_file", map[string]any{"path": path})
	if !res.IsError || !strings.Contains(text(t, res), "probe never deletes") {
		t.Errorf("delete_file = IsError %t, %q; want a refusal", res.IsError, text(t, res))
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("file is gone: %v", err)
	}
}

func TestDial(t *testing.T) {
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	cs := connect(t, nil, nil, nil)
	got := structured[dialOut](t, call(t, cs, "dial", map[string]any{"address": open.Addr().String()}))
	if diff := cmp.Diff(dialOut{OK: true, RemoteAddr: open.Addr().String()}, got); diff != "" {
		t.Errorf("dial open listener (-want +got):\n%s", diff)
	}

	start := time.Now()
	got = structured[dialOut](t, call(t, cs, "dial", map[string]any{"address": closedAddr, "timeout_ms": 1000}))
	if got.OK || !strings.Contains(got.Error, "refused") {
		t.Errorf("dial closed port = %+v, want ok=false with 'connection refused'", got)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("refused dial took %v; it should fail at once", d)
	}
}

func TestNetwork(t *testing.T) {
	cs := connect(t, nil, nil, nil)
	got := structured[networkOut](t, call(t, cs, "network", nil))
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, i := range ifs {
		want = append(want, i.Name)
	}
	var gotNames []string
	for _, i := range got.Interfaces {
		gotNames = append(gotNames, i.Name)
	}
	if diff := cmp.Diff(want, gotNames); diff != "" {
		t.Errorf("interface names (-want +got):\n%s", diff)
	}
}

func TestIdentity(t *testing.T) {
	writable := t.TempDir()
	cs := connect(t, &options{RootDir: writable}, nil, nil)
	res := call(t, cs, "identity", nil)
	got := structured[identityOut](t, res)

	if got.UID != os.Getuid() || got.GID != os.Getgid() || got.PID != os.Getpid() {
		t.Errorf("uid/gid/pid = %d/%d/%d, want %d/%d/%d", got.UID, got.GID, got.PID, os.Getuid(), os.Getgid(), os.Getpid())
	}
	if got.OS != runtime.GOOS {
		t.Errorf("os = %q, want %q", got.OS, runtime.GOOS)
	}
	if got.ReadOnlyRoot || got.RootWriteError != "" {
		t.Errorf("writable root reported read_only_root=%t, root_write_error=%q", got.ReadOnlyRoot, got.RootWriteError)
	}
	if entries, _ := os.ReadDir(writable); len(entries) != 0 {
		t.Errorf("identity left %d files behind in the root it tested", len(entries))
	}
	if runtime.GOOS == "linux" {
		if got.StatusError != "" || len(got.CapEff) != 16 || len(got.CapPrm) != 16 {
			t.Errorf("linux status fields: cap_eff=%q cap_prm=%q status_error=%q", got.CapEff, got.CapPrm, got.StatusError)
		}
		if !strings.Contains(text(t, res), "cap_eff="+got.CapEff) {
			t.Errorf("text %q lacks cap_eff", text(t, res))
		}
	}

	// A root that cannot be written is reported, with the reason, but is
	// not called read-only unless the error is EROFS.
	cs = connect(t, &options{RootDir: filepath.Join(writable, "missing")}, nil, nil)
	got = structured[identityOut](t, call(t, cs, "identity", nil))
	if got.ReadOnlyRoot || got.RootWriteError == "" {
		t.Errorf("missing root: read_only_root=%t root_write_error=%q, want false and a reason", got.ReadOnlyRoot, got.RootWriteError)
	}
}

func TestParseProcStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStatus
		wantErr bool
	}{
		{
			name: "sandboxed",
			in: "Name:\tprobe\nUid:\t65534\t65534\t65534\t65534\nCapPrm:\t0000000000000000\n" +
				"CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n",
			want: procStatus{CapEff: "0000000000000000", CapPrm: "0000000000000000", CapBnd: "0000000000000000", NoNewPrivs: true, Seccomp: 2},
		},
		{
			name: "root",
			in:   "CapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nNoNewPrivs:\t0\nSeccomp:\t0\n",
			want: procStatus{CapEff: "000001ffffffffff", CapPrm: "000001ffffffffff"},
		},
		{name: "bad seccomp", in: "Seccomp:\tfilter\n", wantErr: true},
		{name: "bad no_new_privs", in: "NoNewPrivs:\t\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStatus(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %t", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(procStatus{})); diff != "" {
				t.Errorf("parseProcStatus (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPromptsAndResources(t *testing.T) {
	t.Setenv("PROBE_TEST_PROMPT_SECRET", "tops3cret")
	ctx := context.Background()
	cs := connect(t, nil, nil, nil)

	prompts, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range prompts.Prompts {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"greeting", "secret_prompt"}, names); diff != "" {
		t.Errorf("prompts (-want +got):\n%s", diff)
	}
	for name, args := range map[string]map[string]string{
		"greeting":      {"name": "Ada"},
		"secret_prompt": {"env": "PROBE_TEST_PROMPT_SECRET"},
	} {
		res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		got := res.Messages[0].Content.(*mcp.TextContent).Text
		want := map[string]string{
			"greeting":      "Hello, Ada!",
			"secret_prompt": "The value of PROBE_TEST_PROMPT_SECRET is tops3cret.",
		}[name]
		if got != want {
			t.Errorf("prompt %s = %q, want %q", name, got, want)
		}
	}

	resources, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range resources.Resources {
		uris = append(uris, r.URI)
	}
	slices.Sort(uris)
	if diff := cmp.Diff([]string{helloURI, infoURI}, uris); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	templates, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(templates.ResourceTemplates) != 1 || templates.ResourceTemplates[0].URITemplate != envURITemplate {
		t.Errorf("templates = %+v, want one %s", templates.ResourceTemplates, envURITemplate)
	}

	for uri, want := range map[string]string{
		helloURI: helloText,
		envURIPrefix + "PROBE_TEST_PROMPT_SECRET": "tops3cret",
	} {
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Fatalf("read %s: %v", uri, err)
		}
		if got := res.Contents[0].Text; got != want {
			t.Errorf("read %s = %q, want %q", uri, got, want)
		}
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: envURIPrefix + "PROBE_TEST_UNSET_VAR"}); err == nil {
		t.Errorf("reading an unset variable's resource succeeded")
	}
}

// handlerOutcome records how the server-side handler of one tool call ended.
type handlerOutcome struct {
	err     error
	isError bool
	text    string
	elapsed time.Duration
}

func TestSleepCancellation(t *testing.T) {
	progress := make(chan *mcp.ProgressNotificationParams, 100)
	ended := make(chan handlerOutcome, 1)
	// Observe the server side, so the test proves the handler itself
	// stopped, not merely that the client gave up waiting.
	observe := func(srv *mcp.Server) {
		srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
			return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
				start := time.Now()
				res, err := next(ctx, method, req)
				if method == "tools/call" {
					o := handlerOutcome{err: err, elapsed: time.Since(start)}
					if r, ok := res.(*mcp.CallToolResult); ok && r != nil {
						o.isError = r.IsError
						for _, c := range r.Content {
							if tc, ok := c.(*mcp.TextContent); ok {
								o.text += tc.Text
							}
						}
					}
					ended <- o
				}
				return res, err
			}
		})
	}
	cs := connect(t, nil, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			progress <- req.Params
		},
	}, observe)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	params := &mcp.CallToolParams{Name: "sleep", Arguments: map[string]any{"ms": 60_000}}
	params.SetProgressToken("sleep-1")
	errc := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, params)
		errc <- err
	}()

	select {
	case p := <-progress:
		if p.ProgressToken != "sleep-1" || p.Total != 60_000 {
			t.Errorf("progress = %+v, want token sleep-1 and total 60000", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no progress notification within 5s")
	}
	cancel()

	select {
	case err := <-errc:
		if err == nil {
			t.Errorf("cancelled call returned no error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancelled call did not return within 2s")
	}
	select {
	case o := <-ended:
		if o.elapsed > 5*time.Second {
			t.Errorf("handler ran %v; cancellation should end it promptly", o.elapsed)
		}
		if !o.isError || !strings.Contains(o.text, "cancelled") {
			t.Errorf("handler ended with %+v, want a 'cancelled' tool error", o)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("server-side sleep handler still running 2s after cancellation")
	}
}

func TestSleepCompletes(t *testing.T) {
	var mu sync.Mutex
	var got []float64
	cs := connect(t, nil, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			got = append(got, req.Params.Progress)
			mu.Unlock()
		},
	}, nil)
	params := &mcp.CallToolParams{Name: "sleep", Arguments: map[string]any{"ms": 350}}
	params.SetProgressToken(7)
	res, err := cs.CallTool(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	out := structured[sleepOut](t, res)
	if out.SleptMS < 350 {
		t.Errorf("slept_ms = %d, want >= 350", out.SleptMS)
	}
	mu.Lock()
	defer mu.Unlock()
	// Ticks at ~100, 200, 300ms; allow one to be lost to scheduling.
	if len(got) < 2 || !slices.IsSorted(got) {
		t.Errorf("progress values %v, want at least 2, increasing", got)
	}
}

func TestNotify(t *testing.T) {
	logs := make(chan *mcp.LoggingMessageParams, 10)
	progress := make(chan *mcp.ProgressNotificationParams, 10)
	cs := connect(t, nil, &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			logs <- req.Params
		},
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			progress <- req.Params
		},
	}, nil)
	ctx := context.Background()
	// The SDK sends no logging notification until the client asks for a
	// level. This session speaks the 2026-07-28 protocol, where the level
	// travels in each request's _meta; TestStdioSubprocess covers the older
	// logging/setLevel.
	if v := cs.InitializeResult().ProtocolVersion; v < "2026-07-28" {
		t.Fatalf("negotiated %s; this test sets the log level the 2026-07-28 way", v)
	}
	params := &mcp.CallToolParams{
		Meta:      mcp.Meta{mcp.MetaKeyLogLevel: "debug"},
		Name:      "notify",
		Arguments: map[string]any{"message": "psst"},
	}
	params.SetProgressToken("n-1")
	res, err := cs.CallTool(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(notifyOut{Message: "psst", ProgressSent: true}, structured[notifyOut](t, res)); diff != "" {
		t.Errorf("notify result (-want +got):\n%s", diff)
	}

	select {
	case got := <-logs:
		want := &mcp.LoggingMessageParams{Level: "info", Logger: "probe", Data: "psst"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("log notification (-want +got):\n%s", diff)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no log notification")
	}
	select {
	case got := <-progress:
		if got.Message != "psst" || got.ProgressToken != "n-1" {
			t.Errorf("progress = %+v, want message psst, token n-1", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no progress notification")
	}
}

func TestAlloc(t *testing.T) {
	cs := connect(t, nil, nil, nil)
	got := structured[allocOut](t, call(t, cs, "alloc", map[string]any{"mb": 8}))
	if diff := cmp.Diff(allocOut{AllocatedMB: 8, OK: true}, got); diff != "" {
		t.Errorf("alloc (-want +got):\n%s", diff)
	}
	if res := call(t, cs, "alloc", map[string]any{"mb": -1}); !res.IsError {
		t.Errorf("alloc(-1): IsError = false, want true")
	}
}

func TestCrashOptionExit(t *testing.T) {
	codes := make(chan int, 2)
	cs := connect(t, &options{Exit: func(code int) { codes <- code }}, nil, nil)
	call(t, cs, "crash", map[string]any{"code": 0})
	call(t, cs, "crash", nil)
	if got := []int{<-codes, <-codes}; !slices.Equal(got, []int{0, 3}) {
		t.Errorf("exit codes = %v, want [0 3]", got)
	}
}

// TestStdioSubprocess runs the real server over stdio in a child process:
// stdout must carry only JSON-RPC, and crash must end the process with its
// code and no reply.
func TestStdioSubprocess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), runAsServerEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	msgs := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"info"}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"notify","arguments":{"message":"psst"}}}`,
	}
	// Send one at a time, so setLevel is in effect before notify runs.
	sc := bufio.NewScanner(stdout)
	var got []string // "id N" for responses, the method for notifications
	for _, m := range msgs {
		io.WriteString(stdin, m+"\n")
		if strings.Contains(m, `"method":"notifications/`) {
			continue
		}
		for sc.Scan() {
			var msg struct {
				ID     *int            `json:"id"`
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
				t.Fatalf("stdout line is not JSON: %q", sc.Text())
			}
			if msg.ID == nil {
				got = append(got, msg.Method+" "+string(msg.Params))
				continue
			}
			got = append(got, fmt.Sprintf("id %d", *msg.ID))
			break
		}
	}
	want := []string{"id 1", "id 2", "id 3", `notifications/message {"data":"psst","level":"info","logger":"probe"}`, "id 4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stdout messages (-want +got):\n%s", diff)
	}

	io.WriteString(stdin, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"crash","arguments":{"code":7}}}`+"\n")
	rest, _ := io.ReadAll(stdout)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("exit = %v, want exit code 7; stderr:\n%s", err, stderr.String())
	}
	if len(rest) != 0 {
		t.Errorf("crash replied or wrote to stdout: %q", rest)
	}
}

func TestRunVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr.String())
	}
	if got, want := stdout.String(), version+"\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if code := run(context.Background(), []string{"--bogus"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown flag: exit code %d, want 2", code)
	}
}

func TestEnvHash(t *testing.T) {
	t.Setenv("PROBE_HASH_ME", "s3cret-value")
	cs := connect(t, nil, nil, nil)
	res := call(t, cs, "env_hash", map[string]any{"name": "PROBE_HASH_ME"})
	got := structured[envHashOut](t, res)
	sum := sha256.Sum256([]byte("s3cret-value"))
	want := envHashOut{Name: "PROBE_HASH_ME", SHA256: hex.EncodeToString(sum[:]), Set: true, Length: 12}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env_hash (-want +got):\n%s", diff)
	}
	if b, _ := json.Marshal(res); strings.Contains(string(b), "s3cret-value") {
		t.Errorf("env_hash leaked the value: %s", b)
	}
}
