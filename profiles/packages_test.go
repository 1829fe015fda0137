package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePackages(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `
[packages]
node_image = "local/node:22"
npm_registry = "https://registry.example/"
ca_file = "ca.pem"

[servers.everything]
package = "npm:@modelcontextprotocol/server-everything@2026.8.31"
args = ["stdio"]

[servers.memory]
package = "npm:@modelcontextprotocol/server-memory"
node_image = "other/node:1"
command = "mcp-server-memory"
state = "/data"

[servers.py]
package = "pypi:mcp-hello==0.1.0"
pypi_index = "http://172.17.0.1:8080/simple/"
build_network = "host"

[servers.range]
package = "pypi:x-y >=1.0, <2"
`
	cfg, err := parse(filepath.Join(dir, "c.toml"), []byte(src), fakeEnv{home: "/home/u"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*Package{
		"everything": {Spec: "npm:@modelcontextprotocol/server-everything@2026.8.31", Ecosystem: "npm", Name: "@modelcontextprotocol/server-everything",
			Version: "2026.8.31", BaseImage: "local/node:22", Registry: "https://registry.example/", CAFile: ca, BuildNetwork: "bridge"},
		"memory": {Spec: "npm:@modelcontextprotocol/server-memory", Ecosystem: "npm", Name: "@modelcontextprotocol/server-memory",
			Command: "mcp-server-memory", BaseImage: "other/node:1", Registry: "https://registry.example/", CAFile: ca, BuildNetwork: "bridge"},
		"py": {Spec: "pypi:mcp-hello==0.1.0", Ecosystem: "pypi", Name: "mcp-hello", Version: "==0.1.0",
			BaseImage: DefaultPythonImage, Registry: "http://172.17.0.1:8080/simple/", CAFile: ca, BuildNetwork: "host"},
		"range": {Spec: "pypi:x-y >=1.0, <2", Ecosystem: "pypi", Name: "x-y", Version: ">=1.0, <2", BaseImage: DefaultPythonImage, CAFile: ca, BuildNetwork: "bridge"},
	}
	for name, w := range want {
		srv := cfg.Servers[name]
		if diff := cmp.Diff(w, srv.Package); diff != "" {
			t.Errorf("%s package (-want +got):\n%s", name, diff)
		}
		if srv.Image != "" || srv.Build != "" || !srv.Sandbox.Equal(DefaultSandbox()) {
			t.Errorf("%s: image %q build %q sandbox %+v; want none, none, the default sandbox", name, srv.Image, srv.Build, srv.Sandbox)
		}
	}
	if cfg.Servers["memory"].State != "/data" || cfg.Servers["everything"].State != "" {
		t.Errorf("state: %q, %q", cfg.Servers["memory"].State, cfg.Servers["everything"].State)
	}
	changed := *cfg.Servers["everything"]
	pk := *changed.Package
	pk.Version = "2026.8.18"
	changed.Package = &pk
	if !cfg.Servers["everything"].NeedsRestart(&changed) {
		t.Error("a new package version does not need a restart")
	}
}

func TestParsePackageErrors(t *testing.T) {
	tests := []struct {
		desc string
		src  string
		want []string
	}{
		{"npm without name", "[servers.a]\npackage = \"npm:\"", []string{"2:11: npm: needs a package name"}},
		{"npm scope only", "[servers.a]\npackage = \"npm:@x\"", []string{"2:11: is not an npm package name"}},
		{"npm empty version", "[servers.a]\npackage = \"npm:x@\"", []string{"2:11: empty version"}},
		{"pypi with @", "[servers.a]\npackage = \"pypi:x@1\"", []string{"2:11: NAME==VERSION, not NAME@VERSION"}},
		{"pypi bad specifier", "[servers.a]\npackage = \"pypi:x=1\"", []string{"2:11: want ==VERSION"}},
		{"unknown ecosystem", "[servers.a]\npackage = \"cargo:x\"", []string{"2:11: unknown ecosystem \"cargo\""}},
		{"no ecosystem", "[servers.a]\npackage = \"x\"", []string{"2:11: want \"npm:NAME@VERSION\""}},
		{"quote in spec", "[servers.a]\npackage = \"npm:x@1'\"", []string{"2:11: quotes"}},
		{"package and image", "[servers.a]\npackage = \"npm:x\"\nimage = \"y\"", []string{"3:1: image and package cannot both be set"}},
		{"package on remote", "[servers.a]\nurl = \"https://x\"\npackage = \"npm:x\"", []string{"3:1: package is for local servers"}},
		{"missing ca_file", "[packages]\nca_file = \"/nonexistent/ca.pem\"\n[servers.a]\npackage = \"npm:x\"", []string{"2:11: ca_file /nonexistent/ca.pem"}},
		{"unknown packages key", "[packages]\nnode_img = \"x\"", []string{"2:1: unknown key \"node_img\" in [packages]"}},
		{"bad build_network", "[packages]\nbuild_network = \"none\"", []string{"2:17: invalid build_network"}},
		{"bad registry", "[packages]\nnpm_registry = \"registry.npmjs.org\"", []string{"2:16: must be an http:// or https:// URL"}},
		{"python_image on npm", "[servers.a]\npackage = \"npm:x\"\npython_image = \"p\"", []string{"3:1: python_image is for pypi: packages"}},
		{"node_image on image server", "[servers.a]\nimage = \"x\"\nnode_image = \"n\"", []string{"3:1: node_image is for package servers"}},
		{"command without package", "[servers.a]\nimage = \"x\"\ncommand = \"c\"", []string{"3:1: command is for package servers"}},
		{"command with slash", "[servers.a]\npackage = \"npm:x\"\ncommand = \"bin/c\"", []string{"3:11: command \"bin/c\""}},
		{"state relative", "[servers.a]\npackage = \"npm:x\"\nstate = \"data\"", []string{"3:9: state \"data\" must be a clean absolute"}},
		{"state on image server", "[servers.a]\nimage = \"x\"\nstate = \"/data\"", []string{"3:1: state is for package servers"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := parse(testFile, []byte(tt.src), fakeEnv{home: "/home/u"})
			if err == nil {
				t.Fatalf("parse succeeded, want errors %q", tt.want)
			}
			got := errorList(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				pos, frag, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], testFile+":"+pos+": ") || !strings.Contains(got[i], frag) {
					t.Errorf("error %d = %q, want position %s and %q", i, got[i], pos, frag)
				}
			}
		})
	}
}
