package hostconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRefusesMalformed(t *testing.T) {
	c, _ := Lookup("claude-desktop")
	for _, tc := range []struct{ src, want string }{
		{"{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\" \"args\": []}\n  }\n}\n", "f.json:3:26: invalid character"},
		{"{\n  \"mcpServers\": {\n", "f.json:3:1: "},
		{"[1, 2]", "f.json:1:1: the top level is not a JSON object"},
		{`{"mcpServers": []}`, `"mcpServers" is not an object`},
	} {
		_, err := Parse("f.json", []byte(tc.src), c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.src, err, tc.want)
		}
	}
}

func TestEmptyFileGetsServers(t *testing.T) {
	c, _ := Lookup("vscode")
	d, err := Parse("f.json", nil, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetEntry("probe", Launch{Command: "/bin/m", Args: []string{"run", "probe"}}); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"servers\": {\n    \"probe\": {\n      \"type\": \"stdio\",\n      \"command\": \"/bin/m\",\n      \"args\": [\"run\", \"probe\"]\n    }\n  }\n}\n"
	if diff := cmp.Diff(want, string(d.Bytes())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A comment inside a value that a rewrite replaces would be lost: the edit
// is refused and the document left alone.
func TestRewriteRefusesToDropComment(t *testing.T) {
	c, _ := Lookup("vscode")
	src := "{\"servers\": {\"a\": {\"command\": \"npx\", \"args\": [\"-y\", /* keep me */ \"pkg\"]}}}"
	d, err := Parse("f.json", []byte(src), c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.SetEntry("a", Launch{Command: "/bin/m", Args: []string{"run", "a"}})
	if err == nil || !strings.Contains(err.Error(), `drop the comment "/* keep me */"`) {
		t.Fatalf("SetEntry = %v, want a refusal naming the comment", err)
	}
}

// Removing an entry keeps the comments around it and notes those inside.
func TestRemoveNotesInnerComments(t *testing.T) {
	c, _ := Lookup("vscode")
	src := "{\n  \"servers\": {\n    // about a\n    \"a\": {\n      \"command\": \"x\" // inner\n    },\n    \"b\": {}\n  }\n}\n"
	d, _ := Parse("f.json", []byte(src), c)
	if ok, err := d.RemoveEntry("a"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	want := "{\n  \"servers\": {\n    // about a\n    \"b\": {}\n  }\n}\n"
	if diff := cmp.Diff(want, string(d.Bytes())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "// inner") {
		t.Errorf("notes = %q", d.Notes)
	}
}

func TestWriteFileBackupModeRestore(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mcp.json")
	orig := []byte("{\"mcpServers\": {}}\n")
	if err := os.WriteFile(p, orig, 0o640); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 2, 2, 15, 0, 0, time.UTC)
	b1, err := WriteFile(p, []byte("one\n"), t0)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(b1) != "mcp.json.mcp-sandbox-backup-20261202T021500Z" {
		t.Errorf("backup = %s", b1)
	}
	b2, err := WriteFile(p, []byte("two\n"), t0) // same second
	if err != nil || !strings.HasSuffix(b2, "-2") {
		t.Fatalf("second backup %s, %v", b2, err)
	}
	if got, _ := os.ReadFile(b1); string(got) != string(orig) {
		t.Errorf("first backup holds %q", got)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", fi.Mode().Perm())
	}
	if bi, _ := os.Stat(b1); bi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", bi.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".mcp.json.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	got, err := Restore(p, t0.Add(time.Minute))
	if err != nil || got != b1 {
		t.Fatalf("Restore = %s, %v; want %s", got, err, b1)
	}
	if data, _ := os.ReadFile(p); string(data) != string(orig) {
		t.Errorf("restored %q, want %q", data, orig)
	}
	bs, _ := Backups(p)
	if len(bs) != 3 || bs[0] != b1 {
		t.Errorf("backups after restore: %v", bs)
	}
	// A symlinked host file is written through the link.
	link := filepath.Join(dir, "link.json")
	os.Symlink(p, link)
	if _, err := WriteFile(link, []byte("three\n"), t0); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced by a file")
	}
	if data, _ := os.ReadFile(p); string(data) != "three\n" {
		t.Errorf("target holds %q", data)
	}
	if _, err := Restore(filepath.Join(dir, "none.json"), t0); err == nil {
		t.Error("Restore without a backup succeeded")
	}
}

func TestUserFiles(t *testing.T) {
	envs := map[string]Env{
		"darwin":  {GOOS: "darwin", Home: "/Users/u"},
		"windows": {GOOS: "windows", Home: `C:\Users\u`, Getenv: func(k string) string { return map[string]string{"APPDATA": `C:\Users\u\AppData\Roaming`}[k] }},
		"linux":   {GOOS: "linux", Home: "/home/u"},
		"xdg":     {GOOS: "linux", Home: "/home/u", Getenv: func(k string) string { return map[string]string{"XDG_CONFIG_HOME": "/cfg"}[k] }},
	}
	want := map[string]map[string]string{
		"claude-desktop": {
			"darwin": "/Users/u/Library/Application Support/Claude/claude_desktop_config.json", "windows": `C:\Users\u\AppData\Roaming\Claude\claude_desktop_config.json`,
			"linux": "/home/u/.config/Claude/claude_desktop_config.json", "xdg": "/cfg/Claude/claude_desktop_config.json",
		},
		"claude-code": {"darwin": "/Users/u/.claude.json", "windows": `C:\Users\u\.claude.json`, "linux": "/home/u/.claude.json", "xdg": "/home/u/.claude.json"},
		"cursor":      {"darwin": "/Users/u/.cursor/mcp.json", "windows": `C:\Users\u\.cursor\mcp.json`, "linux": "/home/u/.cursor/mcp.json", "xdg": "/home/u/.cursor/mcp.json"},
		"vscode": {
			"darwin": "/Users/u/Library/Application Support/Code/User/mcp.json", "windows": `C:\Users\u\AppData\Roaming\Code\User\mcp.json`,
			"linux": "/home/u/.config/Code/User/mcp.json", "xdg": "/cfg/Code/User/mcp.json",
		},
		"windsurf": {"darwin": "/Users/u/.codeium/windsurf/mcp_config.json", "windows": `C:\Users\u\.codeium\windsurf\mcp_config.json`, "linux": "/home/u/.codeium/windsurf/mcp_config.json", "xdg": "/home/u/.codeium/windsurf/mcp_config.json"},
	}
	for _, c := range Clients() {
		for os, e := range envs {
			if got := c.UserFile(e); got != want[c.Name][os] {
				t.Errorf("%s on %s: %s, want %s", c.Name, os, got, want[c.Name][os])
			}
		}
	}
	if _, err := Lookup("zed"); err == nil || !strings.Contains(err.Error(), "claude-desktop, claude-code, cursor, vscode, windsurf") {
		t.Errorf("Lookup(zed) = %v", err)
	}
	if _, err := (Client{Title: "X"}).ProjectFile("/p"); err == nil {
		t.Error("a host without project files gave one")
	}
}

func TestConvert(t *testing.T) {
	stat := func(p string) bool { return p == "/data" || p == "/home/u/notes" }
	for _, tc := range []struct {
		name   string
		e      Entry
		want   Server
		reason string
	}{
		{name: "npx scoped version", e: Entry{Command: "npx", Args: []string{"-y", "@scope/srv@1.2.3", "--root=/data", "~/notes", "/missing"}},
			want: Server{Package: "npm:@scope/srv@1.2.3", Args: []string{"--root=/data", "/home/u/notes", "/missing"}, Mounts: []string{"/data:/data:ro", "/home/u/notes:/home/u/notes:ro"}}},
		{name: "npx windows path", e: Entry{Command: `C:\Program Files\nodejs\npx.cmd`, Args: []string{"srv"}}, want: Server{Package: "npm:srv"}},
		{name: "cmd /c npx", e: Entry{Command: "cmd", Args: []string{"/c", "npx", "-y", "srv@2"}}, want: Server{Package: "npm:srv@2"}},
		{name: "npx unknown option", e: Entry{Command: "npx", Args: []string{"--package=x", "y"}}, reason: `npx option "--package=x" is not supported`},
		{name: "npx path package", e: Entry{Command: "npx", Args: []string{"./local"}}, reason: "not a registry package name"},
		{name: "uv tool run", e: Entry{Command: "uv", Args: []string{"tool", "run", "mcp-server-git@2.0"}}, want: Server{Package: "pypi:mcp-server-git==2.0"}},
		{name: "uvx specifier", e: Entry{Command: "uvx", Args: []string{"mcp-srv>=1.2"}}, want: Server{Package: "pypi:mcp-srv>=1.2"}},
		{name: "pipx", e: Entry{Command: "pipx", Args: []string{"run", "mcp-srv", "--x"}}, want: Server{Package: "pypi:mcp-srv", Args: []string{"--x"}}},
		{name: "uvx --from", e: Entry{Command: "uvx", Args: []string{"--from", "git+https://x", "srv"}}, reason: `uvx option "--from"`},
		{name: "credential in args", e: Entry{Command: "npx", Args: []string{"srv", "--token=ghp_abcdefghijklmnopqrstuvwxyz0123"}}, reason: "looks like a credential"},
		{name: "env split", e: Entry{Command: "npx", Args: []string{"srv"}, Env: map[string]string{"GITHUB_PAT": "x1", "PATH": "/bin", "MODE": "fast", "OTHER": "sk-abcdefghijklmnopqrstu", "API_KEY": ""}},
			want: Server{Package: "npm:srv", Env: map[string]string{"MODE": "fast", "API_KEY": ""}, Secrets: map[string]string{"GITHUB_PAT": "server.GITHUB_PAT", "OTHER": "server.OTHER"}}},
		{name: "docker", e: Entry{Command: "docker", Args: []string{"run", "-i", "--rm", "-e", "A=1", "-e", "TOKEN", "--env=B=2", "-v", "/data:/in:ro", "-v", "vol:/x", "--network", "host", "--memory", "1g", "img:1", "serve"}, Env: map[string]string{"TOKEN": "t0k3n"}},
			want: Server{Image: "img:1", Args: []string{"serve"}, Env: map[string]string{"A": "1", "B": "2"}, Secrets: map[string]string{"TOKEN": "server.TOKEN"}, Network: "bridge", Mounts: []string{"/data:/in:ro"}}},
		{name: "docker unknown flag", e: Entry{Command: "docker", Args: []string{"run", "--gpus", "all", "img"}}, reason: `docker run option "--gpus"`},
		{name: "url sse", e: Entry{Type: "sse", URL: "https://x/sse", Headers: map[string]string{"X-Team": "a"}}, want: Server{URL: "https://x/sse", Transport: "sse", Headers: map[string]string{"X-Team": "a"}}},
		{name: "url with key", e: Entry{URL: "https://x/mcp?api_key=abc123"}, reason: "credential in its query (api_key)"},
		{name: "url with user", e: Entry{URL: "https://u:p@x/mcp"}, reason: "user name or password"},
		{name: "native", e: Entry{Command: "/opt/bin/srv"}, reason: "is not a launcher mcp-sandbox can convert"},
		{name: "ours", e: Entry{Command: "/usr/local/bin/mcp-sandbox", Args: []string{"run", "x"}}, reason: "already runs mcp-sandbox"},
		{name: "variable", e: Entry{Command: "npx", Args: []string{"srv", "${workspaceFolder}"}}, reason: "${workspaceFolder}"},
		{name: "no command", e: Entry{}, reason: "neither a command nor a url"},
		{name: "invalid", e: Entry{Invalid: `"args" is not a list of strings`}, reason: `"args" is not a list of strings`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.e.Name = "server"
			c, err := Convert(tc.e, ConvertOptions{Stat: stat, Home: "/home/u"})
			if tc.reason != "" {
				var cc *CannotConvert
				if !errors.As(err, &cc) || !strings.Contains(cc.Reason, tc.reason) {
					t.Fatalf("Convert = %v, want CannotConvert containing %q", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Name = "server"
			tc.want.Source = c.Server.Source
			if diff := cmp.Diff(tc.want, c.Server); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, s := range c.Secrets {
				if strings.Contains(c.Server.TOML("x"), s.Value) {
					t.Errorf("TOML holds the value of %s", s.Item)
				}
			}
		})
	}
}

func TestConvertAsks(t *testing.T) {
	var asked []string
	ask := func(q string, def bool) bool { asked = append(asked, q); return !def }
	c, err := Convert(Entry{Name: "fs", Command: "npx", Args: []string{"@modelcontextprotocol/server-filesystem", "/data"}, Env: map[string]string{"MODE": "x"}},
		ConvertOptions{Stat: func(p string) bool { return p == "/data" }, Ask: ask})
	if err != nil {
		t.Fatal(err)
	}
	// Both defaults (rw for the filesystem server, MODE as plain env) were
	// turned down.
	if diff := cmp.Diff([]string{"/data:/data:ro"}, c.Server.Mounts); diff != "" {
		t.Error(diff)
	}
	if c.Server.Secrets["MODE"] != "fs.MODE" || len(asked) != 2 {
		t.Errorf("secrets %v, asked %q", c.Server.Secrets, asked)
	}
}

func TestServerName(t *testing.T) {
	for in, want := range map[string]string{"github": "github", "My Server!": "My-Server-", "_x": "x", "@@": "server", "a.b": "a.b"} {
		if got := ServerName(in); got != want {
			t.Errorf("ServerName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTOMLQuoting(t *testing.T) {
	s := Server{Name: "a.b", Image: "i", Args: []string{"q\"uote", "back\\slash", "nl\n"}, Env: map[string]string{"K": "\x01"}, Headers: map[string]string{"X Y": "v"}}
	want := "[servers.\"a.b\"]\nimage = \"i\"\nargs = [\"q\\\"uote\", \"back\\\\slash\", \"nl\\n\"]\nenv = { K = \"\\u0001\" }\nheaders = { \"X Y\" = \"v\" }\n"
	if diff := cmp.Diff(want, s.TOML("")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := string(AppendTOML([]byte("a = 1"), "b\n", "c\n")); got != "a = 1\n\nb\n\nc\n" {
		t.Errorf("AppendTOML = %q", got)
	}
}

// A comment after a kept member, on the line of a removed one's
// predecessor, stays (a double count once refused this edit).
func TestRewriteKeepsLineComment(t *testing.T) {
	c, _ := Lookup("vscode")
	src := "{\n  \"servers\": {\n    \"a\": {\n      \"type\": \"stdio\",\n      \"command\": \"docker\",\n      \"args\": [\"run\", \"-i\"], // keep\n      \"env\": {\"API_TOKEN\": \"sk-x\"}\n    },\n  },\n}\n"
	d, _ := Parse("f", []byte(src), c)
	if _, err := d.SetEntry("a", Launch{Command: "/m", Args: []string{"run", "a"}}); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"servers\": {\n    \"a\": {\n      \"type\": \"stdio\",\n      \"command\": \"/m\",\n      \"args\": [\"run\", \"a\"] // keep\n    },\n  },\n}\n"
	if diff := cmp.Diff(want, string(d.Bytes())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
