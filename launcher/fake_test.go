package launcher

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeDocker is an in-memory engine for unit tests of Start and Close. It
// records each call by name; fail makes the named call fail; a container
// exits when exit is sent to (exitOnStop: when it is stopped).
type fakeDocker struct {
	mu         sync.Mutex
	calls      []string
	fail       map[string]error
	exitOnStop bool
	exit       chan int64 // a container's exit code, once
	conns      []net.Conn // the engine's ends of attach streams
	stopSecs   []int      // ContainerStop timeouts
}

var _ dockerAPI = (*fakeDocker)(nil)

func newFakeDocker() *fakeDocker {
	return &fakeDocker{fail: map[string]error{}, exit: make(chan int64, 1)}
}

func (f *fakeDocker) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	return f.fail[name]
}

func (f *fakeDocker) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeDocker) ContainerCreate(context.Context, *container.Config, *container.HostConfig, *network.NetworkingConfig, *ocispec.Platform, string) (container.CreateResponse, error) {
	if err := f.call("create"); err != nil {
		return container.CreateResponse{}, err
	}
	return container.CreateResponse{ID: "0123456789abcdef"}, nil
}

// closeConn is a pipe end that tells the fake when the launcher closed it.
type closeConn struct {
	net.Conn
	once sync.Once
	f    *fakeDocker
}

func (c *closeConn) Close() error {
	c.once.Do(func() { c.f.call("attach-closed") })
	return c.Conn.Close()
}

func (f *fakeDocker) ContainerAttach(context.Context, string, container.AttachOptions) (types.HijackedResponse, error) {
	if err := f.call("attach"); err != nil {
		return types.HijackedResponse{}, err
	}
	engine, ours := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, engine) }() // the server reads stdin
	f.mu.Lock()
	f.conns = append(f.conns, engine)
	f.mu.Unlock()
	c := &closeConn{Conn: ours, f: f}
	return types.HijackedResponse{Conn: c, Reader: bufio.NewReader(c)}, nil
}

func (f *fakeDocker) ContainerStart(context.Context, string, container.StartOptions) error {
	return f.call("start")
}

func (f *fakeDocker) ContainerWait(ctx context.Context, _ string, _ container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	f.call("wait")
	resp, errc := make(chan container.WaitResponse, 1), make(chan error, 1)
	go func() {
		select {
		case code := <-f.exit:
			f.endStreams()
			resp <- container.WaitResponse{StatusCode: code}
		case <-ctx.Done():
			errc <- ctx.Err()
		}
	}()
	return resp, errc
}

// endStreams ends the attach streams, as the engine does when a container
// exits.
func (f *fakeDocker) endStreams() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

func (f *fakeDocker) ContainerStop(_ context.Context, _ string, o container.StopOptions) error {
	err := f.call("stop")
	f.mu.Lock()
	if o.Timeout != nil {
		f.stopSecs = append(f.stopSecs, *o.Timeout)
	}
	exit := f.exitOnStop
	f.mu.Unlock()
	if exit {
		select {
		case f.exit <- 137:
		default:
		}
	}
	return err
}

func (f *fakeDocker) ContainerRemove(context.Context, string, container.RemoveOptions) error {
	return f.call("remove")
}

func (f *fakeDocker) ContainerList(context.Context, container.ListOptions) ([]container.Summary, error) {
	return nil, f.call("list")
}

// ContainerStatPath shows every file as the seed wrote it.
func (f *fakeDocker) ContainerStatPath(context.Context, string, string) (container.PathStat, error) {
	return container.PathStat{Mode: fileMode, Mtime: seedMarkTime}, f.call("stat")
}

func (f *fakeDocker) CopyToContainer(_ context.Context, _, _ string, r io.Reader, _ container.CopyToContainerOptions) error {
	_, _ = io.Copy(io.Discard, r)
	return f.call("copy")
}

func (f *fakeDocker) ImageInspect(context.Context, string, ...client.ImageInspectOption) (image.InspectResponse, error) {
	return image.InspectResponse{}, f.call("image-inspect")
}

func (f *fakeDocker) ImageBuild(context.Context, io.Reader, build.ImageBuildOptions) (build.ImageBuildResponse, error) {
	return build.ImageBuildResponse{}, errors.New("no builds in the fake")
}

func (f *fakeDocker) ImagePull(context.Context, string, image.PullOptions) (io.ReadCloser, error) {
	return nil, errors.New("no pulls in the fake")
}

func (f *fakeDocker) VolumeCreate(_ context.Context, o volume.CreateOptions) (volume.Volume, error) {
	return volume.Volume{Name: o.Name}, f.call("volume-create")
}

func (f *fakeDocker) VolumeRemove(context.Context, string, bool) error {
	return f.call("volume-remove")
}

func (f *fakeDocker) VolumeList(context.Context, volume.ListOptions) (volume.ListResponse, error) {
	return volume.ListResponse{}, f.call("volume-list")
}

func (f *fakeDocker) ServerVersion(context.Context) (types.Version, error) {
	return types.Version{}, f.call("version")
}

func fakeLauncher(t *testing.T, f *fakeDocker) *Launcher {
	t.Helper()
	l, err := New(Options{StopGrace: 20 * time.Millisecond, StopTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l.closeAPI()
	l.api, l.closeAPI = f, func() error { return nil }
	l.hostsOnce.Do(func() {}) // no hosts file: fake containers need none
	t.Cleanup(func() { l.Close() })
	return l
}

// engineCalls drops the calls that background work (the orphan sweep, the
// exit watch) makes at its own pace.
func engineCalls(f *fakeDocker) string {
	return strings.Join(slices.DeleteFunc(f.called(), func(c string) bool { return c == "list" || c == "wait" }), " ")
}

// TestStartCleansUpEachFailure: whatever step of Start fails, what the steps
// before it created is removed, and nothing else is touched.
func TestStartCleansUpEachFailure(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		fail string
		want string // engine calls, in order
	}{
		{"create", "create"},
		// A refused attach is retried after start (Podman prepares the
		// container on attach; its start error names the real cause).
		{"attach", "create attach start attach remove"},
		{"start", "create attach start attach-closed remove"},
	}
	for _, tt := range tests {
		t.Run(tt.fail, func(t *testing.T) {
			f := newFakeDocker()
			f.fail[tt.fail] = boom
			l := fakeLauncher(t, f)
			c, err := l.Start(context.Background(), Spec{Name: "s", Image: "img"})
			if !errors.Is(err, boom) || c != nil {
				t.Fatalf("Start = %v, %v; want the %s error", c, err, tt.fail)
			}
			if got := engineCalls(f); got != tt.want {
				t.Errorf("engine calls %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStartCleansUpFiles: a failure after the secret files' volumes were
// made removes the volumes too.
func TestStartCleansUpFiles(t *testing.T) {
	f := newFakeDocker()
	f.fail["attach"] = errors.New("boom")
	l := fakeLauncher(t, f)
	_, err := l.Start(context.Background(), Spec{Name: "s", Image: "img", User: "1000:1000", Files: map[string][]byte{"/run/k": []byte("value")}})
	if err == nil {
		t.Fatal("Start succeeded")
	}
	calls := engineCalls(f)
	created := strings.Count(calls, "volume-create")
	if created == 0 || strings.Count(calls, "volume-remove") != created {
		t.Errorf("engine calls %q: every volume created must be removed", calls)
	}
	if i, j := strings.LastIndex(calls, "attach"), strings.LastIndex(calls, "volume-remove"); j < i {
		t.Errorf("engine calls %q: volumes removed before the failure", calls)
	}
}

// TestCloseEscalates: a server that exits once its stdin closes is not
// stopped; one that does not is stopped with the configured timeout (the
// engine sends SIGTERM, then SIGKILL after it); a failed stop is reported and
// the container is removed regardless.
func TestCloseEscalates(t *testing.T) {
	tests := []struct {
		name     string
		graceful bool  // exits on stdin EOF
		stopErr  error // ContainerStop fails
		wantStop bool
	}{
		{name: "exits on EOF", graceful: true},
		{name: "ignores EOF", wantStop: true},
		{name: "stop fails", stopErr: errors.New("engine gone"), wantStop: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker()
			// Even a stop that reports an error ends the container here,
			// so the test does not wait out the stop's own timeouts.
			f.exitOnStop = true
			if tt.stopErr != nil {
				f.fail["stop"] = tt.stopErr
			}
			l := fakeLauncher(t, f)
			c, err := l.Start(context.Background(), Spec{Name: "s", Image: "img"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.graceful {
				f.exit <- 0
				if code, err := c.Wait(context.Background()); err != nil || code != 0 {
					t.Fatalf("Wait = %d, %v", code, err)
				}
			}
			err = c.Close(context.Background())
			if tt.stopErr != nil && !errors.Is(err, tt.stopErr) {
				t.Errorf("Close = %v, want the stop error", err)
			}
			if tt.stopErr == nil && err != nil {
				t.Errorf("Close = %v", err)
			}
			calls := engineCalls(f)
			stopped := strings.Contains(calls, "stop")
			if stopped != tt.wantStop {
				t.Errorf("engine calls %q: stopped %v, want %v", calls, stopped, tt.wantStop)
			}
			f.mu.Lock()
			secs := slices.Clone(f.stopSecs)
			f.mu.Unlock()
			if tt.wantStop && !slices.Equal(secs, []int{2}) {
				t.Errorf("stop timeouts %v, want [2] (1.5 s rounded up)", secs)
			}
			if !strings.HasSuffix(calls, "remove") {
				t.Errorf("engine calls %q: the container must be removed last", calls)
			}
			if again := c.Close(context.Background()); !errors.Is(again, err) && again != err {
				t.Errorf("second Close = %v, want the first's result %v", again, err)
			}
		})
	}
}

// Ping answers at once, unrecorded: the launcher pings once before its first
// request, which the call lists below leave out.
func (f *fakeDocker) Ping(context.Context) (types.Ping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return types.Ping{APIVersion: "1.41"}, f.fail["ping"]
}
