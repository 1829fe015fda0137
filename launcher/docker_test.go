package launcher

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

// dockerClient returns a client for the engine from the environment. It
// skips the test when no engine answers, unless MCP_SANDBOX_REQUIRE_DOCKER=1
// asks for a failure instead.
func dockerClient(tb testing.TB) *client.Client {
	tb.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx)
	}
	if err != nil {
		if os.Getenv("MCP_SANDBOX_REQUIRE_DOCKER") == "1" {
			tb.Fatalf("Docker engine required (MCP_SANDBOX_REQUIRE_DOCKER=1) but unavailable: %v", err)
		}
		tb.Skipf("no Docker engine reachable (set DOCKER_HOST, or MCP_SANDBOX_REQUIRE_DOCKER=1 to fail): %v", err)
	}
	tb.Cleanup(func() { cli.Close() })
	return cli
}

// probeImage returns the tag of the test image, building it once per source
// version: the tag carries a hash of testdata/sandboxprobe/main.go, so an
// existing image is reused and an edit produces a new one.
func probeImage(tb testing.TB, cli *client.Client) string {
	tb.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "sandboxprobe", "main.go"))
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(src)
	tag := "mcp-sandbox-test/sandboxprobe:" + hex.EncodeToString(sum[:6])
	ctx := context.Background()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag
	}
	dir := probeContext(tb)
	l := newTestLauncher(tb, cli, nil)
	var progress bytes.Buffer
	l.progress = &progress
	if err := l.build(ctx, Spec{Name: "probe", Image: tag, BuildContext: dir, Dockerfile: "Dockerfile"}); err != nil {
		tb.Fatalf("build test image: %v\n%s", err, progress.String())
	}
	return tag
}

// probeContext builds the static probe binary and returns a build context
// directory with it and a FROM scratch Dockerfile.
func probeContext(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("go tool needed to build the test image: %v", err)
	}
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "sandboxprobe"), "./testdata/sandboxprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build sandboxprobe: %v\n%s", err, out)
	}
	df := "FROM scratch\nCOPY sandboxprobe /sandboxprobe\nENTRYPOINT [\"/sandboxprobe\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// newTestLauncher returns a launcher with a unique instance label and checks
// at cleanup that it left no containers or volumes behind.
func newTestLauncher(tb testing.TB, cli *client.Client, log *syncBuffer) *Launcher {
	tb.Helper()
	opts := Options{Client: cli, Instance: "test-" + randomHex(6), StopGrace: 500 * time.Millisecond, StopTimeout: time.Second}
	if log != nil {
		opts.Logger = zerolog.New(log)
	}
	l, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Errorf("launcher close: %v", err)
		}
		ctx := context.Background()
		f := filters.NewArgs(filters.Arg("label", LabelInstance+"="+l.instance))
		list, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		for _, c := range list {
			_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
		vols, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		for _, v := range vols.Volumes {
			_ = cli.VolumeRemove(ctx, v.Name, true)
		}
	})
	return l
}

// leftovers counts the containers and volumes of l's instance.
func leftovers(t *testing.T, cli *client.Client, l *Launcher) (containers, volumes int) {
	t.Helper()
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", LabelInstance+"="+l.instance))
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return len(list), len(vols.Volumes)
}

// syncBuffer is a bytes.Buffer safe for the demultiplexer and the test.
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

// startProbe starts the probe with args and closes it at cleanup.
func startProbe(t *testing.T, l *Launcher, spec Spec) *Container {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := l.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// readJSONLines reads n JSON lines from r.
func readJSONLines(t *testing.T, r *bufio.Reader, n int) []map[string]any {
	t.Helper()
	var res []map[string]any
	for range n {
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("read line %d: %v (got %q)", len(res)+1, err, line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		res = append(res, m)
	}
	return res
}

func TestStartEchoStderrAndClose(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	var log syncBuffer
	l := newTestLauncher(t, cli, &log)
	c := startProbe(t, l, Spec{Name: "echo-test", Image: img, ReadOnly: true, User: "65534:65534"})

	out := bufio.NewReader(c.Stdout())
	if _, err := io.WriteString(c.Stdin(), "hello\n"); err != nil {
		t.Fatal(err)
	}
	line, err := out.ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Fatalf("echo = %q, %v; want %q", line, err, "hello\n")
	}
	if err := c.Stdin().Close(); err != nil {
		t.Fatalf("stdin close: %v", err)
	}
	rest, err := io.ReadAll(out)
	if err != nil || len(rest) != 0 {
		t.Errorf("after stdin EOF: stdout rest %q, %v; want EOF", rest, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := c.Wait(ctx)
	if err != nil || code != 0 {
		t.Errorf("Wait() = %d, %v; want 0, nil", code, err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Stdin().Write([]byte("late\n")); err == nil {
		t.Error("Stdin().Write after Close succeeded")
	}

	var found bool
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) != nil {
			continue
		}
		if e["message"] == "sandboxprobe ready" {
			found = true
			want := map[string]any{"level": "info", "server": "echo-test", "stream": "stderr", "message": "sandboxprobe ready"}
			if diff := cmp.Diff(e, want); diff != "" {
				t.Errorf("stderr log entry (-got +want):\n%s", diff)
			}
		}
	}
	if !found {
		t.Errorf("stderr line not logged; log:\n%s", log.String())
	}
	if n, v := leftovers(t, cli, l); n != 0 || v != 0 {
		t.Errorf("after Close: %d containers, %d volumes left; want 0", n, v)
	}
}

func TestRestrictionsApplied(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	l := newTestLauncher(t, cli, nil)
	t.Setenv("MCP_SANDBOX_HOST_SECRET", "must-not-leak")
	spec := Spec{
		Name: "restricted", Image: img, ReadOnly: true, User: "65534:65534",
		Memory: 64 << 20, NanoCPUs: 500_000_000, PidsLimit: 32, TmpfsSize: 8 << 20,
		Env:  map[string]string{"ONLY": "this"},
		Args: []string{"info", "write:/rootfile", "write:/tmp/ok", "echo"},
	}
	c := startProbe(t, l, spec)
	ctx := context.Background()

	insp, err := cli.ContainerInspect(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	hc := insp.HostConfig
	type restrictions struct {
		NetworkMode    string
		NoNetwork      bool
		ReadonlyRootfs bool
		CapDrop        []string
		SecurityOpt    []string
		Memory         int64
		MemorySwap     int64
		CPUPeriod      int64
		CPUQuota       int64
		PidsLimit      int64
		Init           bool
		AutoRemove     bool
		Tmpfs          map[string]string
		User           string
		Ports          int
		LogType        string
	}
	got := restrictions{
		NetworkMode: string(hc.NetworkMode), NoNetwork: insp.Config.NetworkDisabled, ReadonlyRootfs: hc.ReadonlyRootfs, CapDrop: hc.CapDrop,
		SecurityOpt: hc.SecurityOpt, Memory: hc.Memory, MemorySwap: hc.MemorySwap, CPUPeriod: hc.CPUPeriod, CPUQuota: hc.CPUQuota,
		PidsLimit: *hc.PidsLimit, Init: hc.Init != nil && *hc.Init, AutoRemove: hc.AutoRemove, Tmpfs: hc.Tmpfs,
		User: insp.Config.User, Ports: len(hc.PortBindings), LogType: hc.LogConfig.Type,
	}
	want := restrictions{
		NetworkMode: "none", NoNetwork: true, ReadonlyRootfs: true, CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
		Memory: 64 << 20, MemorySwap: 64 << 20, CPUPeriod: 1_000_000, CPUQuota: 500_000, PidsLimit: 32, Init: true,
		Tmpfs: map[string]string{"/tmp": "rw,noexec,nosuid,nodev,size=8388608"}, User: "65534:65534", LogType: "none",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("inspected restrictions (-got +want):\n%s", diff)
	}
	for _, e := range insp.Config.Env {
		if strings.Contains(e, "must-not-leak") || strings.HasPrefix(e, "HOME=") {
			t.Errorf("host environment leaked into the container: %q", e)
		}
	}
	for _, wantLabel := range []string{LabelManaged, LabelServer, LabelInstance, LabelPID, LabelHost} {
		if insp.Config.Labels[wantLabel] == "" {
			t.Errorf("label %s missing: %v", wantLabel, insp.Config.Labels)
		}
	}

	// What the process itself sees.
	lines := readJSONLines(t, bufio.NewReader(c.Stdout()), 3)
	info := lines[0]
	gotInfo := map[string]any{"uid": info["uid"], "gid": info["gid"], "capeff": info["capeff"], "nonewprivs": info["nonewprivs"]}
	wantInfo := map[string]any{"uid": float64(65534), "gid": float64(65534), "capeff": "0000000000000000", "nonewprivs": "1"}
	if diff := cmp.Diff(gotInfo, wantInfo); diff != "" {
		t.Errorf("process view (-got +want):\n%s", diff)
	}
	if e, _ := lines[1]["error"].(string); !strings.Contains(e, "read-only file system") {
		t.Errorf("write to read-only root: %v; want a read-only file system error", lines[1])
	}
	if lines[2]["ok"] != "written" {
		t.Errorf("write to /tmp tmpfs: %v; want written", lines[2])
	}
}

func TestFilesDelivered(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	l := newTestLauncher(t, cli, nil)
	secret := "s3cret-" + randomHex(8)
	files := map[string][]byte{
		"/run/secrets/token":     []byte(secret),
		"/run/secrets/sub/other": []byte("two"),
		"/etc/app/config.json":   []byte(`{"a":1}`),
	}
	spec := Spec{
		Name: "files", Image: img, ReadOnly: true, User: "65534:65534", Files: files,
		Args: []string{"cat:/run/secrets/token", "cat:/run/secrets/sub/other", "cat:/etc/app/config.json", "write:/run/secrets/new", "echo"},
	}
	began := time.Now()
	c := startProbe(t, l, spec)
	t.Logf("Start with %d files took %v", len(files), time.Since(began))

	lines := readJSONLines(t, bufio.NewReader(c.Stdout()), 4)
	want := []map[string]any{
		{"path": "/run/secrets/token", "content": secret, "mode": "-r--------", "uid": float64(65534), "gid": float64(65534)},
		{"path": "/run/secrets/sub/other", "content": "two", "mode": "-r--------", "uid": float64(65534), "gid": float64(65534)},
		{"path": "/etc/app/config.json", "content": `{"a":1}`, "mode": "-r--------", "uid": float64(65534), "gid": float64(65534)},
	}
	if diff := cmp.Diff(lines[:3], want); diff != "" {
		t.Errorf("files seen by the server (-got +want):\n%s", diff)
	}
	if e, _ := lines[3]["error"].(string); !strings.Contains(e, "read-only file system") {
		t.Errorf("write into files dir: %v; want read-only file system", lines[3])
	}

	// The volumes holding the files are tmpfs, i.e. memory, not disk.
	ctx := context.Background()
	f := filters.NewArgs(filters.Arg("label", LabelInstance+"="+l.instance), filters.Arg("label", LabelRole+"=files"))
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(vols.Volumes) != 2 {
		t.Fatalf("files volumes = %d, want 2 (/etc/app and /run/secrets)", len(vols.Volumes))
	}
	var mountpoints []string
	for _, v := range vols.Volumes {
		if v.Options["type"] != "tmpfs" {
			t.Errorf("volume %s options %v: want type tmpfs", v.Name, v.Options)
		}
		// Where the engine shares our mount table (a local engine), check
		// what is really mounted.
		switch mounted := mountType(v.Mountpoint); mounted {
		case "":
			t.Logf("volume %s: engine mount table not visible here", v.Name)
		case "tmpfs":
			mountpoints = append(mountpoints, v.Mountpoint)
		default:
			t.Errorf("volume %s is mounted as %s on the engine host, want tmpfs", v.Name, mounted)
		}
	}
	if insp, err := cli.ContainerInspect(ctx, c.ID()); err != nil {
		t.Fatal(err)
	} else if n := len(insp.Config.Env); n > 1 { // the engine adds PATH
		t.Errorf("files leaked into env: %v", insp.Config.Env)
	}

	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n, v := leftovers(t, cli, l); n != 0 || v != 0 {
		t.Errorf("after Close: %d containers, %d volumes left; want 0", n, v)
	}
	for _, mp := range mountpoints {
		if got := mountType(mp); got != "" {
			t.Errorf("%s still mounted (%s) after Close", mp, got)
		}
	}
}

// mountType returns the file system type mounted at dir according to this
// process's mount table, or "" when it is not visible here (a remote or
// virtualised engine).
func mountType(dir string) string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == dir {
			return f[2]
		}
	}
	return ""
}

func TestFilesNeedNumericUser(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	l := newTestLauncher(t, cli, nil)
	_, err := l.Start(context.Background(), Spec{Name: "named-user", Image: img, User: "nobody", Files: map[string][]byte{"/run/s/x": []byte("x")}})
	if err == nil || !strings.Contains(err.Error(), "numeric") {
		t.Fatalf("Start() error = %v, want a numeric user error", err)
	}
	if n, v := leftovers(t, cli, l); n != 0 || v != 0 {
		t.Errorf("after failed Start: %d containers, %d volumes left; want 0", n, v)
	}
}

func TestSweepRemovesOnlyOrphans(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	l := newTestLauncher(t, cli, nil)
	ctx := context.Background()

	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	create := func(pid int) string {
		labels := l.labels("sweep", "server")
		labels[LabelPID] = strconv.Itoa(pid)
		if pid != os.Getpid() {
			delete(labels, LabelPIDStart)
		}
		resp, err := cli.ContainerCreate(ctx, &container.Config{Image: img, Labels: labels}, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return resp.ID
	}
	orphan := create(dead.Process.Pid)
	live := create(os.Getpid())
	deadLabels := l.labels("sweep", "files")
	deadLabels[LabelPID] = strconv.Itoa(dead.Process.Pid)
	delete(deadLabels, LabelPIDStart)
	vol, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: "mcp-sandbox-test-sweep-" + randomHex(4), Labels: deadLabels})
	if err != nil {
		t.Fatal(err)
	}

	removed, err := l.Sweep(ctx)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if removed < 1 {
		t.Errorf("Sweep removed %d containers, want at least the orphan", removed)
	}
	if _, err := cli.ContainerInspect(ctx, orphan); !cerrdefs.IsNotFound(err) {
		t.Errorf("orphan container still there (inspect err %v)", err)
	}
	if _, err := cli.ContainerInspect(ctx, live); err != nil {
		t.Errorf("live launcher's container removed: %v", err)
	}
	if _, err := cli.VolumeInspect(ctx, vol.Name); !cerrdefs.IsNotFound(err) {
		t.Errorf("orphan volume still there (inspect err %v)", err)
	}
}

func TestCloseIdempotentAndConcurrent(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	l := newTestLauncher(t, cli, nil)
	// "block" ignores stdin EOF, so Close must escalate to ContainerStop.
	c := startProbe(t, l, Spec{Name: "block", Image: img, Args: []string{"block"}})

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Close(context.Background())
		}()
	}
	wg.Wait()
	if diff := cmp.Diff(errs, make([]error, 4), cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) })); diff != "" {
		t.Errorf("concurrent Close errors (-got +want):\n%s", diff)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n, _ := leftovers(t, cli, l); n != 0 {
		t.Errorf("%d containers left after Close", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Wait(ctx); err != nil {
		t.Errorf("Wait after Close: %v", err)
	}
}

func TestCloseAfterExit(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	var log syncBuffer
	l := newTestLauncher(t, cli, &log)
	c := startProbe(t, l, Spec{Name: "exits", Image: img, Args: []string{"stderr:last words", "exit:3"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := c.Wait(ctx)
	if err != nil || code != 3 {
		t.Fatalf("Wait() = %d, %v; want 3, nil", code, err)
	}
	// Close after the exit must not need the grace period or a stop.
	began := time.Now()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Close after exit took %v", d)
	}
	if !strings.Contains(log.String(), "last words") {
		t.Errorf("stderr tail before exit not logged: %s", log.String())
	}
	if n, _ := leftovers(t, cli, l); n != 0 {
		t.Errorf("%d containers left after Close", n)
	}
}

func TestCloseCancelledContextStillCleansUp(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	l := newTestLauncher(t, cli, nil)
	c := startProbe(t, l, Spec{Name: "cancelled", Image: img})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close with cancelled context: %v", err)
	}
	if n, _ := leftovers(t, cli, l); n != 0 {
		t.Errorf("%d containers left after Close", n)
	}
}

func TestMissingImage(t *testing.T) {
	cli := dockerClient(t)
	var progress bytes.Buffer
	l := newTestLauncher(t, cli, nil)
	l.progress = &progress
	_, err := l.Start(context.Background(), Spec{Name: "missing", Image: "mcp-sandbox-test/does-not-exist:" + randomHex(4)})
	if !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("Start() error = %v, want ErrImageNotFound", err)
	}
	if !strings.Contains(err.Error(), "not present locally and could not be pulled") {
		t.Errorf("error %q does not explain itself", err)
	}
	if n, _ := leftovers(t, cli, l); n != 0 {
		t.Errorf("%d containers left after failed Start", n)
	}
}

func TestBuildFromContext(t *testing.T) {
	cli := dockerClient(t)
	dir := probeContext(t)
	if err := os.WriteFile(filepath.Join(dir, "junk.bin"), bytes.Repeat([]byte{1}, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("junk.bin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	df := "FROM scratch\nCOPY . /\nENTRYPOINT [\"/sandboxprobe\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile.test"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := "mcp-sandbox-test/built:" + randomHex(4)
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	var progress bytes.Buffer
	l := newTestLauncher(t, cli, nil)
	l.progress = &progress
	c := startProbe(t, l, Spec{Name: "built", Image: tag, BuildContext: dir, Dockerfile: "Dockerfile.test", Args: []string{"cat:/junk.bin", "cat:/sandboxprobe"}})
	if !strings.Contains(progress.String(), "Step 1/3 : FROM scratch") {
		t.Errorf("build progress missing; got:\n%s", progress.String())
	}
	lines := readJSONLines(t, bufio.NewReader(c.Stdout()), 2)
	if e, _ := lines[0]["error"].(string); !strings.Contains(e, "no such file") {
		t.Errorf("ignored file made it into the image: %v", lines[0]["path"])
	}
	if lines[1]["error"] != nil {
		t.Errorf("probe binary missing from image: %v", lines[1]["error"])
	}
}

func TestStdoutLargeMessage(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	l := newTestLauncher(t, cli, nil)
	c := startProbe(t, l, Spec{Name: "large", Image: img, Args: []string{"echo"}})

	msg := make([]byte, 32<<20)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	msg[len(msg)-1] = '\n'
	began := time.Now()
	go func() {
		_, _ = c.Stdin().Write(msg)
		_ = c.Stdin().Close()
	}()
	got, err := io.ReadAll(c.Stdout())
	took := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echoed %d bytes, want the %d sent intact", len(got), len(msg))
	}
	t.Logf("32 MiB round trip through the container: %v (%.0f MiB/s)", took, 32/took.Seconds())
}

func TestStderrLongLineCut(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	var log syncBuffer
	l := newTestLauncher(t, cli, &log)
	c := startProbe(t, l, Spec{Name: "longline", Image: img, Args: []string{"bigerr:1200000"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var lengths []int
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var e struct {
			Stream  string `json:"stream"`
			Message string `json:"message"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Stream == "stderr" {
			lengths = append(lengths, len(e.Message))
		}
	}
	if diff := cmp.Diff(lengths, []int{maxStderrLine - stderrGuard + len(truncMarker)}); diff != "" {
		t.Errorf("logged stderr line lengths (-got +want):\n%s", diff)
	}
}

// BenchmarkStart measures Start (create, attach, start) for the test image,
// and the time until the server answers on stdout.
func BenchmarkStart(b *testing.B) {
	cli := dockerClient(b)
	img := probeImage(b, cli)
	l := newTestLauncher(b, cli, nil)
	spec := Spec{
		Name: "bench", Image: img, ReadOnly: true, User: "65534:65534", Memory: 256 << 20,
		NanoCPUs: 1e9, PidsLimit: 64, TmpfsSize: 16 << 20,
	}
	ctx := context.Background()
	var firstByte time.Duration
	b.ResetTimer()
	for range b.N {
		began := time.Now()
		c, err := l.Start(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := io.WriteString(c.Stdin(), "x\n"); err != nil {
			b.Fatal(err)
		}
		if _, err := bufio.NewReader(c.Stdout()).ReadString('\n'); err != nil {
			b.Fatal(err)
		}
		firstByte += time.Since(began)
		if err := c.Close(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(firstByte.Milliseconds())/float64(b.N), "ms-to-echo/op")
}

func TestCloseWithUnreadStdout(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	l := newTestLauncher(t, cli, nil)
	c := startProbe(t, l, Spec{Name: "unread", Image: img, Args: []string{"echo"}})
	// Nobody reads stdout, so the echo backs up into the container and the
	// writer blocks; Close must still finish.
	writeDone := make(chan error, 1)
	go func() {
		_, err := c.Stdin().Write(make([]byte, 8<<20))
		writeDone <- err
	}()
	time.Sleep(200 * time.Millisecond)
	began := time.Now()
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close with a stalled stdout took %v", time.Since(began))
	select {
	case <-writeDone:
	case <-time.After(5 * time.Second):
		t.Error("stdin writer still blocked after Close")
	}
	if _, err := io.ReadAll(c.Stdout()); err == nil {
		t.Error("Stdout after an abandoning Close ended with EOF; want an error saying the output was cut")
	}
	if n, _ := leftovers(t, cli, l); n != 0 {
		t.Errorf("%d containers left after Close", n)
	}
}

func TestFailedStartLeavesNothing(t *testing.T) {
	cli := dockerClient(t)
	img := probeImage(t, cli)
	tests := []struct {
		name    string
		spec    Spec
		wantErr string
	}{
		{
			// The engine rejects the create after the files volumes and the
			// seed container exist.
			name:    "create fails after files were prepared",
			spec:    Spec{Name: "fail-create", Image: img, User: "1:1", Memory: 1 << 20, Files: map[string][]byte{"/run/s/x": []byte("x")}},
			wantErr: "container create",
		},
		{
			// A scratch image has no passwd file, so the runtime fails at start.
			name:    "start fails",
			spec:    Spec{Name: "fail-start", Image: img, User: "nosuchuser"},
			wantErr: "container start",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLauncher(t, cli, nil)
			_, err := l.Start(context.Background(), tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Start() error = %v, want it to contain %q", err, tt.wantErr)
			}
			if n, v := leftovers(t, cli, l); n != 0 || v != 0 {
				t.Errorf("after failed Start: %d containers, %d volumes left; want 0", n, v)
			}
		})
	}
}
