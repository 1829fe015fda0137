package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// engine2 is a Docker engine of the test's own that it may stop and start:
// a second dockerd on its own socket, data root, exec root (so its own
// containerd) and pid file, with a bridge of its own and no firewall rules. The shared
// engine is never touched. It needs dockerd and root; without them the test
// skips, or fails when MCP_SANDBOX_REQUIRE_DOCKERD2=1 (as in CI).
type engine2 struct {
	t       *testing.T
	dockerd string
	dir     string
	sock    string
	bridge  string // the network interface the engine uses as its default bridge
	cmd     *exec.Cmd
	exited  chan struct{}
	cli     *client.Client
}

func needEngine2(t *testing.T) *engine2 {
	t.Helper()
	needBuild(t)
	skip := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("MCP_SANDBOX_REQUIRE_DOCKERD2") == "1" {
			t.Fatalf("a second engine is required (MCP_SANDBOX_REQUIRE_DOCKERD2=1): %s", msg)
		}
		t.Skipf("%s; set MCP_SANDBOX_REQUIRE_DOCKERD2=1 to make this a failure", msg)
	}
	path, err := exec.LookPath("dockerd")
	if err != nil {
		skip("no dockerd to start a second engine with")
	}
	if os.Geteuid() != 0 {
		skip("starting a second dockerd needs root")
	}
	// A short directory: the engine's and containerd's socket paths must
	// fit in 108 bytes.
	dir, err := os.MkdirTemp("/tmp", "msd2-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &engine2{t: t, dockerd: path, dir: dir, sock: filepath.Join(dir, "docker.sock")}
	// A bridge of its own: a dockerd started with --bridge=none deletes the
	// default docker0 interface, which the shared engine's containers need.
	e.bridge = fmt.Sprintf("msd2br%d", os.Getpid()%100000)
	if out, err := exec.Command("ip", "link", "add", e.bridge, "type", "bridge").CombinedOutput(); err != nil {
		skip("creating a bridge for the second engine: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", e.bridge).Run() })
	for _, args := range [][]string{{"addr", "add", "169.254.213.1/24", "dev", e.bridge}, {"link", "set", e.bridge, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+e.sock), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	e.cli = cli
	t.Cleanup(func() {
		if e.running() {
			e.removeAll()
		}
		e.stop()
		e.killLeftovers()
		cli.Close()
		// A killed engine leaves its mounts (data root, overlays, netns).
		for _, m := range e.mounts(dir) {
			detachUnmount(m)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the second engine's directory: %v", err)
		}
	})
	e.start()
	return e
}

// host is the DOCKER_HOST value for this engine.
func (e *engine2) host() string { return "unix://" + e.sock }

func (e *engine2) running() bool {
	if e.cmd == nil {
		return false
	}
	select {
	case <-e.exited:
		return false
	default:
		return true
	}
}

// start starts the engine and waits until it answers.
func (e *engine2) start() {
	e.t.Helper()
	log, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(e.dockerd,
		"--host", e.host(),
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "x"),
		"--pidfile", filepath.Join(e.dir, "dockerd.pid"),
		"--config-file", filepath.Join(e.dir, "daemon.json"),
		"--bridge="+e.bridge, "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
		"--shutdown-timeout=2", "--log-level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start dockerd: %v", err)
	}
	e.cmd, e.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(e.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := e.cli.Ping(ctx)
		cancel()
		if err == nil {
			return
		}
		if !e.running() || time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(e.dir, "dockerd.log"))
			e.t.Fatalf("second dockerd did not come up: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop stops the engine as `systemctl stop docker` does (SIGTERM) and waits
// for it to exit; after 30 s it is killed.
func (e *engine2) stop() {
	if !e.running() {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(30 * time.Second):
		e.cmd.Process.Kill()
		<-e.exited
	}
}

// crash kills the engine as a crash of its machine would (Docker Desktop's
// VM going down): dockerd, its containerd and the container shims get
// SIGKILL. The engine's socket closes under its clients, and the containers
// stay in its data root for the next start to find. The exec root goes, as
// /var/run does when such a machine boots again (the dead containerd's pid
// file would otherwise name a zombie nobody reaps here).
func (e *engine2) crash() {
	if !e.running() {
		return
	}
	e.cmd.Process.Kill()
	<-e.exited
	e.killLeftovers()
	for _, m := range e.mounts(filepath.Join(e.dir, "x")) {
		detachUnmount(m)
	}
	os.RemoveAll(filepath.Join(e.dir, "x"))
}

// mounts lists the mount points at or under dir, deepest first.
func (e *engine2) mounts(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mounts")
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && (f[1] == dir || strings.HasPrefix(f[1], dir+"/")) {
			out = append(out, f[1])
		}
	}
	slices.Reverse(out)
	return out
}

// killLeftovers ends whatever this engine started and left running.
func (e *engine2) killLeftovers() { e.kill(func(string) bool { return true }) }

// kill sends SIGKILL to the processes this engine started (found by its
// directory in their command lines) whose argv[0] matches.
func (e *engine2) kill(match func(argv0 string) bool) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), e.dir) {
			continue
		}
		argv0, _, _ := strings.Cut(string(b), "\x00")
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil && pid != os.Getpid() && match(argv0) {
			killPID(pid)
		}
	}
}

// containers lists the mcp-sandbox containers on this engine, running or
// not.
func (e *engine2) containers() []container.Summary {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "dev.mcp-sandbox.managed=true"))})
	if err != nil {
		e.t.Fatalf("list containers on the second engine: %v", err)
	}
	return list
}

// removeAll removes what a failed test left on the engine.
func (e *engine2) removeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return
	}
	for _, c := range list {
		e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
}
