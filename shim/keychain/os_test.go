package keychain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zalando/go-keyring"
)

// osStore returns a store on the real OS keychain under a fresh service
// "mcp-sandbox-test-<random>", whose items are all deleted when the test
// ends. It skips the test when no keychain answers a quick probe, or fails
// it when $MCP_SANDBOX_REQUIRE_KEYCHAIN is 1.
func osStore(t *testing.T) *Store {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	service := "mcp-sandbox-test-" + hex.EncodeToString(b)
	s := New(Options{Service: service, Timeout: 10 * time.Second})

	probe := New(Options{Service: service, Timeout: 3 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := probe.set(ctx, "probe", "probe-value")
	if err == nil {
		var v string
		if v, err = probe.get(ctx, "probe"); err == nil && v != "probe-value" {
			err = errors.New("probe read back a different value")
		}
	}
	if err == nil {
		err = probe.del(ctx, "probe")
	}
	if err != nil {
		if os.Getenv("MCP_SANDBOX_REQUIRE_KEYCHAIN") == "1" {
			t.Fatalf("OS keychain required (MCP_SANDBOX_REQUIRE_KEYCHAIN=1) but the probe failed: %v", err)
		}
		t.Skipf("skipping: no OS keychain answers (probe: %v); on Linux run a Secret Service (see .ci/keychain.sh), set MCP_SANDBOX_REQUIRE_KEYCHAIN=1 to fail instead", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.call(ctx, func() (string, error) { return "", keyring.DeleteAll(service) }); err != nil {
			t.Errorf("cleanup of keychain service %s: %v", service, err)
		}
	})
	return s
}

func TestOSKeychainRoundTrip(t *testing.T) {
	s := osStore(t)
	tests := []struct {
		desc  string
		value string
	}{
		{"small", "ghp_small-secret-value"},
		{"header lookalike", chunkMarker + "v1:1:0123456789abcdef:0123456789abcdef0123456789abcdef"},
		{"8KB", randomText(8<<10, 21)},
		{"100KB", randomText(100<<10, 22)},
		{"multibyte", "pässwörd-🔑-" + randomText(3000, 23)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			ctx := t.Context()
			start := time.Now()
			if err := s.Set(ctx, "roundtrip", tt.value); err != nil {
				t.Fatalf("Set: %v", err)
			}
			setTook := time.Since(start)
			start = time.Now()
			got, err := s.Get(ctx, "roundtrip")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			t.Logf("%d bytes: Set %v, Get %v", len(tt.value), setTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			if got != tt.value {
				t.Errorf("Get returned %d bytes differing from the %d set", len(got), len(tt.value))
			}
		})
	}
}

func TestOSKeychainNotFound(t *testing.T) {
	s := osStore(t)
	ctx := t.Context()
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(missing) = %v, want ErrNotFound", err)
	}
}

func TestOSKeychainOverwriteAndDeleteLeaveNoChunks(t *testing.T) {
	s := osStore(t)
	ctx := t.Context()
	if err := s.Set(ctx, "tok", randomText(8<<10, 31)); err != nil {
		t.Fatal(err)
	}
	raw, err := s.get(ctx, "tok")
	if err != nil {
		t.Fatal(err)
	}
	old, err := parseHeader(raw)
	if err != nil {
		t.Fatalf("8 KB value not stored chunked: %v", err)
	}
	if err := s.Set(ctx, "tok", "small"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= old.n; i++ {
		if _, err := s.get(ctx, old.pieceName("tok", i)); !errors.Is(err, errAbsent) {
			t.Errorf("chunk %d of the old value after overwrite: %v, want it gone", i, err)
		}
	}
	if got, err := s.Get(ctx, "tok"); err != nil || got != "small" {
		t.Errorf("Get = %q, %v; want %q", got, err, "small")
	}

	if err := s.Set(ctx, "tok", randomText(5000, 32)); err != nil {
		t.Fatal(err)
	}
	raw, _ = s.get(ctx, "tok")
	cur, err := parseHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= cur.n; i++ {
		if _, err := s.get(ctx, cur.pieceName("tok", i)); !errors.Is(err, errAbsent) {
			t.Errorf("chunk %d after Delete: %v, want it gone", i, err)
		}
	}
	if _, err := s.Get(ctx, "tok"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
}

func TestOSKeychainList(t *testing.T) {
	s := osStore(t)
	ctx := t.Context()
	for _, n := range []string{"oauth.github.refresh", "github-pat", "big"} {
		v := "value-of-" + n
		if n == "big" {
			v = randomText(6000, 41)
		}
		if err := s.Set(ctx, n, v); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"big", "github-pat", "oauth.github.refresh"}, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if err := s.Delete(ctx, "github-pat"); err != nil {
		t.Fatal(err)
	}
	got, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"big", "oauth.github.refresh"}, got); diff != "" {
		t.Errorf("List after Delete (-want +got):\n%s", diff)
	}
}

func TestOSKeychainServicesAreSeparate(t *testing.T) {
	a, b := osStore(t), osStore(t)
	ctx := t.Context()
	if err := a.Set(ctx, "shared-name", "value-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "shared-name"); !errors.Is(err, ErrNotFound) {
		t.Errorf("service %s sees service %s's item: %v", b.Service(), a.Service(), err)
	}
	if err := b.Set(ctx, "shared-name", "value-b"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    *Store
		want string
	}{{a, "value-a"}, {b, "value-b"}} {
		if got, err := tt.s.Get(ctx, "shared-name"); err != nil || got != tt.want {
			t.Errorf("%s: Get = %q, %v; want %q", tt.s.Service(), got, err, tt.want)
		}
	}
	if err := a.Delete(ctx, "shared-name"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "shared-name"); err != nil || got != "value-b" {
		t.Errorf("after deleting from %s, %s: Get = %q, %v", a.Service(), b.Service(), got, err)
	}
	gotA, _ := a.List(ctx)
	gotB, _ := b.List(ctx)
	if diff := cmp.Diff([]string{}, gotA); diff != "" {
		t.Errorf("List %s (-want +got):\n%s", a.Service(), diff)
	}
	if diff := cmp.Diff([]string{"shared-name"}, gotB); diff != "" {
		t.Errorf("List %s (-want +got):\n%s", b.Service(), diff)
	}
}
