package launcher

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/google/go-cmp/cmp"
)

func TestSpecNormalize(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		want    Spec
		wantErr string
	}{
		{
			name: "network defaults to none",
			spec: Spec{Name: "a", Image: "img"},
			want: Spec{Name: "a", Image: "img", Network: "none"},
		},
		{
			name: "build context defaults",
			spec: Spec{Name: "My Server", BuildContext: "/ctx"},
			want: Spec{Name: "My Server", BuildContext: "/ctx", Dockerfile: "Dockerfile", Image: "mcp-sandbox/my-server:latest", Network: "none"},
		},
		{name: "no name", spec: Spec{Image: "img"}, wantErr: "empty server name"},
		{name: "no image", spec: Spec{Name: "a"}, wantErr: "no image and no build context"},
		{name: "host network refused", spec: Spec{Name: "a", Image: "i", Network: "host"}, wantErr: `network "host"`},
		{name: "bad env name", spec: Spec{Name: "a", Image: "i", Env: map[string]string{"A=B": "c"}}, wantErr: "environment variable"},
		{name: "relative mount target", spec: Spec{Name: "a", Image: "i", Mounts: []Mount{{Source: "/x", Target: "y"}}}, wantErr: "absolute target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.spec.normalize()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("normalize() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("normalize() error = %v", err)
			}
			if diff := cmp.Diff(got, tt.want, cmp.Comparer(func(a, b func(string) string) bool { return (a == nil) == (b == nil) })); diff != "" {
				t.Errorf("normalize() mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestContainerConfigAlwaysRestricts(t *testing.T) {
	labels := map[string]string{LabelManaged: "true"}
	tests := []struct {
		name string
		spec Spec
		want *container.HostConfig
	}{
		{
			name: "bare spec still drops caps and runs init",
			spec: Spec{Name: "a", Image: "i", Network: "none"},
			want: &container.HostConfig{
				NetworkMode: "none", CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
				Init: ptr(true), LogConfig: container.LogConfig{Type: "none"},
			},
		},
		{
			name: "limits, tmpfs and mounts",
			spec: Spec{
				Name: "a", Image: "i", Network: "bridge", ReadOnly: true, Memory: 64 << 20, NanoCPUs: 5e8,
				PidsLimit: 32, TmpfsSize: 8 << 20, Mounts: []Mount{{Source: "/h", Target: "/c", ReadOnly: true}},
			},
			want: &container.HostConfig{
				NetworkMode: "bridge", ReadonlyRootfs: true, CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
				Init: ptr(true), LogConfig: container.LogConfig{Type: "none"},
				Resources: container.Resources{Memory: 64 << 20, MemorySwap: 64 << 20, CPUPeriod: 1e6, CPUQuota: 5e5, PidsLimit: ptr(int64(32))},
				Tmpfs:     map[string]string{"/tmp": "rw,noexec,nosuid,nodev,size=8388608"},
				Mounts: []mount.Mount{
					{Type: mount.TypeBind, Source: "/h", Target: "/c", ReadOnly: true},
					{Type: mount.TypeVolume, Source: "v", Target: "/run/s", ReadOnly: true},
				},
			},
		},
	}
	tests = append(tests, struct {
		name string
		spec Spec
		want *container.HostConfig
	}{
		name: "a sliver of a CPU still gets the kernel's smallest quota",
		spec: Spec{Name: "a", Image: "i", Network: "none", NanoCPUs: 1e5},
		want: &container.HostConfig{
			NetworkMode: "none", CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
			Init: ptr(true), LogConfig: container.LogConfig{Type: "none"},
			Resources: container.Resources{CPUPeriod: 1e6, CPUQuota: 1000},
		},
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fileMounts []mount.Mount
			if len(tt.spec.Mounts) > 0 {
				fileMounts = []mount.Mount{{Type: mount.TypeVolume, Source: "v", Target: "/run/s", ReadOnly: true}}
			}
			cfg, hc := containerConfig(tt.spec, labels, fileMounts)
			if diff := cmp.Diff(hc, tt.want); diff != "" {
				t.Errorf("host config mismatch (-got +want):\n%s", diff)
			}
			gotStdio := []bool{cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr, cfg.OpenStdin, cfg.StdinOnce, cfg.Tty}
			if diff := cmp.Diff(gotStdio, []bool{true, true, true, true, true, false}); diff != "" {
				t.Errorf("stdio flags (attach in/out/err, open stdin, stdin once, tty) mismatch (-got +want):\n%s", diff)
			}
			if len(cfg.ExposedPorts) != 0 || len(hc.PortBindings) != 0 || hc.PublishAllPorts {
				t.Errorf("ports exposed: %v %v %v", cfg.ExposedPorts, hc.PortBindings, hc.PublishAllPorts)
			}
		})
	}
}

func TestContainerConfigEnvIsExactlyTheSpec(t *testing.T) {
	t.Setenv("MCP_SANDBOX_HOST_ONLY", "leak")
	cfg, _ := containerConfig(Spec{Name: "a", Image: "i", Env: map[string]string{"B": "2", "A": "1=x"}}, nil, nil)
	if diff := cmp.Diff(cfg.Env, []string{"A=1=x", "B=2"}); diff != "" {
		t.Errorf("env mismatch (-got +want):\n%s", diff)
	}
}

func TestLineWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{name: "one write, two lines", writes: []string{"a\nb\n"}, want: []string{"a", "b"}},
		{name: "line split across writes", writes: []string{"he", "llo\nwor", "ld\n"}, want: []string{"hello", "world"}},
		{name: "crlf trimmed", writes: []string{"x\r\n"}, want: []string{"x"}},
		{name: "empty line kept", writes: []string{"\n"}, want: []string{""}},
		{name: "unterminated tail flushed", writes: []string{"a\ntail"}, want: []string{"a", "tail"}},
		{name: "long line cut before the guard", writes: []string{"0123456789", "ab\n", "next\n"}, want: []string{"0123" + truncMarker, "next"}},
		{name: "long line across many writes", writes: []string{"012", "345", "678", "\nz\n"}, want: []string{"0123" + truncMarker, "z"}},
		{name: "long tail without newline", writes: []string{"0123456789"}, want: []string{"0123" + truncMarker}},
		{name: "exactly max", writes: []string{"01234\n"}, want: []string{"01234"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			w := newLineWriter(5, 1, func(b []byte) { got = append(got, string(b)) })
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				if err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			w.Flush()
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("lines mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseStatStartTime(t *testing.T) {
	tail := " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 20 21"
	tests := []struct {
		name   string
		stat   string
		want   string
		wantOK bool
	}{
		{name: "plain", stat: "42 (cat)" + tail, want: "777", wantOK: true},
		{name: "name with spaces and parens", stat: "42 (a) b (c)" + tail, want: "777", wantOK: true},
		{name: "truncated", stat: "42 (cat) S 1 2", wantOK: false},
		{name: "no parens", stat: "garbage", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseStatStartTime(tt.stat)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseStatStartTime() = %q, %v, want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestOrphaned(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pid start times need /proc")
	}
	l, err := New(Options{Instance: "unit"})
	if err != nil {
		t.Fatal(err)
	}
	if l.pidStart == "" {
		t.Fatal("no start time for our own pid")
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := strconv.Itoa(dead.Process.Pid)
	me := strconv.Itoa(os.Getpid())
	parent := strconv.Itoa(os.Getppid())
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{name: "dead pid", labels: map[string]string{LabelHost: l.host, LabelPID: deadPID}, want: true},
		{name: "dead pid, other host", labels: map[string]string{LabelHost: l.host + "-other", LabelPID: deadPID}, want: false},
		{name: "our own pid", labels: map[string]string{LabelHost: l.host, LabelPID: me, LabelPIDStart: l.pidStart}, want: false},
		{name: "live parent pid", labels: map[string]string{LabelHost: l.host, LabelPID: parent}, want: false},
		{name: "reused pid: live but started at another time", labels: map[string]string{LabelHost: l.host, LabelPID: parent, LabelPIDStart: "1"}, want: true},
		{name: "unparsable pid kept", labels: map[string]string{LabelHost: l.host, LabelPID: "x"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.orphaned(tt.labels); got != tt.want {
				t.Errorf("orphaned(%v) = %v, want %v", tt.labels, got, tt.want)
			}
		})
	}
}

func TestFileDirs(t *testing.T) {
	tests := []struct {
		name      string
		files     []string
		wantPaths []string
		wantDirs  []string
		wantErr   string
	}{
		{name: "one dir", files: []string{"/run/s/b", "/run/s/a"}, wantPaths: []string{"/run/s/a", "/run/s/b"}, wantDirs: []string{"/run/s"}},
		{name: "nested dirs share the top mount", files: []string{"/run/s/sub/x", "/run/s/a"}, wantPaths: []string{"/run/s/a", "/run/s/sub/x"}, wantDirs: []string{"/run/s"}},
		{name: "deeper first", files: []string{"/a/b/c/x", "/a/y"}, wantPaths: []string{"/a/b/c/x", "/a/y"}, wantDirs: []string{"/a"}},
		{name: "two mounts", files: []string{"/etc/app/c", "/run/s/t"}, wantPaths: []string{"/etc/app/c", "/run/s/t"}, wantDirs: []string{"/etc/app", "/run/s"}},
		{name: "file in root refused", files: []string{"/token"}, wantErr: "inside a directory"},
		{name: "relative refused", files: []string{"run/x"}, wantErr: "clean absolute"},
		{name: "unclean refused", files: []string{"/run/../x/y"}, wantErr: "clean absolute"},
		{name: "file that is a dir refused", files: []string{"/a/b", "/a/b/c"}, wantErr: "directory of another"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			for _, f := range tt.files {
				files[f] = nil
			}
			paths, dirs, err := fileDirs(files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("fileDirs() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(paths, tt.wantPaths); diff != "" {
				t.Errorf("paths (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(dirs, tt.wantDirs); diff != "" {
				t.Errorf("dirs (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseNumericUser(t *testing.T) {
	tests := []struct {
		user             string
		wantUID, wantGID int
		wantErr          bool
	}{
		{user: "65534:65534", wantUID: 65534, wantGID: 65534},
		{user: "1000", wantUID: 1000},
		{user: "", wantUID: 0},
		{user: "root", wantUID: 0},
		{user: "node", wantErr: true},
		{user: "1000:staff", wantErr: true},
	}
	for _, tt := range tests {
		uid, gid, err := parseNumericUser(tt.user)
		if (err != nil) != tt.wantErr || uid != tt.wantUID || gid != tt.wantGID {
			t.Errorf("parseNumericUser(%q) = %d, %d, %v; want %d, %d, error %v", tt.user, uid, gid, err, tt.wantUID, tt.wantGID, tt.wantErr)
		}
	}
}

func TestTarContextHonoursDockerignore(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile":        "FROM scratch\n",
		".dockerignore":     "# comment\n*.log\nsecret\n.git\n!keep.log\nDockerfile\n",
		"app/main.go":       "package main\n",
		"app/debug.log":     "x",
		"keep.log":          "kept by exception",
		"secret/key":        "k",
		".git/HEAD":         "ref",
		"nested/dir/ok.txt": "ok",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := tarContext(&buf, dir, "Dockerfile"); err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			got = append(got, h.Name)
		}
	}
	sort.Strings(got)
	// As with the engine, "*.log" only matches at the top of the context.
	want := []string{".dockerignore", "Dockerfile", "app/debug.log", "app/main.go", "keep.log", "nested/dir/ok.txt"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("context files (-got +want):\n%s", diff)
	}
}

func TestCopyProgress(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		want    string
		wantErr string
	}{
		{
			name:   "build stream",
			stream: `{"stream":"Step 1/2 : FROM scratch\n"}{"stream":" ---\u003e Running"}{"aux":{"ID":"sha256:x"}}`,
			want:   "Step 1/2 : FROM scratch\n ---> Running\n",
		},
		{
			name:   "pull status",
			stream: `{"status":"Pulling fs layer","id":"abc"}` + "\n" + `{"status":"Downloading","id":"abc","progress":"[=> ] 1MB/2MB"}`,
			want:   "abc: Pulling fs layer\nabc: Downloading [=> ] 1MB/2MB\n",
		},
		{
			name:    "error detail wins",
			stream:  `{"stream":"Step 1/1\n"}{"errorDetail":{"message":"COPY failed: no such file"},"error":"COPY failed"}`,
			want:    "Step 1/1\n",
			wantErr: "COPY failed: no such file",
		},
		{name: "garbage", stream: `{"stream":`, wantErr: "progress stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := copyProgress(&out, strings.NewReader(tt.stream))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("copyProgress() error = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Errorf("copyProgress() error = %v", err)
			}
			if diff := cmp.Diff(out.String(), tt.want); diff != "" {
				t.Errorf("output (-got +want):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func frame(stream byte, payload string) []byte {
	b := []byte{stream, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	return append(b, payload...)
}

func TestDemuxReader(t *testing.T) {
	var stream []byte
	stream = append(stream, frame(1, "hello ")...)
	stream = append(stream, frame(2, "log line\npartial")...)
	stream = append(stream, frame(1, "world\n")...)
	stream = append(stream, frame(2, " end\n")...)
	var lines []string
	stderr := newLineWriter(1<<10, 0, func(b []byte) { lines = append(lines, string(b)) })
	done := make(chan struct{})
	d := newDemuxReader(bytes.NewReader(stream), stderr, done)
	got, err := io.ReadAll(iotest.OneByteReader(d))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello world\n" {
		t.Errorf("stdout %q, want %q", got, "hello world\n")
	}
	if diff := cmp.Diff(lines, []string{"log line", "partial end"}); diff != "" {
		t.Errorf("stderr lines (-got +want):\n%s", diff)
	}
	select {
	case <-done:
	default:
		t.Error("done not closed at the end of the stream")
	}

	// The engine's own error ends the stream with it.
	d = newDemuxReader(bytes.NewReader(append(frame(1, "x"), frame(3, "boom")...)), stderr, make(chan struct{}))
	if _, err := io.ReadAll(d); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("system error frame: got %v", err)
	}

	// After abandon, reads fail and the rest is drained in the background.
	pr, pw := io.Pipe()
	done = make(chan struct{})
	lines = nil
	d = newDemuxReader(pr, stderr, done)
	go func() {
		pw.Write(frame(1, "unread stdout"))
		pw.Write(frame(2, "tail of stderr\n"))
		pw.Close()
	}()
	d.abandon()
	if _, err := d.Read(make([]byte, 10)); err != errContainerClosed {
		t.Errorf("Read after abandon: %v, want errContainerClosed", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("abandoned stream not drained")
	}
	if diff := cmp.Diff(lines, []string{"tail of stderr"}); diff != "" {
		t.Errorf("stderr after abandon (-got +want):\n%s", diff)
	}
}

func TestImageRef(t *testing.T) {
	pkg := &Package{Ecosystem: "npm", Name: "m", Version: "1.0.0", BaseImage: "node:22-slim"}
	for _, tt := range []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "a", Image: "ghcr.io/x/y:1"}, "ghcr.io/x/y:1"},
		{Spec{Name: "My Server", BuildContext: "/ctx"}, "mcp-sandbox/my-server:latest"},
		{Spec{Name: "p", Package: pkg}, PackageImage(Spec{Name: "p", Package: pkg})},
	} {
		if got := tt.spec.ImageRef(); got != tt.want {
			t.Errorf("%+v: ImageRef() = %q, want %q", tt.spec, got, tt.want)
		}
		if n, err := tt.spec.normalize(); err != nil || n.Image != tt.want {
			t.Errorf("%+v: normalize() image %q (%v), ImageRef %q", tt.spec, n.Image, err, tt.want)
		}
	}
	if !strings.HasPrefix(PackageImage(Spec{Name: "p", Package: pkg}), "mcp-sandbox/pkg-p:") {
		t.Errorf("package image %q", PackageImage(Spec{Name: "p", Package: pkg}))
	}
}
