package keychain

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

func serverFrom(t *testing.T, toml string) *profiles.Server {
	t.Helper()
	cfg, err := profiles.Parse("c.toml", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Servers["s"]
}

// TestResolve reads each item once and puts its value where the
// configuration says, literal headers left to the caller.
func TestResolve(t *testing.T) {
	s, f := newFakeStore(t)
	ctx := context.Background()
	for name, v := range map[string]string{"api-key": "api-key-value-1", "client": "client-secret-value"} {
		if err := s.Set(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	srv := serverFrom(t, `
[servers.s]
url = "https://example.invalid/mcp"
headers = { X-Api-Key = "secret:api-key", X-Again = "secret:api-key", X-Plain = "literal" }
oauth.client_secret = "secret:client"
`)
	f.mu.Lock()
	before := f.calls
	f.mu.Unlock()
	rs, err := Resolve(ctx, s, srv.SecretRefs())
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	gets := f.calls - before
	f.mu.Unlock()
	if diff := cmp.Diff(map[string]string{"X-Api-Key": "api-key-value-1", "X-Again": "api-key-value-1"}, rs.Headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if rs.OAuthClientSecret != "client-secret-value" {
		t.Errorf("oauth client secret %q", rs.OAuthClientSecret)
	}
	want := []redact.Secret{{Name: "api-key", Value: "api-key-value-1"}, {Name: "client", Value: "client-secret-value"}}
	if diff := cmp.Diff(want, rs.Secrets); diff != "" {
		t.Errorf("redactor values (-want +got):\n%s", diff)
	}
	// Two items, each read once (one keychain call each for short values).
	if gets != 2 {
		t.Errorf("%d keychain calls, want 2 (each item once)", gets)
	}

	local := serverFrom(t, `
[servers.s]
image = "x"
secrets = { TOKEN = "api-key" }
secret_files = { "/run/k" = "client" }
`)
	rs, err = Resolve(ctx, s, local.SecretRefs())
	if err != nil {
		t.Fatal(err)
	}
	if rs.Env["TOKEN"] != "api-key-value-1" || string(rs.Files["/run/k"]) != "client-secret-value" {
		t.Errorf("env %v files %v", rs.Env, rs.Files)
	}
}

// TestResolveMissing names the item and its use, wraps ErrNotFound, and
// carries no value.
func TestResolveMissing(t *testing.T) {
	s, _ := newFakeStore(t)
	ctx := context.Background()
	if err := s.Set(ctx, "present", "present-value-123"); err != nil {
		t.Fatal(err)
	}
	srv := serverFrom(t, "[servers.s]\nimage = \"x\"\nsecrets = { A = \"present\", B = \"absent\" }\n")
	_, err := Resolve(ctx, s, srv.SecretRefs())
	var me *MissingError
	if !errors.As(err, &me) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("Resolve: %v, want a *MissingError wrapping ErrNotFound", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `"absent" (for $B)`) || strings.Contains(msg, "present-value") {
		t.Errorf("message %q", msg)
	}
	got := Probe(ctx, s, srv.SecretRefs())
	if len(got) != 2 || got[0].Err != nil || !errors.Is(got[1].Err, ErrNotFound) {
		t.Errorf("Probe = %+v, want $A present and $B missing", got)
	}
}

// TestResolveBounded: a keychain that never answers fails the resolution
// within the caller's deadline instead of hanging the launch.
func TestResolveBounded(t *testing.T) {
	s, f := newFakeStore(t)
	release := make(chan struct{})
	defer close(release)
	f.before = func(op, service, user, data string) error {
		<-release
		return nil
	}
	srv := serverFrom(t, "[servers.s]\nimage = \"x\"\nsecrets = { A = \"item\" }\n")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Resolve(ctx, s, srv.SecretRefs())
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Resolve against a hung keychain: %v, want a timeout", err)
	}
}
