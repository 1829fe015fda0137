package profiles

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dangerFixture is a home directory with credential directories, an engine
// socket that DOCKER_HOST names, and links to them.
type dangerFixture struct {
	root, home, cfgDir, sock string
	env                      fakeEnv
}

func newDangerFixture(t *testing.T) dangerFixture {
	t.Helper()
	root := t.TempDir()
	f := dangerFixture{root: root, home: filepath.Join(root, "home"), cfgDir: filepath.Join(root, "proj")}
	for _, d := range []string{".ssh", ".aws", "notes", "run", "Library/Keychains", ".config/gcloud"} {
		if err := os.MkdirAll(filepath.Join(f.home, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(f.cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.home, ".ssh", "id_ed25519"), []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.sock = filepath.Join(f.home, "run", "engine.sock")
	ln, err := net.Listen("unix", f.sock)
	if err != nil {
		t.Skipf("cannot create a unix socket here: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	// A second engine-looking socket that nothing names, and aliases.
	ln2, err := net.Listen("unix", filepath.Join(root, "docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln2.Close() })
	for link, target := range map[string]string{
		filepath.Join(root, "keys"):       filepath.Join(f.home, ".ssh"),
		filepath.Join(root, "sock-link"):  f.sock,
		filepath.Join(root, "everything"): "/",
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(f.sock, filepath.Join(root, "hard.sock")); err != nil {
		t.Logf("no hard link to a socket here: %v", err)
	}
	f.env = fakeEnv{home: f.home, vars: map[string]string{
		"HOME":        f.home,
		"DOCKER_HOST": "unix://" + f.sock,
		"CREDS":       filepath.Join(f.home, ".aws"),
	}}
	return f
}

func (f dangerFixture) parse(mounts []string, allow bool) (*Config, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "[servers.s]\nimage = \"x\"\n\n[servers.s.sandbox]\n")
	if allow {
		b.WriteString("allow_dangerous_mounts = true\n")
	}
	b.WriteString("mounts = [\n")
	for _, m := range mounts {
		fmt.Fprintf(&b, "  %q,\n", m)
	}
	b.WriteString("]\n")
	return parse(filepath.Join(f.cfgDir, "mcp-sandbox.toml"), []byte(b.String()), f.env)
}

func TestDangerousMountsRefused(t *testing.T) {
	f := newDangerFixture(t)
	tests := []struct {
		mount string
		want  string // in the message
	}{
		{"/var/run/docker.sock:/var/run/docker.sock:rw", "engine's socket"},
		{"/run/docker.sock:/d.sock", "engine's socket"},
		{"/run/podman/podman.sock:/p.sock", "engine's socket"},
		{"~/.docker/run/docker.sock:/d.sock", "engine's socket"},
		{"~/.orbstack/run/docker.sock:/d.sock", "engine's socket"},
		{"~/.colima/default/docker.sock:/d.sock", "engine's socket"},
		{"~/.rd/docker.sock:/d.sock", "engine's socket"},
		{"/var/run:/r:ro", "engine's socket"}, // a parent, read-only
		{"~/run/engine.sock:/e.sock", "engine's socket " + f.sock},
		{"~/run:/r:ro", "engine's socket " + f.sock},
		{"../sock-link:/e.sock", "engine's socket " + f.sock}, // relative and a link
		{"../docker.sock:/e.sock", "a container engine's socket"},
		{"/:/host:rw", "whole file system"},
		{"/:/host:ro", "whole file system"},
		{"../everything:/host:ro", "whole file system"},
		{"~:/h:ro", "home directory"},
		{"$HOME:/h:ro", "home directory"},
		{"${HOME}/.:/h", "home directory"},
		{"..:/up:ro", "home directory"}, // the parent of the home
		{"~/.ssh:/s:ro", "credential directory " + filepath.Join(f.home, ".ssh")},
		{"~/.ssh/id_ed25519:/k:ro", "credential directory"},
		{"../keys:/k:ro", "credential directory " + filepath.Join(f.home, ".ssh")},
		{"$CREDS:/a", "credential directory " + filepath.Join(f.home, ".aws")},
		{"~/.config/gcloud:/g", "credential directory"},
		{"~/.config:/c:ro", "credential directory"},
		{"~/.docker:/d", "credential directory"},
		{"~/.kube:/k", "credential directory"},
		{"~/.gnupg:/g", "credential directory"},
		{"~/.local/share/keyrings:/k", "credential directory"},
		{"~/Library/Keychains:/k", "credential directory"},
		{"~/Library:/l:ro", "credential directory"},
		{"~/.config/mcp-sandbox:/c:ro", "mcp-sandbox's own directory"},
		{"~/.local/state/mcp-sandbox/audit.jsonl:/a:ro", "mcp-sandbox's own directory"},
		{".:/proj:rw", "this configuration file"},
	}
	if _, err := os.Stat(filepath.Join(f.root, "hard.sock")); err == nil {
		tests = append(tests, struct{ mount, want string }{"../hard.sock:/h.sock", "engine's socket " + f.sock})
	}
	for _, tt := range tests {
		t.Run(tt.mount, func(t *testing.T) {
			_, err := f.parse([]string{tt.mount}, false)
			if err == nil {
				t.Fatalf("mount %q accepted", tt.mount)
			}
			msg := err.Error()
			for _, want := range []string{
				fmt.Sprintf("mcp-sandbox.toml:6:3: mount %q", tt.mount),
				tt.want,
				"servers.s.sandbox.allow_dangerous_mounts = true",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
		})
	}
}

func TestDangerousMountsAllowedWarn(t *testing.T) {
	f := newDangerFixture(t)
	cfg, err := f.parse([]string{"~/notes:/notes:ro", "/var/run/docker.sock:/var/run/docker.sock:rw", "/:/host:ro"}, true)
	if err != nil {
		t.Fatal(err)
	}
	sb := cfg.Servers["s"].Sandbox
	if !sb.AllowDangerousMounts || len(sb.Mounts) != 3 {
		t.Fatalf("sandbox = %+v", sb)
	}
	if len(sb.DangerousMounts) != 2 {
		t.Fatalf("warnings = %v, want the socket and /", sb.DangerousMounts)
	}
	for i, want := range []string{`:8:3: mount "/var/run/docker.sock:/var/run/docker.sock:rw" hands the server the container engine's socket`, `:9:3: mount "/:/host:ro" hands the server the whole file system`} {
		if got := sb.DangerousMounts[i].Error(); !strings.Contains(got, want) || !strings.Contains(got, "allowed by servers.s.sandbox.allow_dangerous_mounts = true") {
			t.Errorf("warning %d = %q, want it to contain %q and the key", i, got, want)
		}
	}
}

func TestSafeMountsAccepted(t *testing.T) {
	f := newDangerFixture(t)
	cfg, err := f.parse([]string{"~/notes:/notes:ro", "~/notes:/rw:rw", ".:/proj:ro", "/usr/share/doc:/doc", "~/.sshx:/x"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Servers["s"].Sandbox.DangerousMounts; len(w) != 0 {
		t.Errorf("warnings for safe mounts: %v", w)
	}
}

// The lists of other systems, checked here by their names.
func TestSensitivePathsPerOS(t *testing.T) {
	env := fakeEnv{home: "/Users/u", vars: map[string]string{"AppData": `/c/Users/u/AppData/Roaming`}}
	has := func(list []sensitive, p string) bool {
		for _, s := range list {
			if s.path == filepath.Clean(p) {
				return true
			}
		}
		return false
	}
	darwin := sensitivePaths(env, "darwin", "")
	for _, p := range []string{"/Users/u/Library/Keychains", "/Users/u/Library/Application Support/mcp-sandbox", "/Users/u/.docker/run/docker.sock", "/Users/u/.orbstack/run/docker.sock", "/Users/u/.colima/default/docker.sock", "/var/run/docker.sock"} {
		if !has(darwin, p) {
			t.Errorf("darwin: %s not listed", p)
		}
	}
	windows := sensitivePaths(env, "windows", "")
	for _, p := range []string{`\\.\pipe\docker_engine`, `/c/Users/u/AppData/Roaming/mcp-sandbox`, "/Users/u/.ssh"} {
		if !has(windows, p) {
			t.Errorf("windows: %s not listed", p)
		}
	}
	// macOS and Windows compare names without case.
	if why := mountDanger("/Users/u/.SSH", false, darwin, "darwin"); !strings.Contains(why, "credential") {
		t.Errorf("darwin ~/.SSH: %q", why)
	}
	if why := mountDanger("/Users/u/.SSH", false, darwin, "linux"); why != "" {
		t.Errorf("linux ~/.SSH is another directory, got %q", why)
	}
}
