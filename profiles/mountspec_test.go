package profiles

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSplitMount(t *testing.T) {
	tests := []struct {
		spec, src, dst, mode string
		ok                   bool
	}{
		{"~/notes:/data", "~/notes", "/data", "", true},
		{"/a:/b:ro", "/a", "/b", "ro", true},
		{`C:\Users\me\notes:/data:ro`, `C:\Users\me\notes`, "/data", "ro", true},
		{`C:\Users\me\notes:/data`, `C:\Users\me\notes`, "/data", "", true},
		{`C:/Users/me:/data:rw`, `C:/Users/me`, "/data", "rw", true},
		{`d:\:/data`, `d:\`, "/data", "", true},
		{`\\server\share\dir:/data:rw`, `\\server\share\dir`, "/data", "rw", true},
		{`\\?\C:\long\path:/data:ro`, `\\?\C:\long\path`, "/data", "ro", true},
		{"/b:/c:rx", "/b", "/c", "rx", true},   // the mode is judged later
		{"/d:e", "/d", "e", "", true},          // so is the relative target
		{`C:\x:data`, "C", `\x`, "data", true}, // rejected later: no absolute target
		{"/a", "", "", "", false},
		{":/a", "", "", "", false},
		{"/a:", "", "", "", false},
	}
	for _, tt := range tests {
		src, dst, mode, ok := splitMount(tt.spec)
		if ok != tt.ok || ok && (src != tt.src || dst != tt.dst || mode != tt.mode) {
			t.Errorf("splitMount(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tt.spec, src, dst, mode, ok, tt.src, tt.dst, tt.mode, tt.ok)
		}
	}
}

// TestWindowsMountSource checks that a drive-letter or UNC source survives
// decoding whole: on Windows it is the absolute path itself; elsewhere it is
// a (strange) relative name, made absolute against the config's directory.
func TestWindowsMountSource(t *testing.T) {
	for _, src := range []string{`C:\Users\me\notes`, `\\server\share\notes`} {
		cfg, err := Parse(filepath.Join(t.TempDir(), "mcp-sandbox.toml"), []byte("[servers.a]\nimage = \"x\"\nsandbox.mounts = ['"+src+":/data:rw']\n"))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		m := cfg.Servers["a"].Sandbox.Mounts
		if len(m) != 1 || m[0].Target != "/data" || m[0].ReadOnly || !strings.HasSuffix(m[0].Source, filepath.Clean(src)) {
			t.Errorf("mount %s:/data:rw decoded as %+v", src, m)
		}
		if runtime.GOOS == "windows" && m[0].Source != filepath.Clean(src) {
			t.Errorf("source %q, want %q", m[0].Source, src)
		}
	}
}
