package launcher

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// shortTempDir returns a directory short enough for a unix socket path.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "msb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// staleSocket leaves a socket file at path with nothing listening on it,
// as an engine that has not started yet (or has died) leaves it.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
}

// serveEngine answers the Engine API's ping at path, as a just-started
// engine does.
func serveEngine(t *testing.T, path string) {
	t.Helper()
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Write([]byte("OK"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// logHook calls fn on each log line.
type logHook struct {
	mu  sync.Mutex
	buf bytes.Buffer
	fn  func(line string)
}

func (h *logHook) Write(p []byte) (int, error) {
	h.mu.Lock()
	h.buf.Write(p)
	h.mu.Unlock()
	if h.fn != nil {
		h.fn(string(p))
	}
	return len(p), nil
}

func (h *logHook) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.String()
}

func newEndpointLauncher(t *testing.T, sock string, wait time.Duration, log *logHook) *Launcher {
	t.Helper()
	ep := Endpoint{Host: "unix://" + sock, Source: SourceContext, Context: "test", ContextVia: "DOCKER_CONTEXT"}
	l, err := New(Options{Endpoint: &ep, EngineWait: wait, Logger: zerolog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestReadyAbsentSocketFailsFast(t *testing.T) {
	sock := filepath.Join(shortTempDir(t), "docker.sock")
	log := &logHook{}
	l := newEndpointLauncher(t, sock, time.Minute, log)
	began := time.Now()
	err := l.ready(context.Background())
	if !errors.Is(err, ErrNoEngine) {
		t.Fatalf("ready() = %v, want ErrNoEngine", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("an absent socket took %s to fail; want at once", took)
	}
	for _, want := range []string{sock + " does not exist", `from context "test"`, `"env"`, "DOCKER_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(log.String(), "waiting") {
		t.Errorf("an absent socket was waited for:\n%s", log)
	}
}

func TestReadyWaitsForStartingEngine(t *testing.T) {
	sock := filepath.Join(shortTempDir(t), "docker.sock")
	staleSocket(t, sock)
	var once sync.Once
	log := &logHook{}
	// The engine comes up once the launcher has said it waits.
	log.fn = func(line string) {
		if strings.Contains(line, "waiting") {
			once.Do(func() { serveEngine(t, sock) })
		}
	}
	l := newEndpointLauncher(t, sock, time.Minute, log)
	if err := l.ready(context.Background()); err != nil {
		t.Fatalf("ready() = %v, want the engine found once it answers\nlog:\n%s", err, log)
	}
	if !strings.Contains(log.String(), "does not answer yet") || !strings.Contains(log.String(), "Docker engine answers") {
		t.Errorf("the wait is not logged:\n%s", log)
	}
}

func TestReadyWaitIsBounded(t *testing.T) {
	sock := filepath.Join(shortTempDir(t), "docker.sock")
	staleSocket(t, sock)
	log := &logHook{}
	l := newEndpointLauncher(t, sock, 800*time.Millisecond, log)
	began := time.Now()
	err := l.ready(context.Background())
	took := time.Since(began)
	if !errors.Is(err, ErrNoEngine) || !strings.Contains(err.Error(), "still not answering") {
		t.Fatalf("ready() = %v, want ErrNoEngine after waiting", err)
	}
	if took > 10*time.Second {
		t.Errorf("waited %s with a limit of 800ms", took)
	}
	if n := strings.Count(log.String(), "waiting"); n < 1 {
		t.Errorf("want logged retries, got %d:\n%s", n, log)
	}
	// No waiting at all when EngineWait is negative.
	l = newEndpointLauncher(t, sock, -1, &logHook{})
	if err := l.ready(context.Background()); !errors.Is(err, ErrNoEngine) || strings.Contains(err.Error(), "still not answering") {
		t.Fatalf("ready() with no wait = %v", err)
	}
}
