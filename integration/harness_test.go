package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Built once per test binary by TestMain.
var (
	binary     string // the mcp-sandbox binary under test
	probeCtx   string // a build context holding the probe binary and its Dockerfile
	probeImage string // the tag the probe image gets, unique per probe build
	buildErr   error
	repoRoot   string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcp-sandbox-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildErr = build(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles the binary under test and prepares the probe's build
// context, exactly as a user would: go build, then a FROM scratch image built
// by mcp-sandbox itself from the context.
func build(dir string) error {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	binary = filepath.Join(dir, "mcp-sandbox")
	cmd := exec.Command("go", "build", "-o", binary, "./cmd/mcp-sandbox")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build mcp-sandbox: %v\n%s", err, out)
	}
	probeCtx = filepath.Join(dir, "probe")
	if err := os.MkdirAll(probeCtx, 0o755); err != nil {
		return err
	}
	cmd = exec.Command("go", "build", "-trimpath", "-o", filepath.Join(probeCtx, "probe"), "./examples/probe")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build probe: %v\n%s", err, out)
	}
	df, err := os.ReadFile(filepath.Join(repoRoot, "examples", "probe", "Dockerfile"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(probeCtx, "Dockerfile"), df, 0o644); err != nil {
		return err
	}
	// Tag the image by the probe binary's content, so runs share the image
	// while the probe is unchanged and never use a stale one.
	bin, err := os.ReadFile(filepath.Join(probeCtx, "probe"))
	if err != nil {
		return err
	}
	sum := sha256sum(append(bin, df...))
	probeImage = "mcp-sandbox-test/probe:" + sum[:16]
	return nil
}

func needBuild(t testing.TB) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// needDocker skips the test when no Docker engine answers, or fails it when
// MCP_SANDBOX_REQUIRE_DOCKER=1 (as in CI).
func needDocker(t testing.TB) *client.Client {
	t.Helper()
	needBuild(t)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx)
	}
	if err != nil {
		if os.Getenv("MCP_SANDBOX_REQUIRE_DOCKER") == "1" {
			t.Fatalf("Docker is required (MCP_SANDBOX_REQUIRE_DOCKER=1) but does not answer: %v", err)
		}
		t.Skipf("no Docker engine answers (%v); set MCP_SANDBOX_REQUIRE_DOCKER=1 to make this a failure", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// env is one test's world: a config file, a keychain service of its own, an
// audit file and a log file.
type env struct {
	t        testing.TB
	dir      string
	config   string
	audit    string
	logFile  string
	service  string
	extraEnv []string
	docker   *client.Client
	// cmds are the mcp-sandbox processes this env started: the containers
	// it answers for are those whose launcher pid label names one of them.
	cmdsMu sync.Mutex
	cmds   []*exec.Cmd
	// spawned are pids of mcp-sandbox processes a host of this env's
	// spawned (the TypeScript SDK hosts report them).
	spawned []int
}

// newEnv writes a configuration with the probe registered as "probe" plus
// extra TOML (more servers, profiles, or keys for [servers.probe] given as
// probeExtra).
func newEnv(t testing.TB, probeExtra, extra string) *env {
	t.Helper()
	cli := needDocker(t)
	dir := t.TempDir()
	e := &env{
		t:       t,
		dir:     dir,
		config:  filepath.Join(dir, "mcp-sandbox.toml"),
		audit:   filepath.Join(dir, "audit.jsonl"),
		logFile: filepath.Join(dir, "mcp-sandbox.log"),
		service: "mcp-sandbox-it-" + randHex(6),
		docker:  cli,
	}
	e.writeConfig(probeExtra, extra)
	t.Cleanup(func() { e.assertNoContainers() })
	return e
}

func (e *env) configText(probeExtra, extra string) string {
	return fmt.Sprintf(`
keychain_service = %q

[audit]
path = %q

[servers.probe]
build = %q
image = %q
%s

%s
`, e.service, e.audit, probeCtx, probeImage, probeExtra, extra)
}

func (e *env) writeConfig(probeExtra, extra string) {
	e.t.Helper()
	if err := os.WriteFile(e.config, []byte(e.configText(probeExtra, extra)), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// command returns `mcp-sandbox ARGS` set up as an MCP host would start it:
// no inherited working directory assumptions, config by flag.
func (e *env) command(args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "MCP_SANDBOX_KEYCHAIN_SERVICE="+e.service)
	cmd.Env = append(cmd.Env, e.extraEnv...)
	e.cmdsMu.Lock()
	e.cmds = append(e.cmds, cmd)
	e.cmdsMu.Unlock()
	return cmd
}

// pids returns the pids of the processes e.command started so far.
func (e *env) pids() map[string]bool {
	e.cmdsMu.Lock()
	defer e.cmdsMu.Unlock()
	pids := map[string]bool{}
	for _, c := range e.cmds {
		if c.Process != nil {
			pids[strconv.Itoa(c.Process.Pid)] = true
		}
	}
	for _, p := range e.spawned {
		pids[strconv.Itoa(p)] = true
	}
	return pids
}

// spawnedBy records the pid of an mcp-sandbox process that a host this env
// ran started, so that its containers count as this env's.
func (e *env) spawnedBy(pid int) {
	e.cmdsMu.Lock()
	e.spawned = append(e.spawned, pid)
	e.cmdsMu.Unlock()
}

// session is a Go SDK client connected to `mcp-sandbox run` through
// hostTransport, exactly as a host spawns it.
type session struct {
	*mcp.ClientSession
	cmd    *exec.Cmd
	stderr *syncBuffer
	// notifications received, by method
	mu     sync.Mutex
	notes  []string
	logs   []string // the data of notifications/message, as JSON
	noteCh chan string
}

func (e *env) connect(args ...string) *session {
	e.t.Helper()
	all := append([]string{"run", "probe", "--config", e.config, "--log-level", "debug"}, args...)
	cmd := e.command(all...)
	s := &session{cmd: cmd, stderr: &syncBuffer{}, noteCh: make(chan string, 64)}
	cmd.Stderr = s.stderr
	note := func(method string) {
		s.mu.Lock()
		s.notes = append(s.notes, method)
		s.mu.Unlock()
		select {
		case s.noteCh <- method:
		default:
		}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "integration-host", Version: "1.0"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { note("notifications/tools/list_changed") },
		PromptListChangedHandler: func(context.Context, *mcp.PromptListChangedRequest) {
			note("notifications/prompts/list_changed")
		},
		//lint:ignore SA1019 hosts on protocol 2025-11-25 still receive log notifications, and they must be scrubbed
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			b, _ := json.Marshal(req.Params.Data)
			s.mu.Lock()
			s.logs = append(s.logs, string(b))
			s.mu.Unlock()
			note("notifications/message")
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := client.Connect(ctx, hostTransport{cmd}, nil)
	if err != nil {
		e.t.Fatalf("connect: %v\nstderr:\n%s", err, s.stderr.String())
	}
	s.ClientSession = cs
	e.t.Cleanup(func() { cs.Close() })
	return s
}

// call calls a tool and returns its result; it fails the test on a protocol
// error.
func (s *session) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v\nstderr:\n%s", name, err, s.stderr.String())
	}
	return res
}

// structured decodes a result's structured content into v.
func structured(t *testing.T, res *mcp.CallToolResult, v any) {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// waitStderr waits until mcp-sandbox's log holds want.
func (s *session) waitStderr(t testing.TB, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(s.stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q after %v:\n%s", want, within, s.stderr.String())
		}
		<-tick.C
	}
}

// waitNote waits for a notification with the given method.
func (s *session) waitNote(t testing.TB, method string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m := <-s.noteCh:
			if m == method {
				return
			}
		case <-deadline:
			t.Fatalf("no %s within %v\nstderr:\n%s", method, within, s.stderr.String())
		}
	}
}

// containers lists the probe containers this test's servers created,
// running or not: those whose launcher pid label names a process e.command
// started. Containers of other test processes on the same engine (runs in
// parallel share the probe image) are not counted.
func (e *env) containers() []container.Summary {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Matched by image here rather than with an "ancestor" filter: Podman
	// 4.3 answers that filter with [] for a short name like probeImage, and
	// reports the image as docker.io/<name>.
	all, err := e.docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", launcher.LabelManaged+"=true")),
	})
	if err != nil {
		e.t.Fatalf("list containers: %v", err)
	}
	pids := e.pids()
	var list []container.Summary
	for _, c := range all {
		name := strings.TrimPrefix(strings.TrimPrefix(c.Image, "docker.io/"), "localhost/")
		if name == probeImage && pids[c.Labels[launcher.LabelPID]] {
			list = append(list, c)
		}
	}
	return list
}

// waitNoContainers waits until none of this env's containers is left.
func (e *env) waitNoContainers(within time.Duration) []container.Summary {
	deadline := time.Now().Add(within)
	for {
		list := e.containers()
		if len(list) == 0 || time.Now().After(deadline) {
			return list
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) assertNoContainers() {
	if left := e.waitNoContainers(20 * time.Second); len(left) > 0 {
		e.t.Errorf("%d container(s) left behind: %v (%s, launcher pid %s, test pid %d)", len(left), left[0].Names, left[0].State, left[0].Labels[launcher.LabelPID], os.Getpid())
		ctx := context.Background()
		for _, c := range left { // only this env's: see containers
			e.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func sha256sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
