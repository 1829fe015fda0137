package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/cmd/mcp-sandbox/hostconfig"
	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
)

const hostConfigText = `{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "native": {
      "command": "/usr/local/bin/srv",
      "args": ["--stdio"]
    }
  }
}
`

func hostWorld(t *testing.T) (dir, cfg, host string) {
	t.Helper()
	dir = t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, ".config"))
	t.Setenv("MCP_SANDBOX_CONFIG", "")
	cfg = filepath.Join(dir, "sandbox.toml")
	if err := os.WriteFile(cfg, []byte("# mine\n[servers.a]\nimage = \"a:1\"\n\n[servers.b]\nimage = \"b:1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	host = filepath.Join(dir, "claude_desktop_config.json")
	if err := os.WriteFile(host, []byte(hostConfigText), 0o640); err != nil {
		t.Fatal(err)
	}
	return dir, cfg, host
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", path, err, b)
	}
	return v
}

func TestInstallUninstallRestore(t *testing.T) {
	_, cfg, host := hostWorld(t)
	self, _ := os.Executable()
	self, _ = filepath.EvalSymlinks(self)
	base := []string{"--client", "claude-desktop", "--file", host, "--config", cfg}

	// dry-run prints the diff and changes nothing.
	code, stdout, stderr := runMain(t, "", append([]string{"install", "--dry-run", "a"}, base...)...)
	if code != 0 || !strings.Contains(stdout, "+++ b/"+host) || !strings.Contains(stdout, `+    "a": {`) {
		t.Fatalf("install --dry-run: %d\n%s\n%s", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(host); string(b) != hostConfigText {
		t.Fatal("--dry-run changed the host file")
	}
	if bs, _ := hostconfig.Backups(host); len(bs) != 0 {
		t.Fatal("--dry-run made a backup")
	}

	code, stdout, stderr = runMain(t, "", append([]string{"install", "a"}, base...)...)
	if code != 0 || stdout != "" {
		t.Fatalf("install: %d %q %s", code, stdout, stderr)
	}
	v := readJSON(t, host)
	if v["globalShortcut"] != "Ctrl+Space" {
		t.Error("unrelated key lost")
	}
	servers := v["mcpServers"].(map[string]any)
	a := servers["a"].(map[string]any)
	if a["command"] != self || !slices.Equal(toStrings(a["args"]), []string{"run", "a", "--config", cfg}) {
		t.Errorf("entry a = %v; want %s run a --config %s", a, self, cfg)
	}
	if _, ok := servers["native"]; !ok {
		t.Error("native entry lost")
	}
	if fi, _ := os.Stat(host); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	bs, _ := hostconfig.Backups(host)
	if len(bs) != 1 {
		t.Fatalf("backups %v", bs)
	}
	after, _ := os.ReadFile(host)

	// Idempotent.
	code, _, stderr = runMain(t, "", append([]string{"install", "a"}, base...)...)
	if b, _ := os.ReadFile(host); code != 0 || string(b) != string(after) || !strings.Contains(stderr, "nothing to change") {
		t.Errorf("second install: %d %s", code, stderr)
	}
	if bs, _ := hostconfig.Backups(host); len(bs) != 1 {
		t.Errorf("second install made a backup: %v", bs)
	}

	// Unknown server: refused, nothing written.
	if code, _, stderr := runMain(t, "", append([]string{"install", "zzz"}, base...)...); code != exitConfig || !strings.Contains(stderr, `"zzz"`) {
		t.Errorf("install zzz: %d %s", code, stderr)
	}
	// An entry of that name that is not ours is not replaced.
	os.WriteFile(cfg, []byte("[servers.a]\nimage = \"a:1\"\n\n[servers.b]\nimage = \"b:1\"\n\n[servers.native]\nimage = \"n:1\"\n"), 0o644)
	if code, _, stderr := runMain(t, "", append([]string{"install", "native"}, base...)...); code != exitConfig || !strings.Contains(stderr, `runs "/usr/local/bin/srv", not mcp-sandbox`) {
		t.Errorf("install over a foreign entry: %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(host); string(b) != string(after) {
		t.Error("install over a foreign entry changed the file")
	}
	// An entry that is not ours is not removed.
	if code, _, stderr := runMain(t, "", append([]string{"uninstall", "native"}, base...)...); code != exitConfig || !strings.Contains(stderr, "does not run mcp-sandbox") {
		t.Errorf("uninstall native: %d %s", code, stderr)
	}
	// install all, then uninstall all of ours.
	if code, _, stderr := runMain(t, "", append([]string{"install"}, base...)...); code != 0 {
		t.Fatalf("install all: %s", stderr)
	}
	if s := readJSON(t, host)["mcpServers"].(map[string]any); len(s) != 3 || s["native"].(map[string]any)["command"] != "/usr/local/bin/srv" {
		t.Errorf("after install all (native skipped): %v", s)
	}
	if code, _, stderr := runMain(t, "", append([]string{"uninstall"}, base...)...); code != 0 {
		t.Fatalf("uninstall: %s", stderr)
	}
	if b, _ := os.ReadFile(host); string(b) != hostConfigText {
		t.Errorf("install then uninstall did not give back the file:\n%s", b)
	}
	// restore puts back the file as it was before the first change.
	runMain(t, "", append([]string{"install", "b"}, base...)...)
	if code, _, stderr := runMain(t, "", append([]string{"uninstall", "--restore", "a"}, base...)...); code != exitUsage {
		t.Errorf("--restore with names: %d %s", code, stderr)
	}
	if code, _, stderr := runMain(t, "", append([]string{"uninstall", "--restore"}, base...)...); code != 0 || !strings.Contains(stderr, "restored") {
		t.Fatalf("restore: %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(host); string(b) != hostConfigText {
		t.Errorf("restore gave:\n%s", b)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// A host file that does not parse is refused with line and column, and
// nothing is written anywhere.
func TestHostCommandsRefuseMalformed(t *testing.T) {
	dir, cfg, host := hostWorld(t)
	bad := "{\n  \"mcpServers\": {\n    \"x\": {\"command\": \"npx\",}\n    \"y\": 1\n  }\n}\n"
	os.WriteFile(host, []byte(bad), 0o644)
	for _, args := range [][]string{
		{"install", "a"}, {"uninstall", "a"}, {"import", "--yes"}, {"import", "--dry-run"},
	} {
		newCfg := filepath.Join(dir, "new.toml")
		c := cfg
		if args[0] == "import" {
			c = newCfg
		}
		code, stdout, stderr := runMain(t, "", append(args, "--client", "claude-desktop", "--file", host, "--config", c)...)
		if code != exitConfig || !strings.Contains(stderr, host+":4:5: ") || stdout != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want exit 3 naming %s:4:5", args, code, stdout, stderr, host)
		}
		if b, _ := os.ReadFile(host); string(b) != bad {
			t.Errorf("%v changed the file", args)
		}
		if _, err := os.Stat(newCfg); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v wrote %s", args, newCfg)
		}
	}
	if bs, _ := hostconfig.Backups(host); len(bs) != 0 {
		t.Errorf("backups written: %v", bs)
	}
}

func TestImportNeedsYesOffTerminal(t *testing.T) {
	_, cfg, host := hostWorld(t)
	code, _, stderr := runMain(t, "", "import", "--client", "claude-desktop", "--file", host, "--config", cfg)
	if code != exitUsage || !strings.Contains(stderr, "--yes") {
		t.Errorf("import without --yes off a terminal: %d %s", code, stderr)
	}
}

const importHost = `{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "native": {"command": "/usr/local/bin/srv", "env": {"NATIVE_TOKEN": "ghp_nativenativenativenative0123456789"}},
    "linear": {
      "url": "http://127.0.0.1:9/mcp",
      "headers": {"Authorization": "Bearer sk-import-test-0123456789abcdef"}
    }
  }
}
`

// import of a remote entry: the header credential goes to the keychain,
// the TOML names it, the entry runs mcp-sandbox; dry-run first shows both
// diffs without any credential and changes nothing; a second import has
// nothing to do.
func TestImportRemoteEntry(t *testing.T) {
	_, cfg, host := hostWorld(t)
	os.WriteFile(host, []byte(importHost), 0o600)
	service := "mcp-sandbox-import-test-" + time.Now().Format("150405.000000")
	t.Setenv("MCP_SANDBOX_KEYCHAIN_SERVICE", service)
	store := keychain.New(keychain.Options{Service: keychain.ServiceName("")})
	ctx := context.Background()
	if _, err := store.List(ctx); err != nil {
		if os.Getenv("MCP_SANDBOX_REQUIRE_KEYCHAIN") == "1" {
			t.Fatalf("keychain required but unavailable: %v", err)
		}
		t.Skipf("no keychain (%v); set MCP_SANDBOX_REQUIRE_KEYCHAIN=1 to make this a failure", err)
	}
	// A profile of the name import would pick: import picks another.
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n[profiles.linear-imported]\ntools.deny = [\"*\"]\n")
	f.Close()
	oldCfg, _ := os.ReadFile(cfg)
	base := []string{"--client", "claude-desktop", "--file", host, "--config", cfg}
	tokens := []string{"sk-import-test-0123456789abcdef", "ghp_nativenativenativenative0123456789"}

	code, stdout, stderr := runMain(t, "", append([]string{"import", "--dry-run"}, base...)...)
	if code != 0 || !strings.Contains(stdout, "+++ b/"+host) || !strings.Contains(stdout, "+++ b/"+cfg) || !strings.Contains(stdout, `+headers = { Authorization = "secret:import.linear.Authorization" }`) {
		t.Fatalf("dry-run: %d\n%s\n%s", code, stdout, stderr)
	}
	for _, tok := range tokens {
		if strings.Contains(stdout+stderr, tok) {
			t.Errorf("dry-run output shows a credential")
		}
	}
	if b, _ := os.ReadFile(host); string(b) != importHost {
		t.Fatal("dry-run changed the host file")
	}
	if b, _ := os.ReadFile(cfg); string(b) != string(oldCfg) {
		t.Fatal("dry-run changed the config")
	}
	if _, err := store.Get(ctx, "import.linear.Authorization"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("dry-run stored a secret (%v)", err)
	}

	code, stdout, stderr = runMain(t, "", append([]string{"import", "--yes"}, base...)...)
	t.Cleanup(func() { store.Delete(ctx, "import.linear.Authorization") })
	if code != 0 || stdout != "" {
		t.Fatalf("import: %d %q\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "left as it was: native") {
		t.Errorf("native entry not reported:\n%s", stderr)
	}
	got, err := store.Get(ctx, "import.linear.Authorization")
	if err != nil || got != "Bearer "+tokens[0] {
		t.Errorf("keychain holds %v", err)
	}
	newCfg, _ := os.ReadFile(cfg)
	if !strings.HasPrefix(string(newCfg), string(oldCfg)) || !strings.Contains(string(newCfg), "[servers.linear]\nurl = \"http://127.0.0.1:9/mcp\"\n") {
		t.Errorf("config:\n%s", newCfg)
	}
	// What import wrote loads, and the imported server is pinned through
	// a profile of its own.
	loaded, err := profiles.Load(cfg)
	if err != nil {
		t.Fatalf("check would refuse the imported config: %v", err)
	}
	if pol, err := loaded.Policy("linear", ""); err != nil || !pol.Pin() || loaded.Servers["linear"].Profile != "linear-imported-2" {
		t.Errorf("linear: profile %q, policy %v err %v; want pinned by linear-imported-2", loaded.Servers["linear"].Profile, pol, err)
	}
	if pol, _ := loaded.Policy("a", ""); pol != nil && pol.Pin() {
		t.Error("a hand-written server became pinned")
	}
	v := readJSON(t, host)
	servers := v["mcpServers"].(map[string]any)
	if args := toStrings(servers["linear"].(map[string]any)["args"]); !slices.Equal(args, []string{"run", "linear", "--config", cfg}) {
		t.Errorf("linear entry args %v", args)
	}
	if _, ok := servers["linear"].(map[string]any)["url"]; ok {
		t.Error("url kept")
	}
	hostNow, _ := os.ReadFile(host)
	if strings.Contains(string(newCfg), tokens[0]) || strings.Contains(string(hostNow), tokens[0]) || strings.Contains(stderr, tokens[0]) {
		t.Error("the credential is still in a file or the output")
	}
	if !strings.Contains(string(hostNow), `"native": {"command": "/usr/local/bin/srv", "env": {"NATIVE_TOKEN": "ghp_nativenativenativenative0123456789"}},`) {
		t.Errorf("native entry changed:\n%s", hostNow)
	}
	if bs, _ := hostconfig.Backups(host); len(bs) != 1 {
		t.Errorf("host backups %v", bs)
	}
	// Idempotent.
	code, _, stderr = runMain(t, "", append([]string{"import", "--yes"}, base...)...)
	if b, _ := os.ReadFile(host); code != 0 || string(b) != string(hostNow) || !strings.Contains(stderr, "nothing to import") {
		t.Errorf("second import: %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(cfg); string(b) != string(newCfg) {
		t.Error("second import changed the config")
	}
}

// Without --yes on a terminal, import asks one question per decision and
// follows the answers, defaults on an empty line.
func TestImportAsksOnTerminal(t *testing.T) {
	_, cfg, host := hostWorld(t)
	os.WriteFile(host, []byte(`{"mcpServers": {"remote": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer sk-asked-0123456789abcdef", "X-Team": "platform-team", "X-Zone": "eu-west-zone"}}}}`), 0o600)
	service := "mcp-sandbox-import-ask-" + time.Now().Format("150405.000000")
	t.Setenv("MCP_SANDBOX_KEYCHAIN_SERVICE", service)
	store := keychain.New(keychain.Options{Service: keychain.ServiceName("")})
	ctx := context.Background()
	if _, err := store.List(ctx); err != nil {
		if os.Getenv("MCP_SANDBOX_REQUIRE_KEYCHAIN") == "1" {
			t.Fatalf("keychain required but unavailable: %v", err)
		}
		t.Skipf("no keychain (%v); set MCP_SANDBOX_REQUIRE_KEYCHAIN=1 to make this a failure", err)
	}
	t.Cleanup(func() {
		store.Delete(ctx, "import.remote.Authorization")
		store.Delete(ctx, "import.remote.X-Team")
	})
	var out, errOut strings.Builder
	// Authorization: default (yes); X-Team: yes although it does not look
	// like a credential; X-Zone: no.
	in := strings.NewReader("\ny\nn\n")
	code := Main(ctx, []string{"import", "--client", "claude-desktop", "--file", host, "--config", cfg},
		Streams{In: in, Out: &out, ErrOut: &errOut, InTTY: true, ErrTTY: true})
	if code != 0 {
		t.Fatalf("import: %d\n%s", code, errOut.String())
	}
	if n := strings.Count(errOut.String(), "in the keychain (instead of the config file)?"); n != 3 {
		t.Errorf("%d questions asked:\n%s", n, errOut.String())
	}
	toml, _ := os.ReadFile(cfg)
	want := `headers = { Authorization = "secret:import.remote.Authorization", X-Team = "secret:import.remote.X-Team", X-Zone = "eu-west-zone" }`
	if !strings.Contains(string(toml), want) {
		t.Errorf("config:\n%s\nwant %s", toml, want)
	}
	if v, err := store.Get(ctx, "import.remote.X-Team"); err != nil || v != "platform-team" {
		t.Errorf("X-Team in the keychain: %q %v", v, err)
	}
}

func TestInstallProjectFile(t *testing.T) {
	dir, cfg, _ := hostWorld(t)
	code, _, stderr := runMain(t, "", "install", "--client", "vscode", "--project", dir, "--config", cfg, "a")
	if code != 0 {
		t.Fatalf("install --project: %d %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, ".vscode", "mcp.json"))
	if err != nil || !strings.Contains(string(b), `"type": "stdio",`) || !strings.Contains(string(b), `"servers": {`) {
		t.Errorf("project file: %v\n%s", err, b)
	}
	if code, _, stderr := runMain(t, "", "install", "--client", "windsurf", "--project", dir, "--config", cfg); code != exitUsage || !strings.Contains(stderr, "no project-level") {
		t.Errorf("windsurf --project: %d %s", code, stderr)
	}
	if code, _, _ := runMain(t, "", "install", "--config", cfg); code != exitUsage {
		t.Errorf("install without --client: %d", code)
	}
}
