package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestProbeFromInside starts the probe through `mcp-sandbox run` and lets it
// report, from inside the container, what the sandbox allows.
func TestProbeFromInside(t *testing.T) {
	e := newEnv(t, "", "")
	s := e.connect()

	ctx := context.Background()
	res, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tool := range res.Tools {
		names[tool.Name] = true
	}
	for _, want := range []string{"identity", "echo", "dial", "fork", "alloc", "read_env"} {
		if !names[want] {
			t.Errorf("tools/list lacks %q", want)
		}
	}
	if got := text(s.call(t, "echo", map[string]any{"text": "héllo"})); !strings.Contains(got, "héllo") {
		t.Errorf("echo: got %q", got)
	}

	var id struct {
		UID          int    `json:"uid"`
		GID          int    `json:"gid"`
		CapEff       string `json:"cap_eff"`
		CapPrm       string `json:"cap_prm"`
		NoNewPrivs   bool   `json:"no_new_privs"`
		Seccomp      int    `json:"seccomp"`
		ReadOnlyRoot bool   `json:"read_only_root"`
		PidsMax      string `json:"pids_max"`
		MemoryMax    string `json:"memory_max"`
	}
	structured(t, s.call(t, "identity", nil), &id)
	if id.UID != 65534 || id.GID != 65534 {
		t.Errorf("runs as %d:%d, want 65534:65534 (non-root)", id.UID, id.GID)
	}
	if strings.Trim(id.CapEff, "0") != "" || strings.Trim(id.CapPrm, "0") != "" {
		t.Errorf("capabilities: effective %s permitted %s, want none", id.CapEff, id.CapPrm)
	}
	if !id.NoNewPrivs {
		t.Error("no_new_privs is not set")
	}
	if !id.ReadOnlyRoot {
		t.Error("the root filesystem is writable")
	}
	if id.PidsMax != "" && id.PidsMax != "256" {
		t.Errorf("pids limit %s, want the default 256", id.PidsMax)
	}
	if id.MemoryMax != "" && id.MemoryMax != "536870912" {
		t.Errorf("memory limit %s, want the default 512 MiB", id.MemoryMax)
	}

	var net struct {
		Interfaces []struct {
			Name string `json:"name"`
		} `json:"interfaces"`
	}
	structured(t, s.call(t, "network", nil), &net)
	for _, i := range net.Interfaces {
		if i.Name != "lo" {
			t.Errorf("network interface %q present; want only lo (no network)", i.Name)
		}
	}
	var dial struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	structured(t, s.call(t, "dial", map[string]any{"address": "1.1.1.1:443", "timeout_ms": 1000}), &dial)
	if dial.OK {
		t.Error("dialing out succeeded; want no network")
	}

	var w struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	structured(t, s.call(t, "write_file", map[string]any{"path": "/etc/evil", "content": "x"}), &w)
	if w.OK || !strings.Contains(w.Error, "read-only") {
		t.Errorf("writing /etc/evil: ok=%v %q; want a read-only file system error", w.OK, w.Error)
	}
	structured(t, s.call(t, "write_file", map[string]any{"path": "/tmp/scratch", "content": "x"}), &w)
	if !w.OK {
		t.Errorf("writing /tmp failed (%s); want a small writable tmpfs", w.Error)
	}

	// Host environment never leaks in.
	var envs struct {
		Names []string `json:"names"`
	}
	structured(t, s.call(t, "env", nil), &envs)
	for _, n := range envs.Names {
		if n == "HOME" && false {
			continue
		}
		if n == "MCP_SANDBOX_KEYCHAIN_SERVICE" || n == "GOPATH" || n == "USER" {
			t.Errorf("host variable %s reached the container", n)
		}
	}
}

// TestLimitsContainBombs forks and allocates past the limits; the sandbox
// holds and the relay survives.
func TestLimitsContainBombs(t *testing.T) {
	e := newEnv(t, `
[servers.probe.sandbox]
pids = 64
memory = "96m"
`, "")
	s := e.connect()
	var fork struct {
		Started int  `json:"started"`
		EAGAIN  bool `json:"eagain"`
	}
	structured(t, s.call(t, "fork", map[string]any{"n": 500}), &fork)
	if fork.Started >= 64 || !fork.EAGAIN {
		t.Errorf("fork bomb: started %d children (eagain=%v); want fewer than the pids limit of 64", fork.Started, fork.EAGAIN)
	}
	if got := text(s.call(t, "echo", map[string]any{"text": "still here"})); !strings.Contains(got, "still here") {
		t.Errorf("after the fork bomb: echo got %q", got)
	}

	// Allocating past the memory limit gets the probe killed by the
	// kernel; the pending call must be answered with an error.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "alloc", Arguments: map[string]any{"mb": 512}})
	if err == nil && !res.IsError {
		var a struct {
			AllocatedMB int  `json:"allocated_mb"`
			OK          bool `json:"ok"`
		}
		structured(t, res, &a)
		if a.OK {
			t.Fatalf("allocated 512 MiB under a 96 MiB limit")
		}
	}
	waitExit(t, s.cmd, 30*time.Second)
	if code := s.cmd.ProcessState.ExitCode(); code == 0 {
		t.Errorf("mcp-sandbox exited 0 after its server was killed; want non-zero")
	}
}

// TestTeardown checks that every way a session ends leaves no container.
func TestTeardown(t *testing.T) {
	// Skip (or, in CI, fail) here rather than in each subtest: a test
	// whose every subtest skipped would pass.
	needDocker(t)
	ran, want := 0, 0
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			want++ // a case -run filters out is not counted
			f(t)
			ran++ // not reached when f skipped or stopped the test
		})
	}
	defer func() {
		if ran != want {
			t.Errorf("%d of %d teardown cases ran to the end", ran, want)
		}
	}()
	run("host EOF", func(t *testing.T) {
		e := newEnv(t, "", "")
		s := e.connect()
		s.call(t, "echo", map[string]any{"text": "x"})
		if len(e.containers()) != 1 {
			t.Fatalf("want exactly one container while running, got %d", len(e.containers()))
		}
		if err := s.Close(); err != nil {
			t.Logf("close: %v", err)
		}
		waitExit(t, s.cmd, 30*time.Second)
		if left := e.waitNoContainers(5 * time.Second); len(left) > 0 {
			t.Errorf("container left after host EOF")
		}
	})
	run("SIGTERM", func(t *testing.T) {
		e := newEnv(t, "", "")
		s := e.connect()
		s.call(t, "echo", map[string]any{"text": "x"})
		s.cmd.Process.Signal(syscall.SIGTERM)
		waitExit(t, s.cmd, 30*time.Second)
		if left := e.waitNoContainers(5 * time.Second); len(left) > 0 {
			t.Errorf("container left after SIGTERM")
		}
	})
	run("server crash mid-call", func(t *testing.T) {
		e := newEnv(t, "", "")
		s := e.connect()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "crash", Arguments: map[string]any{"code": 7}})
		if err == nil {
			t.Fatal("the call to a crashing server returned no error")
		}
		if !strings.Contains(err.Error(), "probe") {
			t.Errorf("error %q does not name the server", err)
		}
		waitExit(t, s.cmd, 30*time.Second)
		if code := s.cmd.ProcessState.ExitCode(); code == 0 {
			t.Error("mcp-sandbox exited 0 after its server crashed; want non-zero")
		}
		if !strings.Contains(s.stderr.String(), "status 7") {
			t.Errorf("stderr does not report the exit status 7:\n%s", s.stderr.String())
		}
		if left := e.waitNoContainers(5 * time.Second); len(left) > 0 {
			t.Errorf("container left after a crash")
		}
	})
	run("SIGKILL then next launch", func(t *testing.T) {
		e := newEnv(t, "", "")
		s := e.connect()
		s.call(t, "echo", map[string]any{"text": "x"})
		s.cmd.Process.Kill()
		waitExit(t, s.cmd, 30*time.Second)
		if cs := e.containers(); len(cs) != 1 {
			var names []string
			for _, c := range cs {
				names = append(names, fmt.Sprint(c.Names, " ", c.State, " ", c.Labels["mcp-sandbox.role"]))
			}
			t.Fatalf("after SIGKILL: %d containers %v, want the orphan still there (1)", len(cs), names)
		}
		s2 := e.connect()
		s2.call(t, "echo", map[string]any{"text": "y"})
		// Only the new launcher's container remains.
		deadline := time.Now().Add(20 * time.Second)
		for len(e.containers()) != 1 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if n := len(e.containers()); n != 1 {
			t.Errorf("after the next launch: %d containers, want 1 (the orphan swept)", n)
		}
		s2.Close()
		waitExit(t, s2.cmd, 30*time.Second)
	})
}

func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) {
	t.Helper()
	select {
	case <-waited(cmd).done:
	case <-time.After(within):
		cmd.Process.Signal(syscall.SIGQUIT) // a goroutine dump on its stderr
		time.Sleep(time.Second)
		cmd.Process.Kill()
		msg := ""
		if b, ok := cmd.Stderr.(*syncBuffer); ok {
			msg = "\nstderr:\n" + b.String()
		}
		t.Fatalf("mcp-sandbox did not exit within %v%s", within, msg)
	}
}

// TestTensOfMegabytes passes a 30 MB tool result through the relay intact.
// It speaks raw JSON-RPC: the SDK client caps lines at 16 MiB by default.
func TestTensOfMegabytes(t *testing.T) {
	e := newEnv(t, "", "")
	cmd := e.command("run", "probe", "--config", e.config)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		waitExit(t, cmd, 30*time.Second)
	}()
	send := func(s string) {
		if _, err := io.WriteString(stdin, s+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReaderSize(stdout, 1<<20)
	readLine := func() []byte {
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("reading: %v\nstderr:\n%s", err, stderr.String())
		}
		return line
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	readLine()
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	const n = 30 << 20
	send(fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"bytes","arguments":{"n":%d}}}`, n))
	line := readLine()
	var resp struct {
		ID     int `json:"id"`
		Result struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("%d-byte answer is not JSON: %v", len(line), err)
	}
	if resp.ID != 2 || len(resp.Result.Content) == 0 || len(resp.Result.Content[0].Text) != n {
		t.Fatalf("answer id %d with %d content items; want id 2 with %d bytes of text", resp.ID, len(resp.Result.Content), n)
	}
}
