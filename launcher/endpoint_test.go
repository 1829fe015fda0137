package launcher

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSystem is a System over a temporary home: env holds the environment,
// present the socket files that exist (anywhere, system paths included).
func fakeSystem(t *testing.T, goos string, env map[string]string, present ...string) System {
	t.Helper()
	set := map[string]bool{}
	for _, p := range present {
		set[p] = true
	}
	return System{
		GOOS:   goos,
		Getenv: func(k string) string { return env[k] },
		Home:   t.TempDir(),
		Exists: func(p string) bool { return set[p] },
	}
}

// writeContext stores a context the way `docker context create` does:
// contexts/meta/<sha256 of the name>/meta.json under the config dir.
func writeContext(t *testing.T, configDir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	dir := filepath.Join(configDir, "contexts", "meta", hex.EncodeToString(sum[:]))
	meta := map[string]any{
		"Name":      name,
		"Metadata":  map[string]any{"Description": "test"},
		"Endpoints": map[string]any{"docker": map[string]any{"Host": host, "SkipTLSVerify": false}},
	}
	b, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "meta.json"), b)
}

func mustWrite(t *testing.T, file string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeCurrentContext(t *testing.T, configDir, name string) {
	t.Helper()
	mustWrite(t, filepath.Join(configDir, "config.json"), []byte(`{"auths":{},"currentContext":"`+name+`"}`))
}

func TestResolveEndpointOrder(t *testing.T) {
	tests := []struct {
		name string
		// setup writes contexts and config into the fake home and returns
		// the environment.
		setup      func(t *testing.T, home string) map[string]string
		present    []string
		wantHost   string
		wantSource string
		wantCtx    string
		wantVia    string // suffix of ContextVia
		wantErr    string
	}{
		{
			name: "DOCKER_HOST wins over DOCKER_CONTEXT and the current context",
			setup: func(t *testing.T, home string) map[string]string {
				writeContext(t, home+"/.docker", "colima", "unix:///colima.sock")
				writeCurrentContext(t, home+"/.docker", "colima")
				return map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2376", "DOCKER_CONTEXT": "colima"}
			},
			present:    []string{"/var/run/docker.sock"},
			wantHost:   "tcp://10.0.0.1:2376",
			wantSource: SourceDockerHost,
		},
		{
			name: "DOCKER_CONTEXT wins over the current context",
			setup: func(t *testing.T, home string) map[string]string {
				writeContext(t, home+"/.docker", "colima", "unix:///colima.sock")
				writeContext(t, home+"/.docker", "orbstack", "unix:///orb.sock")
				writeCurrentContext(t, home+"/.docker", "orbstack")
				return map[string]string{"DOCKER_CONTEXT": "colima"}
			},
			wantHost:   "unix:///colima.sock",
			wantSource: SourceContext,
			wantCtx:    "colima",
			wantVia:    "DOCKER_CONTEXT",
		},
		{
			name: "current context from ~/.docker/config.json",
			setup: func(t *testing.T, home string) map[string]string {
				writeContext(t, home+"/.docker", "orbstack", "unix:///orb.sock")
				writeCurrentContext(t, home+"/.docker", "orbstack")
				return nil
			},
			present:    []string{"/var/run/docker.sock"},
			wantHost:   "unix:///orb.sock",
			wantSource: SourceContext,
			wantCtx:    "orbstack",
			wantVia:    "/.docker/config.json",
		},
		{
			name: "DOCKER_CONFIG moves config and store",
			setup: func(t *testing.T, home string) map[string]string {
				writeContext(t, home+"/.docker", "a", "unix:///wrong.sock")
				writeCurrentContext(t, home+"/.docker", "a")
				writeContext(t, home+"/elsewhere", "b", "ssh://me@builder")
				writeCurrentContext(t, home+"/elsewhere", "b")
				return map[string]string{"DOCKER_CONFIG": home + "/elsewhere"}
			},
			wantHost:   "ssh://me@builder",
			wantSource: SourceContext,
			wantCtx:    "b",
			wantVia:    "/elsewhere/config.json",
		},
		{
			name: "missing context named by DOCKER_CONTEXT",
			setup: func(t *testing.T, home string) map[string]string {
				return map[string]string{"DOCKER_CONTEXT": "gone"}
			},
			present: []string{"/var/run/docker.sock"},
			wantErr: `docker context "gone" (from DOCKER_CONTEXT): no such context`,
		},
		{
			name: "missing current context",
			setup: func(t *testing.T, home string) map[string]string {
				writeCurrentContext(t, home+"/.docker", "gone")
				return nil
			},
			wantErr: `docker context "gone" (from ` + "HOME" + `/.docker/config.json): no such context`,
		},
		{
			name: "unreadable config.json",
			setup: func(t *testing.T, home string) map[string]string {
				mustWrite(t, home+"/.docker/config.json", []byte(`{"currentContext": `))
				return nil
			},
			wantErr: "config.json",
		},
		{
			name: "context default falls through to the sockets",
			setup: func(t *testing.T, home string) map[string]string {
				writeCurrentContext(t, home+"/.docker", "default")
				return nil
			},
			present:    []string{"/run/podman/podman.sock"},
			wantHost:   "unix:///run/podman/podman.sock",
			wantSource: SourceWellKnown,
		},
		{
			name:       "nothing set and no socket: the default socket",
			setup:      func(t *testing.T, home string) map[string]string { return nil },
			wantHost:   "unix:///var/run/docker.sock",
			wantSource: SourceDefault,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys := fakeSystem(t, "linux", nil, tt.present...)
			env := tt.setup(t, sys.Home)
			sys.Getenv = func(k string) string { return env[k] }
			got, err := ResolveEndpoint(sys)
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "HOME", sys.Home)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("ResolveEndpoint() error = %v, want it to contain %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Host != tt.wantHost || got.Source != tt.wantSource || got.Context != tt.wantCtx {
				t.Errorf("ResolveEndpoint() = %q from %s context %q, want %q from %s context %q",
					got.Host, got.Source, got.Context, tt.wantHost, tt.wantSource, tt.wantCtx)
			}
			if !strings.HasSuffix(got.ContextVia, tt.wantVia) {
				t.Errorf("ContextVia = %q, want suffix %q", got.ContextVia, tt.wantVia)
			}
			if got.Source == SourceContext {
				c, err := newClient(got)
				if err != nil {
					t.Fatalf("newClient: %v", err)
				}
				defer c.Close()
				if !strings.HasPrefix(tt.wantHost, "ssh://") && c.DaemonHost() != tt.wantHost {
					t.Errorf("client talks to %q, want %q", c.DaemonHost(), tt.wantHost)
				}
			}
		})
	}
}

// TestResolveEndpointContextTLS checks that a context's TLS material is
// read: a context whose key is not PEM cannot be used.
func TestResolveEndpointContextTLS(t *testing.T) {
	sys := fakeSystem(t, "linux", map[string]string{"DOCKER_CONTEXT": "remote"})
	cfg := sys.Home + "/.docker"
	writeContext(t, cfg, "remote", "tcp://192.0.2.1:2376")
	sum := sha256.Sum256([]byte("remote"))
	tlsDir := filepath.Join(cfg, "contexts", "tls", hex.EncodeToString(sum[:]), "docker")
	mustWrite(t, filepath.Join(tlsDir, "ca.pem"), []byte("not a certificate"))
	mustWrite(t, filepath.Join(tlsDir, "cert.pem"), []byte("not a certificate"))
	mustWrite(t, filepath.Join(tlsDir, "key.pem"), []byte("not a key"))
	_, err := ResolveEndpoint(sys)
	if err == nil || !strings.Contains(err.Error(), `"remote"`) {
		t.Fatalf("ResolveEndpoint() error = %v, want an error about the context's TLS material", err)
	}
	// Without the broken material the same context resolves.
	if err := os.RemoveAll(filepath.Join(cfg, "contexts", "tls")); err != nil {
		t.Fatal(err)
	}
	ep, err := ResolveEndpoint(sys)
	if err != nil || ep.Host != "tcp://192.0.2.1:2376" {
		t.Fatalf("ResolveEndpoint() = %+v, %v", ep, err)
	}
}

// TestWellKnownSockets checks, per OS, that each well-known socket is chosen
// when it alone exists, that an earlier one wins over all later ones, and
// that without any the default socket is used and every socket is named in
// Tried.
func TestWellKnownSockets(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/501"}
			sys := fakeSystem(t, goos, env)
			// A second Colima profile is found by its directory.
			if err := os.MkdirAll(filepath.Join(sys.Home, ".colima", "work"), 0o755); err != nil {
				t.Fatal(err)
			}
			socks := WellKnownSockets(sys)
			if goos == "windows" {
				ep, err := ResolveEndpoint(sys)
				if err != nil || ep.Host != "npipe:////./pipe/docker_engine" || ep.Source != SourceWellKnown {
					t.Fatalf("ResolveEndpoint() = %+v, %v; want the docker_engine pipe", ep, err)
				}
				return
			}
			var paths []string
			for _, s := range socks {
				paths = append(paths, s.Path)
			}
			for i, s := range socks {
				for _, present := range [][]string{{s.Path}, paths[i:]} {
					sys := sys
					sys.Exists = func(p string) bool {
						for _, q := range present {
							if p == q {
								return true
							}
						}
						return false
					}
					ep, err := ResolveEndpoint(sys)
					if err != nil {
						t.Fatal(err)
					}
					if ep.Host != "unix://"+s.Path || ep.Source != SourceWellKnown {
						t.Errorf("with %v present: got %s (%s), want %s (%s)", present, ep.Host, ep.Source, s.Path, s.Name)
					}
				}
			}
			ep, err := ResolveEndpoint(sys)
			if err != nil {
				t.Fatal(err)
			}
			if ep.Host != "unix:///var/run/docker.sock" || ep.Source != SourceDefault {
				t.Errorf("no socket present: got %s (%s), want the default socket", ep.Host, ep.Source)
			}
			tried := strings.Join(ep.Tried, "\n")
			for _, p := range paths {
				if !strings.Contains(tried, p) {
					t.Errorf("Tried does not name %s:\n%s", p, tried)
				}
			}
			// The platform's expected sockets, in order.
			want := map[string][]string{
				"linux": {
					"/var/run/docker.sock",
					sys.Home + "/.docker/run/docker.sock",
					sys.Home + "/.docker/desktop/docker.sock",
					sys.Home + "/.colima/default/docker.sock",
					sys.Home + "/.colima/work/docker.sock",
					sys.Home + "/.orbstack/run/docker.sock",
					sys.Home + "/.rd/docker.sock",
					"/run/user/501/docker.sock",
					"/run/user/501/podman/podman.sock",
					"/run/podman/podman.sock",
				},
				"darwin": {
					sys.Home + "/.docker/run/docker.sock",
					sys.Home + "/.colima/default/docker.sock",
					sys.Home + "/.colima/work/docker.sock",
					sys.Home + "/.orbstack/run/docker.sock",
					sys.Home + "/.rd/docker.sock",
					sys.Home + "/.local/share/containers/podman/machine/podman.sock",
					"/var/run/docker.sock",
				},
			}[goos]
			if strings.Join(paths, "\n") != strings.Join(want, "\n") {
				t.Errorf("WellKnownSockets(%s) =\n%s\nwant\n%s", goos, strings.Join(paths, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestEndpointFrom(t *testing.T) {
	for _, tt := range []struct {
		ep   Endpoint
		want string
	}{
		{Endpoint{Source: SourceDockerHost}, "from DOCKER_HOST"},
		{Endpoint{Source: SourceContext, Context: "colima", ContextVia: "DOCKER_CONTEXT"}, `from context "colima" (DOCKER_CONTEXT)`},
		{Endpoint{Source: SourceWellKnown}, "well-known socket"},
	} {
		if got := tt.ep.From(); got != tt.want {
			t.Errorf("From() = %q, want %q", got, tt.want)
		}
	}
}
