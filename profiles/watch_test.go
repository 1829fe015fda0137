package profiles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
)

// waitTimeout is generous: it only matters when a test is failing.
const waitTimeout = 5 * time.Second

func version(v string) []byte {
	return fmt.Appendf(nil, "[servers.s]\nimage = %q\n", v)
}

// watched runs Watch on path and records what it reports.
type watched struct {
	changes chan *Config
	errs    chan error
}

func startWatch(t *testing.T, path string, opts WatchOptions) *watched {
	t.Helper()
	w := &watched{changes: make(chan *Config, 16), errs: make(chan error, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if opts.Debounce == 0 {
		opts.Debounce = 10 * time.Millisecond
	}
	go func() {
		done <- Watch(ctx, path, opts, func(c *Config) { w.changes <- c }, func(err error) { w.errs <- err })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v, want nil after cancel", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Watch did not return after cancel")
		}
	})
	return w
}

// change waits for the next onChange and checks the image it carries.
func (w *watched) change(t *testing.T, wantImage string) *Config {
	t.Helper()
	select {
	case c := <-w.changes:
		if c.Servers["s"] == nil {
			t.Fatalf("onChange with servers %v, want server s with image %q", c.Servers, wantImage)
		}
		if got := c.Servers["s"].Image; got != wantImage {
			t.Fatalf("onChange with image %q, want %q", got, wantImage)
		}
		return c
	case err := <-w.errs:
		t.Fatalf("onError(%v), want onChange with image %q", err, wantImage)
	case <-time.After(waitTimeout):
		t.Fatalf("no onChange within %v, want image %q", waitTimeout, wantImage)
	}
	return nil
}

// err waits for the next onError.
func (w *watched) err(t *testing.T) error {
	t.Helper()
	select {
	case c := <-w.changes:
		t.Fatalf("onChange(servers %v), want onError", c.Servers)
	case err := <-w.errs:
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("no onError within %v", waitTimeout)
	}
	return nil
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWatchSaveStyles(t *testing.T) {
	styles := []struct {
		name string
		save func(t *testing.T, path string, data []byte)
	}{
		{"write in place", write},
		{"write temp and rename over", func(t *testing.T, path string, data []byte) {
			tmp := path + ".tmp"
			write(t, tmp, data)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"rename to backup and write new", func(t *testing.T, path string, data []byte) {
			if err := os.Rename(path, path+"~"); err != nil {
				t.Fatal(err)
			}
			write(t, path, data)
		}},
	}
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "mcp-sandbox.toml")
			write(t, path, version("v1"))
			w := startWatch(t, path, WatchOptions{})
			w.change(t, "v1") // the initial read: the watch is in place
			st.save(t, path, version("v2"))
			w.change(t, "v2")
			// The watch survives the save: a second one is seen too.
			st.save(t, path, version("v3"))
			w.change(t, "v3")
		})
	}
}

func TestWatchInvalidEdit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mcp-sandbox.toml")
	write(t, path, version("v1"))
	w := startWatch(t, path, WatchOptions{})
	w.change(t, "v1")

	write(t, path, []byte("[servers.s]\nimage = \"v2\"\nbogus = true\n"))
	err := w.err(t)
	var pe *Error
	if !errors.As(err, &pe) || pe.Line != 3 || pe.Column != 1 || pe.File != path {
		t.Fatalf("onError(%v), want an *Error at %s:3:1", err, path)
	}
	write(t, path, version("v3"))
	w.change(t, "v3")
}

func TestWatchDeleteAndRecreate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mcp-sandbox.toml")
	write(t, path, version("v1"))
	w := startWatch(t, path, WatchOptions{})
	w.change(t, "v1")

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := w.err(t); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("onError(%v), want ErrNotExist", err)
	}
	write(t, path, version("v2"))
	w.change(t, "v2")
}

// fakeReloader runs the event loop on synctest's clock with events the test
// sends, and records what it reports.
type fakeReloader struct {
	path   string
	events chan fsnotify.Event
	mu     sync.Mutex
	got    []string
}

const fakeDebounce = 100 * time.Millisecond

func startFakeReloader(t *testing.T, path string, cur *Config) *fakeReloader {
	f := &fakeReloader{path: path, events: make(chan fsnotify.Event)}
	r := newReloader(path, WatchOptions{Debounce: fakeDebounce, Current: cur},
		func(c *Config) { f.mu.Lock(); f.got = append(f.got, c.Servers["s"].Image); f.mu.Unlock() },
		func(err error) { t.Errorf("onError(%v)", err) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		r.run(ctx, f.events, nil, func(name string) bool { return name == path })
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// save writes data and reports the event, then lets the debounce pass.
func (f *fakeReloader) save(t *testing.T, data []byte) {
	write(t, f.path, data)
	f.events <- fsnotify.Event{Name: f.path, Op: fsnotify.Write}
	time.Sleep(2 * fakeDebounce) // synctest's clock: instant
	synctest.Wait()
}

func (f *fakeReloader) changes() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.got)
}

// TestWatchUnchangedContent: a save of the same bytes is no change.
func TestWatchUnchangedContent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "mcp-sandbox.toml")
		write(t, path, version("v1"))
		f := startFakeReloader(t, path, nil)
		time.Sleep(2 * fakeDebounce)
		synctest.Wait()
		f.save(t, version("v1"))
		if got, want := f.changes(), "[v1]"; got != want {
			t.Fatalf("after saving the same bytes: changes %v, want %v", got, want)
		}
		f.save(t, version("v2"))
		if got, want := f.changes(), "[v1 v2]"; got != want {
			t.Errorf("after an edit: changes %v, want %v", got, want)
		}
	})
}

// TestWatchCurrent: the configuration the caller already has is not
// reported again by the initial read.
func TestWatchCurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "mcp-sandbox.toml")
		write(t, path, version("v1"))
		cur, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		f := startFakeReloader(t, path, cur)
		time.Sleep(2 * fakeDebounce)
		synctest.Wait()
		if got, want := f.changes(), "[]"; got != want {
			t.Fatalf("initial read with the current config: changes %v, want %v", got, want)
		}
		f.save(t, version("v2"))
		if got, want := f.changes(), "[v2]"; got != want {
			t.Errorf("after an edit: changes %v, want %v", got, want)
		}
	})
}

// TestWatchCurrentLive: through fsnotify, the first change reported after
// an edit is the edit.
func TestWatchCurrentLive(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mcp-sandbox.toml")
	write(t, path, version("v1"))
	cur, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, path, WatchOptions{Current: cur})
	write(t, path, version("v2"))
	w.change(t, "v2")
}

func TestWatchSetupError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "mcp-sandbox.toml")
	called := false
	err := Watch(context.Background(), path, WatchOptions{}, func(*Config) { called = true }, func(error) { called = true })
	if err == nil {
		t.Fatalf("Watch in a missing directory returned nil, want an error")
	}
	if called {
		t.Errorf("callbacks ran although the watch could not be set up")
	}
}

// TestReloaderDebounce drives the event loop with fake events on a fake
// clock: a burst of events closer together than the debounce gives one
// reload, with the final content.
func TestReloaderDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "mcp-sandbox.toml")
		write(t, path, version("v0"))
		var (
			mu   sync.Mutex
			got  []string
			errs []error
		)
		changes := func() string { mu.Lock(); defer mu.Unlock(); return fmt.Sprint(got) }
		r := newReloader(path, WatchOptions{Debounce: 100 * time.Millisecond},
			func(c *Config) { mu.Lock(); got = append(got, c.Servers["s"].Image); mu.Unlock() },
			func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() })
		events := make(chan fsnotify.Event)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			r.run(ctx, events, nil, func(name string) bool { return name == path })
			close(done)
		}()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait() // the initial read, after one debounce, is done
		if got, want := changes(), "[v0]"; got != want {
			t.Fatalf("initial read: changes %v, want %v", got, want)
		}
		for i := 1; i <= 5; i++ {
			write(t, path, version(fmt.Sprintf("v%d", i)))
			events <- fsnotify.Event{Name: path, Op: fsnotify.Write}
			events <- fsnotify.Event{Name: path + ".swp", Op: fsnotify.Write} // ignored
			time.Sleep(60 * time.Millisecond)
		}
		synctest.Wait()
		if got, want := changes(), "[v0]"; got != want {
			t.Errorf("during the burst: changes %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if got, want := changes(), "[v0 v5]"; got != want {
			t.Errorf("after the burst: changes %v, want %v", got, want)
		}
		// The same invalid content is reported once; so is an empty file.
		for _, data := range []string{"x = 1", "x = 1", "", ""} {
			write(t, path, []byte(data))
			events <- fsnotify.Event{Name: path, Op: fsnotify.Write}
			time.Sleep(200 * time.Millisecond)
		}
		synctest.Wait()
		mu.Lock()
		if len(errs) != 2 || !strings.Contains(errs[0].Error(), ":1:1: unknown key") || !strings.Contains(errs[1].Error(), "empty") {
			t.Errorf("got errors %v, want one unknown key and one empty file", errs)
		}
		mu.Unlock()
		cancel()
		<-done
	})
}
