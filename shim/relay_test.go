package shim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/pins"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// fakeApprover answers questions from a list: allow, deny or cannot.
type fakeApprover struct {
	mu      sync.Mutex
	answers []string
}

func (f *fakeApprover) Ask(ctx context.Context, q Question) (Answer, error) {
	f.mu.Lock()
	a := "cannot"
	if len(f.answers) > 0 {
		a, f.answers = f.answers[0], f.answers[1:]
	}
	f.mu.Unlock()
	switch a {
	case "allow", "deny":
		return Answer{Allow: a == "allow", Answer: a, Channel: "test page"}, nil
	case "wait":
		<-ctx.Done()
		return Answer{Channel: "test page"}, ctx.Err()
	}
	return Answer{}, fmt.Errorf("%w: no browser in this test", ErrCannotAsk)
}

var update = flag.Bool("update", false, "rewrite the expectations in testdata/*.txtar with what the relay does")

// memConn is one end of an in-memory message channel pair.
type memConn struct {
	in     chan []byte
	out    chan []byte
	closed chan struct{}
	once   sync.Once
	half   chan struct{} // closed by CloseWrite
	hOnce  sync.Once
}

// memPipe returns two connected Conns: what one writes, the other reads.
func memPipe() (*memConn, *memConn) {
	a2b := make(chan []byte, 1024)
	b2a := make(chan []byte, 1024)
	a := &memConn{in: b2a, out: a2b, closed: make(chan struct{}), half: make(chan struct{})}
	b := &memConn{in: a2b, out: b2a, closed: make(chan struct{}), half: make(chan struct{})}
	return a, b
}

func (c *memConn) ReadMessage() ([]byte, error) {
	select {
	case m, ok := <-c.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case <-c.closed:
		return nil, io.EOF
	}
}

func (c *memConn) WriteMessage(m []byte) error {
	select {
	case <-c.closed:
		return errors.New("closed")
	case <-c.half:
		return errors.New("write side closed")
	default:
	}
	c.out <- bytes.Clone(m)
	return nil
}

// CloseWrite ends the peer's reads, as closing a pipe does.
func (c *memConn) CloseWrite() error {
	c.hOnce.Do(func() { close(c.half); close(c.out) })
	return nil
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// next returns the next message the peer wrote, or fails after a while.
func next(t *testing.T, c *memConn, who string) []byte {
	t.Helper()
	select {
	case m, ok := <-c.in:
		if !ok {
			t.Fatalf("%s: stream closed, wanted a message", who)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no message within 5s", who)
		return nil
	}
}

// quiet fails if the peer wrote anything within a short while.
func quiet(t *testing.T, c *memConn, who string) {
	t.Helper()
	select {
	case m, ok := <-c.in:
		if ok {
			t.Errorf("%s received an unexpected message: %s", who, m)
		}
	case <-time.After(30 * time.Millisecond):
	}
}

func policyFrom(t testing.TB, toml string) *profiles.Policy {
	t.Helper()
	cfg, err := profiles.Parse("profile.toml", []byte(toml))
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	p, err := cfg.Policy("s", "")
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return p
}

// relayHarness runs a Relay between two in-memory pipes. host and server are
// the test's ends: writing to host is the host speaking, reading from server
// is what the server received.
type relayHarness struct {
	relay  *Relay
	host   *memConn
	server *memConn
	done   chan error
	cancel context.CancelFunc
}

func startRelay(t *testing.T, opts Options) *relayHarness {
	t.Helper()
	hostEnd, relayHost := memPipe()
	serverEnd, relayUp := memPipe()
	r := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	h := &relayHarness{relay: r, host: hostEnd, server: serverEnd, done: make(chan error, 1), cancel: cancel}
	go func() { h.done <- r.Serve(ctx, relayHost, relayUp) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

// TestTranscripts runs the golden transcripts in testdata/*.txtar. Each file
// holds a profile.toml (the server is named "s"), optional further TOML
// sections used by "reload NAME" lines, and a transcript whose lines are:
//
//	host> MSG     the host sends MSG
//	host< MSG     the host must receive MSG next
//	server> MSG   the server sends MSG
//	server< MSG   the server must receive MSG next
//	reload NAME   the policy becomes the one of section NAME
//	# comment
//
// Received messages are compared byte for byte after compacting the
// expectation. At the end neither side may have received anything more.
// Run with -update to rewrite the expectations from what the relay did.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runTranscript(t, file)
		})
	}
}

func runTranscript(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string][]byte{}
	for _, f := range ar.Files {
		sections[f.Name] = f.Data
	}
	var pol *profiles.Policy
	if data, ok := sections["profile.toml"]; ok {
		pol = policyFrom(t, string(data))
	}
	var red *redact.Redactor
	if data, ok := sections["secrets"]; ok {
		var secrets []redact.Secret
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			name, value, _ := strings.Cut(line, "=")
			secrets = append(secrets, redact.Secret{Name: name, Value: value})
		}
		if red, err = redact.New(secrets); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{Server: "s", Policy: pol, Redactor: red}
	if data, ok := sections["roots"]; ok {
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			src, dst, _ := strings.Cut(line, ":")
			opts.Roots = append(opts.Roots, Mount{Source: src, Target: dst})
		}
	}
	if data, ok := sections["approver"]; ok {
		opts.Approver = &fakeApprover{answers: strings.Fields(string(data))}
	}
	if _, ok := sections["pins"]; ok {
		opts.Pins = &pins.Store{Dir: t.TempDir()}
	}
	h := startRelay(t, opts)
	h.relay.g.idPrefix = "mcp-sandbox-test-"

	script, ok := sections["transcript"]
	if !ok {
		t.Fatal("no transcript section")
	}
	lines := strings.Split(string(script), "\n")
	changed := false
	for i, line := range lines {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch verb {
		case "host>":
			h.host.WriteMessage([]byte(arg))
		case "server>":
			h.server.WriteMessage([]byte(arg))
		case "host<", "server<":
			c := h.host
			if verb == "server<" {
				c = h.server
			}
			got := next(t, c, fmt.Sprintf("%s:%d %s", file, i+1, verb))
			if *update {
				if string(got) != arg {
					lines[i] = verb + " " + string(got)
					changed = true
				}
				continue
			}
			var want bytes.Buffer
			if err := json.Compact(&want, []byte(arg)); err != nil {
				// A deliberately malformed expectation is compared as is.
				want.Reset()
				want.WriteString(arg)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%s:%d: %s\n got: %s\nwant: %s", file, i+1, verb, got, want.Bytes())
			}
		case "reload":
			data, ok := sections[arg]
			if !ok {
				t.Fatalf("%s:%d: no section %q", file, i+1, arg)
			}
			h.relay.SetPolicy(policyFrom(t, string(data)))
		default:
			t.Fatalf("%s:%d: unknown verb %q", file, i+1, verb)
		}
	}
	quiet(t, h.host, "host")
	quiet(t, h.server, "server")
	if *update && changed {
		for i := range ar.Files {
			if ar.Files[i].Name == "transcript" {
				ar.Files[i].Data = []byte(strings.Join(lines, "\n"))
			}
		}
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
