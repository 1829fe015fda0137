package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// rawHost drives `mcp-sandbox run` over raw newline-delimited JSON-RPC, the
// way a host does, and keeps every line it receives.
type rawHost struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr *syncBuffer
	exited chan struct{}
}

func startRawHost(t *testing.T, cmd *exec.Cmd) *rawHost {
	t.Helper()
	h := &rawHost{t: t, cmd: cmd, lines: make(chan []byte, 1024), stderr: &syncBuffer{}, exited: make(chan struct{})}
	h.stdin, _ = cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReaderSize(stdout, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				h.lines <- line
			}
			if err != nil {
				close(h.lines)
				return
			}
		}
	}()
	go func() { cmd.Wait(); close(h.exited) }()
	t.Cleanup(func() {
		h.stdin.Close()
		select {
		case <-h.exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-h.exited
		}
	})
	return h
}

func (h *rawHost) send(s string) {
	h.t.Helper()
	if _, err := io.WriteString(h.stdin, s+"\n"); err != nil {
		h.t.Fatalf("write to mcp-sandbox: %v\nstderr:\n%s", err, h.stderr.String())
	}
}

// rawMsg is what the tests read of a message.
type rawMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Level string `json:"level"`
		Data  any    `json:"data"`
	} `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	raw string
}

// next returns the next message for which keep is true, skipping others,
// within d.
func (h *rawHost) next(d time.Duration, what string, keep func(rawMsg) bool) rawMsg {
	h.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case line, ok := <-h.lines:
			if !ok {
				h.t.Fatalf("stdout ended waiting for %s\nstderr:\n%s", what, h.stderr.String())
			}
			var m rawMsg
			if err := json.Unmarshal(line, &m); err != nil {
				h.t.Fatalf("host got a line that is not JSON: %q", line)
			}
			m.raw = string(line)
			if keep(m) {
				return m
			}
		case <-deadline:
			h.t.Fatalf("no %s within %v\nstderr:\n%s", what, d, h.stderr.String())
		}
	}
}

func (h *rawHost) answer(id string, d time.Duration) rawMsg {
	h.t.Helper()
	return h.next(d, "the answer to "+id, func(m rawMsg) bool { return m.Method == "" && string(m.ID) == id })
}

// initialize runs the MCP handshake and asks for log messages.
func (h *rawHost) initialize() {
	h.t.Helper()
	h.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	// The first start on an engine builds the probe image.
	if m := h.answer("1", 3*time.Minute); m.Error != nil {
		h.t.Fatalf("initialize: %s", m.raw)
	}
	h.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	h.send(`{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"info"}}`)
	h.answer("2", time.Minute)
}

// waitExit returns mcp-sandbox's exit code once it has exited.
func (h *rawHost) waitExit(d time.Duration) int {
	h.t.Helper()
	select {
	case <-h.exited:
		return h.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		h.t.Fatalf("mcp-sandbox did not exit within %v\nstderr:\n%s", d, h.stderr.String())
		return 0
	}
}

// TestServerExitExplained: a server that exits on its own mid-call. The
// host's pending call is answered with the exit status and the server's last
// stderr lines, the host that asked for logs is told, and both are in the
// log.
func TestServerExitExplained(t *testing.T) {
	e := newEnv(t, "", "")
	h := startRawHost(t, e.command("run", "probe", "--config", e.config))
	h.initialize()
	h.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"crash","arguments":{"code":7}}}`)
	note := h.next(time.Minute, "an error log notification", func(m rawMsg) bool { return m.Method == "notifications/message" })
	if note.Params.Level != "error" || !strings.Contains(fmt.Sprint(note.Params.Data), "status 7") {
		t.Errorf("log notification %s, want level error naming status 7", note.raw)
	}
	m := h.answer("3", time.Minute)
	if m.Error == nil {
		t.Fatalf("the crashing call got %s, want an error", m.raw)
	}
	for _, want := range []string{"probe", "the server exited with status 7", "last stderr:", "crash requested; exiting without reply"} {
		if !strings.Contains(m.Error.Message, want) {
			t.Errorf("the host's error %q lacks %q", m.Error.Message, want)
		}
	}
	if code := h.waitExit(30 * time.Second); code == 0 {
		t.Error("mcp-sandbox exited 0 after its server exited")
	}
	if log := h.stderr.String(); !strings.Contains(log, "status 7") || !strings.Contains(log, "last stderr:") {
		t.Errorf("the log lacks the exit status and the last stderr lines:\n%s", log)
	}
}

// TestEngineFaults runs sessions on a second dockerd of the test's own and
// takes the engine away under them with a call in flight: a restart
// (SIGTERM, as systemctl restart does) and a crash (SIGKILL: the engine's
// socket closes and its containers outlive it). Each time the call gets a
// JSON-RPC error, the host that asked for logs is told, and mcp-sandbox exits
// non-zero after its cleanup; once the engine is back the next launch sweeps
// what the engine kept, and a clean session leaves no container. First of
// all, with the engine down, a launch fails with a clear error in bounded
// time.
func TestEngineFaults(t *testing.T) {
	d2 := needEngine2(t)
	e := newEnv(t, "", "")
	e.docker = d2.cli // containers() and newEnv's last check count on this engine
	e.extraEnv = append(e.extraEnv, "DOCKER_HOST="+d2.host())

	// Engine down at start: a clear error in bounded time.
	d2.stop()
	start := time.Now()
	h0 := startRawHost(t, e.command("run", "probe", "--config", e.config))
	h0.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	code := h0.waitExit(2 * time.Minute)
	took := time.Since(start)
	if code == 0 {
		t.Error("mcp-sandbox exited 0 with the engine down")
	}
	log := h0.stderr.String()
	if !strings.Contains(log, d2.sock) || !strings.Contains(strings.ToLower(log), "docker") {
		t.Errorf("the error does not say which engine could not be reached:\n%s", log)
	}
	t.Logf("engine down at start: exit %d after %v: %s", code, took.Round(time.Millisecond), lastLine(log))
	d2.start()

	for _, fault := range []struct {
		name string
		do   func()
		want string // in the pending call's error
	}{
		{"restart", d2.stop, "probe"},
		{"crash", d2.crash, "lost the container engine"},
	} {
		h := startRawHost(t, e.command("run", "probe", "--config", e.config))
		h.initialize()
		h.send(`{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"sleep","arguments":{"ms":600000},"_meta":{"progressToken":"p"}}}`)
		// Progress means the server is working on the call.
		h.next(time.Minute, "progress from the sleeping call", func(m rawMsg) bool { return m.Method == "notifications/progress" })

		fault.do()
		note := h.next(time.Minute, fault.name+": an error log notification", func(m rawMsg) bool { return m.Method == "notifications/message" })
		if note.Params.Level != "error" || !strings.Contains(fmt.Sprint(note.Params.Data), "probe") {
			t.Errorf("%s: log notification %s, want level error naming the server", fault.name, note.raw)
		}
		m := h.answer(`"slow"`, time.Minute)
		if m.Error == nil || !strings.Contains(m.Error.Message, fault.want) {
			t.Fatalf("%s: the pending call got %s, want an error saying %q", fault.name, m.raw, fault.want)
		}
		t.Logf("%s: pending call answered: %s", fault.name, m.Error.Message)
		if code := h.waitExit(60 * time.Second); code == 0 {
			t.Errorf("%s: mcp-sandbox exited 0 after the engine went away", fault.name)
		}

		// The engine comes back with what it kept; the next launch
		// removes it.
		d2.start()
		t.Logf("%s: containers the engine kept: %d", fault.name, len(d2.containers()))
		h2 := startRawHost(t, e.command("run", "probe", "--config", e.config))
		h2.initialize()
		h2.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"back"}}}`)
		if m := h2.answer("3", time.Minute); m.Error != nil {
			t.Fatalf("%s: echo after the engine came back: %s", fault.name, m.raw)
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(d2.containers()) != 1 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if n := len(d2.containers()); n != 1 {
			t.Errorf("%s: %d containers after the next launch, want only its own (what the engine kept swept)", fault.name, n)
		}
		h2.stdin.Close()
		if code := h2.waitExit(60 * time.Second); code != 0 {
			t.Errorf("%s: mcp-sandbox exited %d after a clean session\nstderr:\n%s", fault.name, code, h2.stderr.String())
		}
		if n := len(d2.containers()); n != 0 {
			t.Errorf("%s: %d containers left on the engine", fault.name, n)
		}
	}

}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
