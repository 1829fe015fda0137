package main

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// TestContainerSpec maps a local server's configuration and its resolved
// secrets onto the launcher's spec: literal env and secret env together,
// files, the sandbox limits.
func TestContainerSpec(t *testing.T) {
	cfg := parseConfig(t, `
[servers.s]
image = "img"
args = ["stdio"]
env = { MODE = "ro" }
secrets = { TOKEN = "tok" }
secret_files = { "/run/k" = "key" }
[servers.s.sandbox]
network = "bridge"
memory = "256m"
cpus = 0.5
pids = 64
mounts = ["/srv/data:/data:ro"]
`)
	srv := cfg.Servers["s"]
	rs := &keychain.Resolved{Env: map[string]string{"TOKEN": "token-value"}, Files: map[string][]byte{"/run/k": []byte("key-value")}}
	got := containerSpec(srv, rs, true)
	want := launcher.Spec{
		Name: "s", Image: "img", Rebuild: true, Args: []string{"stdio"},
		Env:     map[string]string{"MODE": "ro", "TOKEN": "token-value"},
		Files:   map[string][]byte{"/run/k": []byte("key-value")},
		Network: "bridge", ReadOnly: true, Memory: 256 << 20, NanoCPUs: 5e8, PidsLimit: 64,
		User: "65534:65534", TmpfsSize: 64 << 20,
		Mounts: []launcher.Mount{{Source: "/srv/data", Target: "/data", ReadOnly: true}},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b func(string) string) bool { return (a == nil) == (b == nil) })); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

// TestRemoteOptions: literal and secret headers are merged, the OAuth client
// secret comes from the keychain, and the bridge shares the session's
// redactor.
func TestRemoteOptions(t *testing.T) {
	cfg := parseConfig(t, `
[servers.r]
url = "https://example.invalid/mcp"
transport = "sse"
headers = { X-Plain = "v", X-Key = "secret:api" }
[servers.r.oauth]
client_id = "cid"
client_secret = "secret:client"
scopes = ["a"]
`)
	rs := &keychain.Resolved{Headers: map[string]string{"X-Key": "api-value-123"}, OAuthClientSecret: "client-secret-1"}
	red, err := redact.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ro := remoteOptions(Streams{ErrOut: io.Discard}, zerolog.Nop(), nil, cfg.Servers["r"], rs, red)
	if diff := cmp.Diff(map[string]string{"X-Plain": "v", "X-Key": "api-value-123"}, ro.Headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if ro.Transport != "sse" || ro.OAuth == nil || ro.OAuth.ClientID != "cid" || ro.OAuth.ClientSecret != "client-secret-1" || ro.Redactor != red {
		t.Errorf("options %+v, oauth %+v", ro, ro.OAuth)
	}
}

// blockingConn's ReadMessage waits until the test releases it.
type blockingConn struct{ release chan struct{} }

func (c *blockingConn) ReadMessage() ([]byte, error) { <-c.release; return nil, io.EOF }
func (c *blockingConn) WriteMessage([]byte) error    { return nil }
func (c *blockingConn) Close() error                 { return nil }

// TestSDKConnCloseEndsRead: the SDK closes its connection to stop its
// reader, and waits for it; a Read blocked on a silent server must return.
func TestSDKConnCloseEndsRead(t *testing.T) {
	up := &blockingConn{release: make(chan struct{})}
	defer close(up.release)
	conn, err := (&connTransport{conn: up}).Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := conn.Read(context.Background())
		done <- err
	}()
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Read after Close returned %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked after Close: the SDK's Close would hang")
	}
}
