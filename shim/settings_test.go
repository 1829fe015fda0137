package shim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

func auditLines(t *testing.T, out string) []AuditRecord {
	t.Helper()
	var recs []AuditRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad audit line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestApplySwapsLiveSettingsTogether turns audit_arguments on and moves the
// audit file in one Apply: the next call is recorded verbatim in the new
// file, the call before it hashed in the old one.
func TestApplySwapsLiveSettingsTogether(t *testing.T) {
	var first, second syncBuffer
	a1, a2 := NewAuditor(&first), NewAuditor(&second)
	h := startRelay(t, Options{Server: "s", Audit: a1})
	call := func(id, text string) {
		h.host.WriteMessage([]byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"echo","arguments":{"text":"` + text + `"}}}`))
		next(t, h.server, "server")
		h.server.WriteMessage([]byte(`{"jsonrpc":"2.0","id":` + id + `,"result":{"content":[]}}`))
		next(t, h.host, "host")
	}
	call("1", "before")
	h.relay.Apply(Settings{AuditArguments: true, Audit: a2})
	call("2", "after")
	if err := a1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a2.Close(); err != nil {
		t.Fatal(err)
	}
	r1, r2 := auditLines(t, first.String()), auditLines(t, second.String())
	if len(r1) != 1 || len(r2) != 1 {
		t.Fatalf("got %d and %d audit lines, want 1 and 1:\n%s\n%s", len(r1), len(r2), first.String(), second.String())
	}
	if r1[0].Arguments != nil || r1[0].ArgumentsSHA256 == "" {
		t.Errorf("call before Apply: %+v, want the hash only", r1[0])
	}
	if got := string(r2[0].Arguments); got != `{"text":"after"}` {
		t.Errorf("call after Apply recorded arguments %s, want them verbatim", got)
	}
}

// TestServeOnce: a second Serve returns ErrServed instead of corrupting the
// first session.
func TestServeOnce(t *testing.T) {
	r := New(Options{Server: "s"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a, b := memPipe()
	if err := r.Serve(ctx, a, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("first Serve returned %v, want context.Canceled", err)
	}
	if err := r.Serve(context.Background(), a, b); !errors.Is(err, ErrServed) {
		t.Errorf("second Serve returned %v, want ErrServed", err)
	}
}

// failingWrites is a host whose stdout is gone.
type failingWrites struct{ *memConn }

func (failingWrites) WriteMessage([]byte) error { return io.ErrClosedPipe }

// TestBrokenHostEndsSession: when the host cannot be written to, Serve ends
// with ErrHostBroken instead of relaying into the void.
func TestBrokenHostEndsSession(t *testing.T) {
	hostEnd, relayHost := memPipe()
	serverEnd, relayUp := memPipe()
	r := New(Options{Server: "s"})
	done := make(chan error, 1)
	go func() { done <- r.Serve(context.Background(), failingWrites{relayHost}, relayUp) }()
	hostEnd.WriteMessage([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	next(t, serverEnd, "server")
	serverEnd.WriteMessage([]byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`))
	select {
	case err := <-done:
		if !errors.Is(err, ErrHostBroken) {
			t.Errorf("Serve returned %v, want ErrHostBroken", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve went on after a failed write to the host")
	}
}

// blockingWriter stalls every write until released, like a hung disk.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	buf     strings.Builder
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestAuditQueueBounded: with the file stalled, Record never blocks; records
// beyond the queue's bound are dropped and counted, the rest written.
func TestAuditQueueBounded(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	a := NewAuditor(w)
	a.mu.Lock()
	a.max = 2
	a.mu.Unlock()
	if !a.Record(AuditRecord{Name: "1"}) {
		t.Fatal("first record refused")
	}
	<-w.entered // the writer holds record 1 and is stuck
	var got []bool
	for _, n := range []string{"2", "3", "4", "5"} {
		got = append(got, a.Record(AuditRecord{Name: n}))
	}
	if want := []bool{true, true, false, false}; !equalBools(got, want) {
		t.Errorf("Record results %v, want %v", got, want)
	}
	if n := a.Dropped(); n != 2 {
		t.Errorf("Dropped = %d, want 2", n)
	}
	close(w.release)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	recs := auditLines(t, w.buf.String())
	w.mu.Unlock()
	if len(recs) != 3 || recs[2].Name != "3" {
		t.Errorf("written %+v, want records 1, 2 and 3", recs)
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
