package keychain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

const testService = "svc"

func newFakeStore(t *testing.T) (*Store, *fakeKeychain) {
	t.Helper()
	f := newFake()
	return New(Options{Service: testService, Timeout: 2 * time.Second, backend: f}), f
}

// randomText returns n bytes of printable pseudo-random text, reproducible by seed.
func randomText(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func TestServiceName(t *testing.T) {
	tests := []struct {
		env, configured, want string
	}{
		{"", "", DefaultService},
		{"", "work", "work"},
		{"ci-run-7", "", "ci-run-7"},
		{"ci-run-7", "work", "ci-run-7"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("env=%q,configured=%q", tt.env, tt.configured), func(t *testing.T) {
			t.Setenv(EnvService, tt.env)
			if got := ServiceName(tt.configured); got != tt.want {
				t.Errorf("ServiceName(%q) with $%s=%q = %q, want %q", tt.configured, EnvService, tt.env, got, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	s := New(Options{})
	if got, want := s.Service(), DefaultService; got != want {
		t.Errorf("Service() = %q, want %q", got, want)
	}
	if got, want := s.timeout, DefaultTimeout; got != want {
		t.Errorf("timeout = %v, want %v", got, want)
	}
	if got, want := New(Options{Service: "x"}).Service(), "x"; got != want {
		t.Errorf("Service() = %q, want %q", got, want)
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // "" means valid
	}{
		{"github-pat", ""},
		{"oauth.github.refresh", ""},
		{"A_b-9.z", ""},
		{strings.Repeat("a", 128), ""},
		{"", "empty"},
		{strings.Repeat("a", 129), "limit is 128"},
		{".index", "reserved"},
		{".chunk.x.0123456789abcdef.1", "reserved"},
		{"has space", `contains ' '`},
		{"slash/y", `contains '/'`},
		{"colon:y", `contains ':'`},
		{"ümlaut", "contains"},
	}
	for _, tt := range tests {
		err := ValidName(tt.name)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidName(%q) = %v, want nil", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidName(%q) = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestItemName(t *testing.T) {
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"oauth", "github", "refresh"}, "oauth.github.refresh"},
		{[]string{"oauth", "my_server-2", "client"}, "oauth.my_server-2.client"},
		{[]string{"oauth", "my server", "client"}, "oauth.b32-dlsi0sr5e9r6asg.client"},
		{[]string{"oauth", "a.b", "meta"}, "oauth.b32-c4n64.meta"},
		{[]string{"oauth", "b32-x", "meta"}, "oauth.b32-c8pj4bbo.meta"},
		{[]string{"", "x"}, "b32-.x"},
	}
	for _, tt := range tests {
		got, err := ItemName(tt.parts...)
		if err != nil || got != tt.want {
			t.Errorf("ItemName(%q) = %q, %v, want %q, nil", tt.parts, got, err, tt.want)
		}
		if err := ValidName(got); err != nil {
			t.Errorf("ItemName(%q) = %q, not a valid name: %v", tt.parts, got, err)
		}
	}

	// Distinct part lists give distinct names, including the tricky ones.
	lists := [][]string{
		{"a.b"}, {"a", "b"}, {"a_b"}, {"a b"}, {"b32-c4n64"}, {"b32-"}, {""}, {"", ""}, {"a", ""}, {"A"},
	}
	seen := map[string][]string{}
	for _, l := range lists {
		n, err := ItemName(l...)
		if err != nil {
			t.Fatalf("ItemName(%q): %v", l, err)
		}
		if prev, dup := seen[n]; dup {
			t.Errorf("ItemName(%q) = ItemName(%q) = %q", l, prev, n)
		}
		seen[n] = l
	}

	if got, err := ItemName("oauth", strings.Repeat("x", 200)); err == nil {
		t.Errorf("ItemName(too long) = %q, nil, want error", got)
	}
}

func TestRoundTrip(t *testing.T) {
	big := randomText(8<<10, 1)
	tests := []struct {
		desc  string
		value string
	}{
		{"empty", ""},
		{"small", "hunter2"},
		{"newlines and spaces", "  line1\nline2\n\t"},
		{"exactly one piece", randomText(maxPiece, 2)},
		{"one byte over", randomText(maxPiece+1, 3)},
		{"8KB", big},
		{"100KB", randomText(100<<10, 4)},
		{"1MiB", randomText(maxValue, 5)},
		{"multibyte across piece boundaries", strings.Repeat("é日本🔑", 1000)},
		{"invalid UTF-8", strings.Repeat("\xff\xfe\x80", 1500)},
		{"header lookalike", "mcp-sandbox-chunked:v1:2:0123456789abcdef:0123456789abcdef0123456789abcdef"},
		{"bare chunk marker", chunkMarker},
		{"plain marker lookalike", plainMarker + "x"},
		{"bare plain marker", plainMarker},
		{"double plain marker", plainMarker + plainMarker},
		{"large header lookalike", chunkMarker + "v1:3:" + big},
		{"lookalike at the piece limit", chunkMarker + randomText(maxPiece-len(chunkMarker), 6)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s, f := newFakeStore(t)
			ctx := t.Context()
			if err := s.Set(ctx, "name", tt.value); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := s.Get(ctx, "name")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got != tt.value {
				t.Errorf("Get returned %d bytes differing from the %d set", len(got), len(tt.value))
			}
			// Every item fits the platform limits, and pieces of valid
			// UTF-8 are valid UTF-8.
			for _, u := range f.users(testService) {
				v, _ := f.raw(testService, u)
				if len(v) > maxPiece {
					t.Errorf("item %q holds %d bytes, more than %d", u, len(v), maxPiece)
				}
				if utf8.ValidString(tt.value) && !utf8.ValidString(v) {
					t.Errorf("item %q is not valid UTF-8", u)
				}
			}
		})
	}
}

func TestSetRejectsOversizedValue(t *testing.T) {
	s, f := newFakeStore(t)
	err := s.Set(t.Context(), "name", strings.Repeat("x", maxValue+1))
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Set(1 MiB + 1) = %v, want a size error", err)
	}
	if got := f.callCount(); got != 0 {
		t.Errorf("backend calls = %d, want 0", got)
	}
}

func TestInvalidNameRejected(t *testing.T) {
	s, f := newFakeStore(t)
	ctx := t.Context()
	for _, name := range []string{"", ".index", "a b"} {
		if _, err := s.Get(ctx, name); err == nil {
			t.Errorf("Get(%q) succeeded", name)
		}
		if err := s.Set(ctx, name, "v"); err == nil {
			t.Errorf("Set(%q) succeeded", name)
		}
		if err := s.Delete(ctx, name); err == nil {
			t.Errorf("Delete(%q) succeeded", name)
		}
	}
	if got := f.callCount(); got != 0 {
		t.Errorf("backend calls = %d, want 0", got)
	}
}

// chunkItems returns the chunk items of name currently in f.
func chunkItems(f *fakeKeychain, name string) []string {
	var cs []string
	for _, u := range f.users(testService) {
		if strings.HasPrefix(u, ".chunk."+name+".") {
			cs = append(cs, u)
		}
	}
	return cs
}

func TestOverwriteRemovesStaleChunks(t *testing.T) {
	s, f := newFakeStore(t)
	ctx := t.Context()
	steps := []struct {
		size       int
		wantChunks int
	}{
		{10 << 10, 6},  // 10240 bytes: 5 full pieces + 1
		{8 << 10, 5},   // large -> smaller large
		{100, 0},       // large -> small: no chunk left behind
		{4001, 3},      // small -> large
		{4001, 3},      // same size again: new generation replaces the old
		{maxPiece, 0},  // exactly one piece
		{30 << 10, 16}, // 30720 bytes
		{0, 0},
	}
	for i, st := range steps {
		value := randomText(st.size, uint64(i))
		if err := s.Set(ctx, "tok", value); err != nil {
			t.Fatalf("step %d: Set(%d bytes): %v", i, st.size, err)
		}
		if got := len(chunkItems(f, "tok")); got != st.wantChunks {
			t.Errorf("step %d: %d chunk items after Set(%d bytes), want %d", i, got, st.size, st.wantChunks)
		}
		got, err := s.Get(ctx, "tok")
		if err != nil || got != value {
			t.Errorf("step %d: Get = %d bytes, %v; want the %d bytes set", i, len(got), err, st.size)
		}
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newFakeStore(t)
	ctx := t.Context()
	_, err := s.Get(ctx, "missing")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
	if got, want := err.Error(), `secret "missing" not found in keychain service "svc"`; got != want {
		t.Errorf("Get(missing) error = %q, want %q", got, want)
	}
	if err := s.Delete(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(missing) = %v, want ErrNotFound", err)
	}
}

func TestDeleteRemovesEverything(t *testing.T) {
	for _, size := range []int{10, 9000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s, f := newFakeStore(t)
			ctx := t.Context()
			if err := s.Set(ctx, "keep", "k"); err != nil {
				t.Fatal(err)
			}
			if err := s.Set(ctx, "gone", randomText(size, 9)); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "gone"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if diff := cmp.Diff([]string{".index", "keep"}, f.users(testService)); diff != "" {
				t.Errorf("items after Delete (-want +got):\n%s", diff)
			}
			if _, err := s.Get(ctx, "gone"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after Delete = %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, "gone"); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Delete = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestList(t *testing.T) {
	s, f := newFakeStore(t)
	ctx := t.Context()
	got, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List on empty store: %v", err)
	}
	if diff := cmp.Diff([]string{}, got); diff != "" {
		t.Errorf("List on empty store (-want +got):\n%s", diff)
	}

	for _, n := range []string{"zeta", "alpha", "big", "alpha"} {
		if err := s.Set(ctx, n, randomText(5000, 1)); err != nil {
			t.Fatal(err)
		}
	}
	f.put(testService, "foreign", "set by another tool")
	if v, err := s.Get(ctx, "foreign"); err != nil || v != "set by another tool" {
		t.Errorf("Get(foreign) = %q, %v", v, err)
	}
	got, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"alpha", "big", "zeta"}, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	if err := s.Delete(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.List(ctx)
	if diff := cmp.Diff([]string{"alpha", "zeta"}, got); diff != "" {
		t.Errorf("List after Delete (-want +got):\n%s", diff)
	}

	// An index entry whose secret vanished is removed by Delete, which
	// still reports the secret missing.
	f.put(testService, "alpha", "")
	if err := s.backend.Delete(testService, "alpha"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "alpha"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(vanished) = %v, want ErrNotFound", err)
	}
	got, _ = s.List(ctx)
	if diff := cmp.Diff([]string{"zeta"}, got); diff != "" {
		t.Errorf("List after deleting a vanished secret (-want +got):\n%s", diff)
	}
}

func TestListLargeIndex(t *testing.T) {
	s, f := newFakeStore(t)
	ctx := t.Context()
	var want []string
	for i := range 150 {
		n := fmt.Sprintf("oauth.server-%03d.refresh", i)
		want = append(want, n)
		if err := s.Set(ctx, n, "v"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if len(chunkItems(f, ".index")) == 0 {
		t.Errorf("index of %d names was not chunked", len(want))
	}
}

func TestDamagedIndexIsRebuilt(t *testing.T) {
	s, f := newFakeStore(t)
	ctx := t.Context()
	f.put(testService, indexName, "{not json")
	if _, err := s.List(ctx); err == nil {
		t.Errorf("List with a damaged index succeeded")
	}
	if err := s.Set(ctx, "a", "v"); err != nil {
		t.Fatalf("Set with a damaged index: %v", err)
	}
	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a"}, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

// blockingStore returns a store whose backend blocks every call until the
// test ends.
func blockingStore(t *testing.T, timeout time.Duration) (*Store, *fakeKeychain) {
	t.Helper()
	f := newFake()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.before = func(string, string, string, string) error {
		<-release
		return nil
	}
	return New(Options{Service: testService, Timeout: timeout, backend: f}), f
}

// ops runs each public operation; the value is what Set stores.
func ops(value string) map[string]func(context.Context, *Store) error {
	return map[string]func(context.Context, *Store) error{
		"Get": func(ctx context.Context, s *Store) error { _, err := s.Get(ctx, "name"); return err },
		"Set": func(ctx context.Context, s *Store) error { return s.Set(ctx, "name", value) },
		"Delete": func(ctx context.Context, s *Store) error {
			return s.Delete(ctx, "name")
		},
		"List": func(ctx context.Context, s *Store) error { _, err := s.List(ctx); return err },
	}
}

func TestTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for op, run := range ops("secret-value") {
		t.Run(op, func(t *testing.T) {
			s, _ := blockingStore(t, timeout)
			start := time.Now()
			err := run(t.Context(), s)
			elapsed := time.Since(start)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("%s = %v, want ErrTimeout", op, err)
			}
			if elapsed < timeout || elapsed > timeout+time.Second {
				t.Errorf("%s took %v, want about %v", op, elapsed, timeout)
			}
			if !strings.Contains(err.Error(), "waited 100ms") {
				t.Errorf("%s error %q does not say how long it waited", op, err)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	for op, run := range ops("secret-value") {
		t.Run(op, func(t *testing.T) {
			s, _ := blockingStore(t, time.Minute)
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			err := run(ctx, s)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s = %v, want context.Canceled", op, err)
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("%s returned %v after cancel, want promptly", op, elapsed)
			}
		})
	}
}

func TestCanceledContextMakesNoCall(t *testing.T) {
	for op, run := range ops("v") {
		s, f := newFakeStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := run(ctx, s); !errors.Is(err, context.Canceled) {
			t.Errorf("%s = %v, want context.Canceled", op, err)
		}
		if got := f.callCount(); got != 0 {
			t.Errorf("%s made %d backend calls with a canceled context", op, got)
		}
	}
}

func TestBackendErrorWrapped(t *testing.T) {
	for op, run := range ops("secret-value") {
		t.Run(op, func(t *testing.T) {
			s, f := newFakeStore(t)
			f.before = func(string, string, string, string) error { return errFakeBackend }
			err := run(t.Context(), s)
			if !errors.Is(err, errFakeBackend) {
				t.Fatalf("%s = %v, want it to wrap the backend error", op, err)
			}
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrTimeout) {
				t.Errorf("%s = %v, matches ErrNotFound or ErrTimeout", op, err)
			}
			if op != "List" && !strings.Contains(err.Error(), `"name"`) {
				t.Errorf("%s error %q does not name the secret", op, err)
			}
		})
	}
}

func TestDamagedValues(t *testing.T) {
	value := randomText(7000, 3) // 4 pieces
	tests := []struct {
		desc    string
		damage  func(f *fakeKeychain, h header)
		wantErr string
	}{
		{"piece changed", func(f *fakeKeychain, h header) {
			p, _ := f.raw(testService, h.pieceName("tok", 2))
			f.put(testService, h.pieceName("tok", 2), "X"+p[1:])
		}, "checksum"},
		{"piece missing", func(f *fakeKeychain, h header) {
			_ = f.Delete(testService, h.pieceName("tok", 3))
		}, "chunk 3 of 4 is missing"},
		{"header announces more pieces", func(f *fakeKeychain, h header) {
			h.n = 5
			f.put(testService, "tok", h.String())
		}, "chunk 5 of 5 is missing"},
		{"header announces fewer pieces", func(f *fakeKeychain, h header) {
			h.n = 3
			f.put(testService, "tok", h.String())
		}, "checksum"},
		{"header of an interrupted write", func(f *fakeKeychain, h header) {
			h.gen = "00000000000000ff"
			f.put(testService, "tok", h.String())
		}, "chunk 1 of 4 is missing"},
		{"malformed header", func(f *fakeKeychain, h header) {
			f.put(testService, "tok", chunkMarker+"v1:4:zz")
		}, "malformed chunk header"},
		{"absurd piece count", func(f *fakeKeychain, h header) {
			h.n = maxChunks + 1
			f.put(testService, "tok", h.String())
		}, "malformed chunk header"},
		{"newer format", func(f *fakeKeychain, h header) {
			f.put(testService, "tok", chunkMarker+"v2:whatever")
		}, "newer"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s, f := newFakeStore(t)
			ctx := t.Context()
			if err := s.Set(ctx, "tok", value); err != nil {
				t.Fatal(err)
			}
			raw, _ := f.raw(testService, "tok")
			h, err := parseHeader(raw)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(f, h)
			got, err := s.Get(ctx, "tok")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Get = %d bytes, %v; want error containing %q", len(got), err, tt.wantErr)
			}
			if got != "" {
				t.Errorf("Get returned %d bytes along with the error", len(got))
			}
			if strings.Contains(err.Error(), value[:20]) {
				t.Errorf("error quotes the value: %v", err)
			}
			// Setting again repairs it.
			if err := s.Set(ctx, "tok", "fresh"); err != nil {
				t.Fatalf("Set over damaged value: %v", err)
			}
			if got, err := s.Get(ctx, "tok"); err != nil || got != "fresh" {
				t.Errorf("Get after repair = %q, %v", got, err)
			}
		})
	}
}

func TestInterruptedWriteKeepsOldValue(t *testing.T) {
	s, f := newFakeStore(t)
	ctx := t.Context()
	old := randomText(5000, 1)
	if err := s.Set(ctx, "tok", old); err != nil {
		t.Fatal(err)
	}
	// The new value's third piece fails: the header is never replaced.
	f.before = func(op, _, user, _ string) error {
		if op == "set" && strings.HasSuffix(user, ".3") {
			return errFakeBackend
		}
		return nil
	}
	if err := s.Set(ctx, "tok", randomText(9000, 2)); !errors.Is(err, errFakeBackend) {
		t.Fatalf("Set = %v, want the backend error", err)
	}
	f.before = nil
	got, err := s.Get(ctx, "tok")
	if err != nil || got != old {
		t.Errorf("Get after failed Set = %d bytes, %v; want the old %d bytes", len(got), err, len(old))
	}
	if got := len(chunkItems(f, "tok")); got != 3 {
		t.Errorf("%d chunk items after failed Set, want the old value's 3", got)
	}
}

func TestReaderRacingWriterRetries(t *testing.T) {
	f := newFake()
	reader := New(Options{Service: testService, backend: f})
	writer := New(Options{Service: testService, backend: f})
	ctx := t.Context()
	if err := writer.Set(ctx, "tok", randomText(5000, 1)); err != nil {
		t.Fatal(err)
	}
	newValue := randomText(6000, 2)
	var once sync.Once
	f.before = func(op, _, user, _ string) error {
		if op == "get" && strings.HasPrefix(user, ".chunk.tok.") && strings.HasSuffix(user, ".2") {
			// Between the reader's first and second piece, another
			// process replaces the value (and removes the old pieces).
			once.Do(func() {
				if err := writer.Set(ctx, "tok", newValue); err != nil {
					t.Errorf("concurrent Set: %v", err)
				}
			})
		}
		return nil
	}
	got, err := reader.Get(ctx, "tok")
	if err != nil || got != newValue {
		t.Errorf("Get racing a Set = %d bytes, %v; want the new %d bytes", len(got), err, len(newValue))
	}
}

func TestIndexLostUpdateIsRetried(t *testing.T) {
	s, f := newFakeStore(t)
	var once sync.Once
	f.after = func(op, service, user string) {
		if user == indexName {
			// Another process writes its own index right after ours.
			once.Do(func() { f.put(service, indexName, `["other"]`) })
		}
	}
	if err := s.Set(t.Context(), "mine", "v"); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"mine", "other"}, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func TestIndexFailureKeepsSecret(t *testing.T) {
	f := newFake()
	var logs bytes.Buffer
	logger := zerolog.New(&logs)
	s := New(Options{Service: testService, backend: f, Logger: &logger})
	f.before = func(op, _, user, _ string) error {
		if user == indexName {
			return errFakeBackend
		}
		return nil
	}
	const value = "s3cr3t-value-for-index-test"
	if err := s.Set(t.Context(), "tok", value); err != nil {
		t.Fatalf("Set with a failing index = %v, want nil", err)
	}
	if got, err := s.Get(t.Context(), "tok"); err != nil || got != value {
		t.Errorf("Get = %q, %v", got, err)
	}
	if !strings.Contains(logs.String(), "index") || !strings.Contains(logs.String(), `"secret":"tok"`) {
		t.Errorf("no warning about the index logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), value) {
		t.Errorf("log contains the value: %s", logs.String())
	}
}

func TestConcurrentWritersKeepAllSecrets(t *testing.T) {
	f := newFake()
	ctx := t.Context()
	const n = 16
	values := map[string]string{}
	for i := range n {
		values[fmt.Sprintf("s%02d", i)] = randomText(100+i*500, uint64(i))
	}
	var wg sync.WaitGroup
	for name, v := range values {
		wg.Go(func() {
			// One store per writer, as if in separate processes.
			s := New(Options{Service: testService, backend: f})
			if err := s.Set(ctx, name, v); err != nil {
				t.Errorf("Set(%s): %v", name, err)
			}
		})
	}
	wg.Wait()
	s := New(Options{Service: testService, backend: f})
	for name, want := range values {
		if got, err := s.Get(ctx, name); err != nil || got != want {
			t.Errorf("Get(%s) = %d bytes, %v; want %d bytes", name, len(got), err, len(want))
		}
	}
	// The index is best effort under contention: whatever it lists exists.
	listed, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range listed {
		if _, ok := values[name]; !ok {
			t.Errorf("List returned %q, which was never set", name)
		}
	}
	t.Logf("index lists %d of %d names after %d concurrent writers", len(listed), n, n)
}

// echoingFake fails call number failAt (counting from 1) with an error that
// quotes everything the backend was given, as a careless backend might.
func echoingFake(failAt int) *fakeKeychain {
	f := newFake()
	calls := 0
	var mu sync.Mutex
	f.before = func(op, service, user, data string) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == failAt {
			return fmt.Errorf("%s service=%q user=%q password=%q: %w", op, service, user, data, errFakeBackend)
		}
		return nil
	}
	return f
}

func TestNoSecretInErrors(t *testing.T) {
	values := map[string]string{
		"small":     "small-secret-ghp_1234567890abcdef",
		"large":     randomText(7000, 11),
		"lookalike": chunkMarker + randomText(3000, 12),
	}
	for desc, value := range values {
		t.Run(desc, func(t *testing.T) {
			// Fail each backend call of a Set, Get, Set-over, Delete sequence in
			// turn, plus the paths that do not involve the backend failing.
			withheld := 0
			for failAt := 1; failAt <= 60; failAt++ {
				f := echoingFake(failAt)
				var logs bytes.Buffer
				logger := zerolog.New(&logs)
				s := New(Options{Service: testService, backend: f, Logger: &logger})
				ctx := t.Context()
				var errs []error
				errs = append(errs, s.Set(ctx, "tok", value))
				_, err := s.Get(ctx, "tok")
				errs = append(errs, err)
				errs = append(errs, s.Set(ctx, "tok", value+"x"))
				errs = append(errs, s.Delete(ctx, "tok"))
				_, err = s.List(ctx)
				errs = append(errs, err)
				for _, err := range errs {
					if err != nil && strings.Contains(err.Error(), "withheld") {
						withheld++
					}
					if err != nil && leaks(err.Error(), value) {
						t.Errorf("failAt=%d: error contains secret data: %v", failAt, err)
					}
				}
				if leaks(logs.String(), value) {
					t.Errorf("failAt=%d: log contains secret data: %s", failAt, logs.String())
				}
			}

			if withheld == 0 {
				t.Errorf("no backend error was withheld; the echoing fake did not exercise the check")
			}

			// Paths where the store itself fails: timeout, size, damage.
			s, _ := blockingStore(t, 10*time.Millisecond)
			if err := s.Set(t.Context(), "tok", value); err == nil || leaks(err.Error(), value) {
				t.Errorf("timed-out Set error = %v", err)
			}
			s2, f2 := newFakeStore(t)
			if err := s2.Set(t.Context(), "tok", value+strings.Repeat("x", maxValue)); err == nil || leaks(err.Error(), value) {
				t.Errorf("oversized Set error = %v", err)
			}
			f2.put(testService, "tok", chunkMarker+"v1:"+value)
			if _, err := s2.Get(t.Context(), "tok"); err == nil || leaks(err.Error(), value) {
				t.Errorf("Get of a malformed header: error = %v", err)
			}
		})
	}
}

func TestLeaks(t *testing.T) {
	data := "0123456789abcdefghijklmnopqrstuvwxyz"
	tests := []struct {
		msg, data string
		want      bool
	}{
		{"error: " + data, data, true},
		{"error: …6789abcdefghij…", data, true}, // a truncated quote
		{"error: 0123456789a", data, false},     // shorter than the window
		{"exit status 1", data, false},
		{"exit status 1", "", false},
		{"bad pin 1234", "1234", true},
		{"bad pin", "1234", false},
	}
	for _, tt := range tests {
		if got := leaks(tt.msg, tt.data); got != tt.want {
			t.Errorf("leaks(%q, %q) = %v, want %v", tt.msg, tt.data, got, tt.want)
		}
	}
}

func TestWithheldBackendError(t *testing.T) {
	f := echoingFake(2) // call 1 reads the old header, call 2 writes the value
	s := New(Options{Service: testService, backend: f})
	const value = "ghp_abcdefghijklmnopqrstuvwxyz"
	err := s.Set(t.Context(), "tok", value)
	if err == nil || !strings.Contains(err.Error(), "withheld") {
		t.Fatalf("Set = %v, want the backend's message withheld", err)
	}
	if strings.Contains(err.Error(), value) {
		t.Errorf("error contains the value: %v", err)
	}
}

func TestTimedOutChunkedSetReturnsPromptly(t *testing.T) {
	const timeout = 200 * time.Millisecond
	f := newFake()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var mu sync.Mutex
	hung := false
	f.before = func(op, _, user, _ string) error {
		mu.Lock()
		if op == "set" && strings.HasSuffix(user, ".2") {
			hung = true // from the second piece on, the keychain hangs
		}
		h := hung
		mu.Unlock()
		if h {
			<-release
		}
		return nil
	}
	s := New(Options{Service: testService, Timeout: timeout, backend: f})
	start := time.Now()
	err := s.Set(t.Context(), "tok", randomText(5000, 1))
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Set = %v, want ErrTimeout", err)
	}
	// No cleanup attempt against the hung keychain (it would add another timeout).
	if elapsed > timeout+timeout*3/4 {
		t.Errorf("Set returned after %v, want about %v", elapsed, timeout)
	}
}
