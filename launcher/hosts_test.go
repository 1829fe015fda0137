package launcher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/rs/zerolog"
)

func TestDisableNetwork(t *testing.T) {
	const hosts = "/cache/mcp-sandbox/hosts"
	ours := mount.Mount{Type: mount.TypeBind, Source: hosts, Target: "/etc/hosts", ReadOnly: true}
	data := mount.Mount{Type: mount.TypeBind, Source: "/h", Target: "/data", ReadOnly: true}
	theirs := mount.Mount{Type: mount.TypeBind, Source: "/mine", Target: "/etc/hosts", ReadOnly: true}
	for _, tt := range []struct {
		name         string
		network      string
		hostsFile    string
		mounts       []mount.Mount
		wantDisabled bool
		wantMounts   []mount.Mount
	}{
		{"none: disabled, with the hosts file", NetworkNone, hosts, []mount.Mount{data}, true, []mount.Mount{data, ours}},
		{"the server's own /etc/hosts is kept", NetworkNone, hosts, []mount.Mount{theirs}, true, []mount.Mount{theirs}},
		{"no hosts file: the none network", NetworkNone, "", []mount.Mount{data}, false, []mount.Mount{data}},
		{"bridge untouched", NetworkBridge, hosts, nil, false, nil},
		{"filtered untouched", NetworkFiltered, hosts, nil, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &container.Config{}
			hc := &container.HostConfig{NetworkMode: container.NetworkMode(tt.network), Mounts: append([]mount.Mount(nil), tt.mounts...)}
			disableNetwork(cfg, hc, tt.hostsFile)
			if cfg.NetworkDisabled != tt.wantDisabled {
				t.Errorf("NetworkDisabled = %v, want %v", cfg.NetworkDisabled, tt.wantDisabled)
			}
			if diff := cmp.Diff(hc.Mounts, tt.wantMounts); diff != "" {
				t.Errorf("mounts (-got +want):\n%s", diff)
			}
			if hc.NetworkMode != container.NetworkMode(tt.network) {
				t.Errorf("network mode changed to %q", hc.NetworkMode)
			}
			enableNetwork(cfg, hc, tt.hostsFile)
			if cfg.NetworkDisabled {
				t.Error("enableNetwork left the network disabled")
			}
			if diff := cmp.Diff(hc.Mounts, tt.mounts); diff != "" {
				t.Errorf("mounts after enableNetwork (-got +want):\n%s", diff)
			}
		})
	}
}

func TestEngineSharesFiles(t *testing.T) {
	for host, want := range map[string]bool{
		"unix:///var/run/docker.sock":                  true,
		"unix:///Users/me/.colima/default/docker.sock": true,
		"npipe:////./pipe/docker_engine":               true,
		"tcp://10.0.0.2:2376":                          false,
		"ssh://me@box":                                 false,
	} {
		if got := engineSharesFiles(host); got != want {
			t.Errorf("engineSharesFiles(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestWriteHostsFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the cache directory follows XDG_CACHE_HOME on Linux only")
	}
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	want := filepath.Join(cache, "mcp-sandbox", "hosts")
	p, err := writeHostsFile()
	if err != nil || p != want {
		t.Fatalf("writeHostsFile() = %q, %v; want %q", p, err, want)
	}
	check := func() {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil || string(b) != hostsContent {
			t.Fatalf("hosts file %q (%v), want %q", b, err, hostsContent)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
			t.Errorf("hosts file mode %v, want 0644 (the engine reads it)", fi.Mode().Perm())
		}
		if left, _ := filepath.Glob(filepath.Join(cache, "mcp-sandbox", "hosts-*")); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
	check()
	if err := os.WriteFile(p, []byte("10.0.0.1 localhost\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := writeHostsFile(); err != nil {
		t.Fatal(err)
	}
	check() // a changed file is put right
}

func TestHostsFileNotUnderSELinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the cache directory follows XDG_CACHE_HOME on Linux only")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	enforce := filepath.Join(t.TempDir(), "enforce")
	old := selinuxEnforce
	selinuxEnforce = enforce
	t.Cleanup(func() { selinuxEnforce = old })
	for _, tt := range []struct {
		name, enforce string // "" leaves no file, as with SELinux off
		want          bool
	}{
		{"no SELinux", "", true},
		{"permissive", "0\n", true},
		{"enforcing", "1\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(enforce)
			if tt.enforce != "" {
				if err := os.WriteFile(enforce, []byte(tt.enforce), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l := &Launcher{log: zerolog.Nop(), endpoint: Endpoint{Host: "unix:///var/run/docker.sock"}}
			if got := l.hostsFile() != ""; got != tt.want {
				t.Errorf("hosts file used: %v, want %v", got, tt.want)
			}
		})
	}
}

// refusingMounts is an engine that refuses containers with the network
// disabled, as one that cannot mount the hosts file does.
type refusingMounts struct {
	dockerAPI
	creates []*container.Config
	mounts  [][]mount.Mount
}

func (r *refusingMounts) ContainerCreate(_ context.Context, cfg *container.Config, hc *container.HostConfig, _ *network.NetworkingConfig, _ *ocispec.Platform, _ string) (container.CreateResponse, error) {
	c := *cfg
	r.creates = append(r.creates, &c)
	r.mounts = append(r.mounts, append([]mount.Mount(nil), hc.Mounts...))
	if cfg.NetworkDisabled {
		return container.CreateResponse{}, errors.New("invalid mount config for type \"bind\": bind source path does not exist")
	}
	return container.CreateResponse{ID: "c1"}, nil
}

func TestCreateFallsBackToTheNoneNetwork(t *testing.T) {
	api := &refusingMounts{}
	l := &Launcher{api: api, log: zerolog.Nop(), hosts: "/nowhere/hosts"}
	l.hostsOnce.Do(func() {})
	cfg, hc := containerConfig(Spec{Name: "a", Image: "i", Network: NetworkNone}, nil, nil)
	disableNetwork(cfg, hc, l.hostsFile())
	id, err := l.create(context.Background(), Spec{Name: "a", Image: "i"}, cfg, hc, "n")
	if err != nil || id != "c1" {
		t.Fatalf("create = %q, %v; want the container of the second attempt", id, err)
	}
	if len(api.creates) != 2 || !api.creates[0].NetworkDisabled || api.creates[1].NetworkDisabled {
		t.Fatalf("creates: %d, network disabled %v then %v; want disabled, then not", len(api.creates),
			api.creates[0].NetworkDisabled, len(api.creates) > 1 && api.creates[1].NetworkDisabled)
	}
	if len(api.mounts[1]) != 0 {
		t.Errorf("second attempt still mounts %v", api.mounts[1])
	}
	if hc.NetworkMode != NetworkNone {
		t.Errorf("network mode %q, want none", hc.NetworkMode)
	}
}

func TestMountRefused(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{errors.New(`Error response from daemon: invalid mount config for type "bind": bind source path does not exist: /x/hosts`), true},
		{errors.New("Mounts denied: The path /x/hosts is not shared from the host and is not known to Docker."), true},
		{cerrdefs.ErrInvalidArgument, true},
		{errors.New("Conflict. The container name is already in use"), false},
		{cerrdefs.ErrNotFound, false},
		{nil, false},
	} {
		if got := mountRefused(tt.err); got != tt.want {
			t.Errorf("mountRefused(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
