package browser

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCommand(t *testing.T) {
	const u = "https://as.example/authorize?a=1&b=2"
	tests := []struct {
		env, goos string
		want      []string
	}{
		{"", "linux", []string{"xdg-open", u}},
		{"", "darwin", []string{"open", u}},
		{"", "windows", []string{"rundll32", "url.dll,FileProtocolHandler", u}},
		{"firefox", "linux", []string{"firefox", u}},
		{"curl -sSL -o /dev/null", "linux", []string{"curl", "-sSL", "-o", "/dev/null", u}},
		{"chrome --app=%s", "linux", []string{"chrome", "--app=" + u}},
	}
	for _, tt := range tests {
		name, args := Command(tt.env, tt.goos, u)
		if diff := cmp.Diff(append([]string{name}, args...), tt.want); diff != "" {
			t.Errorf("Command(%q, %q) (-got +want):\n%s", tt.env, tt.goos, diff)
		}
	}
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts as browsers need a Unix shell")
	}
	p := filepath.Join(t.TempDir(), "browser")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpen(t *testing.T) {
	const u = "http://127.0.0.1:1/x"
	ctx := context.Background()
	t.Run("output goes to out, the exit to exited", func(t *testing.T) {
		t.Setenv("BROWSER", script(t, `echo "opening $1"`))
		var out strings.Builder
		exited := make(chan error, 1)
		if err := Open(ctx, u, &out, 0, func(err error) { exited <- err }); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err != nil {
			t.Fatalf("exited: %v", err)
		}
		if got := out.String(); got != "opening "+u+"\n" {
			t.Errorf("output %q", got)
		}
	})
	t.Run("an opener that fails within settle is an error", func(t *testing.T) {
		t.Setenv("BROWSER", script(t, "exit 3"))
		err := Open(ctx, u, &strings.Builder{}, 5*time.Second, nil)
		if err == nil || !strings.Contains(err.Error(), "failed") {
			t.Errorf("error %v, want the browser failed", err)
		}
	})
	t.Run("a browser still running after settle is fine", func(t *testing.T) {
		t.Setenv("BROWSER", script(t, "exec sleep 2"))
		if err := Open(ctx, u, &strings.Builder{}, 100*time.Millisecond, nil); err != nil {
			t.Errorf("error %v", err)
		}
	})
	t.Run("a missing program says so", func(t *testing.T) {
		t.Setenv("BROWSER", filepath.Join(t.TempDir(), "no-such-browser"))
		err := Open(ctx, u, &strings.Builder{}, 0, nil)
		if err == nil || !strings.Contains(err.Error(), "cannot start the browser") && !strings.Contains(err.Error(), "not found") {
			t.Errorf("error %v", err)
		}
	})
}
