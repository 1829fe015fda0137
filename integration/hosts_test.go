package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailscale/hujson"

	"github.com/mcp-sandbox/mcp-sandbox/integration/testimages"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
)

// hostWorld is a throw-away HOME with a user config of mcp-sandbox in its
// default place, naming this test's keychain service.
type hostWorld struct {
	home, config, service string
	env                   []string
	// e is the harness env; the mcp-sandbox processes the hosts spawn are
	// recorded there, so its container checks count theirs.
	e *env
}

func newHostWorld(t *testing.T) *hostWorld {
	t.Helper()
	e := newEnv(t, "", "")
	needKeychain(t, e.service)
	// Build the probe image the host entries run with docker run.
	if out, err := e.command("tools", "probe", "--config", e.config).CombinedOutput(); err != nil {
		t.Fatalf("build the probe image: %v\n%s", err, out)
	}
	home := t.TempDir()
	w := &hostWorld{e: e, home: home, service: e.service, config: filepath.Join(home, ".config", "mcp-sandbox", "mcp-sandbox.toml")}
	w.env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "MCP_SANDBOX_CONFIG=", "MCP_SANDBOX_KEYCHAIN_SERVICE=")
	os.MkdirAll(filepath.Dir(w.config), 0o700)
	// npx entries become package servers, built on the local node base
	// (no image registry here) with this machine's CA bundle.
	packages := fmt.Sprintf("[packages]\nnode_image = %q\nca_file = %q\nbuild_network = \"host\"\n", needNodeBase(t, e.docker), testimages.CABundle)
	if err := os.WriteFile(w.config, []byte(fmt.Sprintf("# my sandboxed servers\nkeychain_service = %q # this test's own\n", e.service)+packages), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// cli runs the built binary in the world, as a user in a shell would.
func (w *hostWorld) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := w.cliErr(args...)
	if err != nil {
		t.Fatalf("mcp-sandbox %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (w *hostWorld) cliErr(args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = w.env
	cmd.Dir = w.home
	out, err := cmd.CombinedOutput()
	return string(out), err
}

type hostEntry struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env,omitempty"`
}

type toolResult struct {
	Content []struct {
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent map[string]any `json:"structuredContent"`
	IsError           bool           `json:"isError"`
}

// launch starts a host entry exactly as the host does, from the official
// TypeScript SDK client, and calls the tools.
func (w *hostWorld) launch(t *testing.T, e hostEntry, calls ...map[string]any) []toolResult {
	t.Helper()
	node := needNode(t)
	spec, _ := json.Marshal(map[string]any{"command": e.Command, "args": e.Args, "env": e.Env, "calls": calls})
	cmd := exec.Command(node, filepath.Join(repoRoot, "integration", "node", "host-entry.mjs"), string(spec))
	cmd.Env = w.env
	cmd.Dir = "/"
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ts host: %v\n%s", err, stderr.String())
	}
	var got struct {
		Tools   []string
		Results []toolResult
		Error   string
		Pid     int
	}
	err = json.Unmarshal(out, &got)
	if got.Pid != 0 {
		w.e.spawnedBy(got.Pid)
	}
	if err != nil || got.Error != "" {
		t.Fatalf("ts host: %v %s\nstderr:\n%s", err, got.Error, stderr.String())
	}
	return got.Results
}

// entries reads a host file's server entries (JSONC allowed).
func entries(t *testing.T, path, key string) (map[string]hostEntry, map[string]json.RawMessage) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	std, err := hujson.Standardize(b)
	if err != nil {
		t.Fatalf("%s does not parse: %v\n%s", path, err, b)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(std, &top); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var es map[string]hostEntry
	json.Unmarshal(top[key], &es)
	return es, top
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// checkEntries launches the rewritten env and files entries and checks what
// the issue asks: the files server reads a file in the directory by its host
// path; the env server holds the token, whose value the host never sees.
func (w *hostWorld) checkEntries(t *testing.T, envEntry, filesEntry hostEntry, token, file, content string) {
	t.Helper()
	for _, e := range []hostEntry{envEntry, filesEntry} {
		if e.Command != binary || len(e.Args) < 2 || e.Args[0] != "run" {
			t.Fatalf("entry not rewritten to run mcp-sandbox: %+v", e)
		}
		if len(e.Args) != 2 {
			t.Errorf("entry args %q: the config is in its default place, so no --config", e.Args)
		}
		if e.Env != nil {
			t.Errorf("entry kept env %v", e.Env)
		}
	}
	res := w.launch(t, filesEntry, map[string]any{"name": "read_file", "arguments": map[string]any{"path": file}})
	if res[0].IsError || len(res[0].Content) == 0 || res[0].Content[0].Text != content {
		t.Errorf("read_file %s through the files entry: %+v", file, res[0])
	}
	res = w.launch(t, envEntry,
		map[string]any{"name": "env_hash", "arguments": map[string]any{"name": "API_TOKEN"}},
		map[string]any{"name": "read_env", "arguments": map[string]any{"name": "API_TOKEN"}})
	if got := res[0].StructuredContent["sha256"]; got != sha(token) {
		t.Errorf("env_hash of API_TOKEN = %v, want the token's (the server does not hold it)", got)
	}
	raw, _ := json.Marshal(res[1])
	if strings.Contains(string(raw), token) || len(res[1].Content) == 0 || !strings.Contains(res[1].Content[0].Text, "API_TOKEN") {
		t.Errorf("read_env: the host sees %s", raw)
	}
}

// TestImportClaudeDesktop is the one-command migration from the README: a
// Claude Desktop config (in its Linux place under a throw-away HOME) with a
// docker run entry holding a token in env, a docker run entry mounting a
// directory, an npx entry, a native entry and an unrelated key.
func TestImportClaudeDesktop(t *testing.T) {
	w := newHostWorld(t)
	data := filepath.Join(w.home, "notes")
	os.MkdirAll(data, 0o755)
	os.Chmod(data, 0o755)
	os.WriteFile(filepath.Join(data, "hello.txt"), []byte("hello from the host"), 0o644)
	token := "ghp_" + randHex(18)
	host := filepath.Join(w.home, ".config", "Claude", "claude_desktop_config.json")
	os.MkdirAll(filepath.Dir(host), 0o700)
	original := fmt.Sprintf(`{
  "globalShortcut": "Ctrl+Alt+Space",
  "mcpServers": {
    "everything": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "API_TOKEN", %[1]q],
      "env": {"API_TOKEN": %[2]q}
    },
    "files": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-v", "%[3]s:%[3]s:ro", %[1]q]
    },
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", %[3]q]
    },
    "native": {"command": "/usr/local/bin/native-mcp", "args": ["--stdio"]}
  }
}
`, probeImage, token, data)
	os.WriteFile(host, []byte(original), 0o644)
	oldCfg, _ := os.ReadFile(w.config)

	// --dry-run first: diffs of both files, no token, nothing changed.
	diff := w.cli(t, "import", "--client", "claude-desktop", "--dry-run")
	if !strings.Contains(diff, "+++ b/"+host) || !strings.Contains(diff, "+++ b/"+w.config) || strings.Contains(diff, token) {
		t.Fatalf("dry-run output:\n%s", diff)
	}
	if b, _ := os.ReadFile(host); string(b) != original {
		t.Fatal("dry-run changed the host file")
	}

	out := w.cli(t, "import", "--client", "claude-desktop", "--yes")
	t.Logf("import:\n%s", out)
	if strings.Contains(out, token) {
		t.Error("import printed the token")
	}
	es, top := entries(t, host, "mcpServers")
	if string(top["globalShortcut"]) != `"Ctrl+Alt+Space"` {
		t.Errorf("unrelated key: %s", top["globalShortcut"])
	}
	if n := es["native"]; n.Command != "/usr/local/bin/native-mcp" || !strings.Contains(out, "left as it was: native") {
		t.Errorf("native entry %+v", n)
	}
	hostNow, _ := os.ReadFile(host)
	if !strings.Contains(string(hostNow), `"native": {"command": "/usr/local/bin/native-mcp", "args": ["--stdio"]}`) {
		t.Errorf("native entry not kept byte for byte:\n%s", hostNow)
	}
	if backups, _ := filepath.Glob(host + ".mcp-sandbox-backup-*"); len(backups) != 1 {
		t.Errorf("backups: %v", backups)
	}
	cfg, _ := os.ReadFile(w.config)
	if strings.Contains(string(hostNow), token) || strings.Contains(string(cfg), token) {
		t.Error("the token is still in a file")
	}
	if !strings.HasPrefix(string(cfg), string(oldCfg)) {
		t.Errorf("the config's own text was not kept:\n%s", cfg)
	}
	store := keychain.New(keychain.Options{Service: w.service})
	item := "import.everything.API_TOKEN"
	t.Cleanup(func() { store.Delete(context.Background(), item) })
	if got, err := store.Get(context.Background(), item); err != nil || got != token {
		t.Errorf("keychain item %s: %v", item, err)
	}
	// The npx entry becomes a package server when this build runs them.
	if fs := es["filesystem"]; fs.Command == "npx" && !strings.Contains(out, "left as it was: filesystem") {
		t.Errorf("npx entry left without a reason:\n%s", out)
	}
	w.checkEntries(t, es["everything"], es["files"], token, filepath.Join(data, "hello.txt"), "hello from the host")

	// install writes a Cursor entry for an existing server; uninstall
	// takes it out again.
	w.cli(t, "install", "--client", "cursor", "everything")
	cursor := filepath.Join(w.home, ".cursor", "mcp.json")
	if ce, _ := entries(t, cursor, "mcpServers"); ce["everything"].Command != binary || strings.Join(ce["everything"].Args, " ") != "run everything" {
		t.Errorf("cursor entry %+v", ce["everything"])
	}
	w.cli(t, "uninstall", "--client", "cursor", "everything")
	if ce, _ := entries(t, cursor, "mcpServers"); len(ce) != 0 {
		t.Errorf("cursor entries after uninstall: %+v", ce)
	}

	// Idempotent; then uninstall --restore gives back the original file.
	w.cli(t, "import", "--client", "claude-desktop", "--yes")
	if b, _ := os.ReadFile(host); string(b) != string(hostNow) {
		t.Error("a second import changed the host file")
	}
	if b, _ := os.ReadFile(w.config); string(b) != string(cfg) {
		t.Error("a second import changed the config")
	}
	w.cli(t, "uninstall", "--client", "claude-desktop", "--restore")
	if b, _ := os.ReadFile(host); string(b) != original {
		t.Errorf("restore gave:\n%s", b)
	}
}

// TestImportVSCodeWorkspace: the same for a VS Code workspace file named
// with --file, JSONC with comments and inputs.
func TestImportVSCodeWorkspace(t *testing.T) {
	w := newHostWorld(t)
	project := filepath.Join(w.home, "src", "app")
	os.MkdirAll(filepath.Join(project, ".vscode"), 0o755)
	os.Chmod(project, 0o755)
	os.WriteFile(filepath.Join(project, "README.md"), []byte("# app"), 0o644)
	token := "sk-" + randHex(20)
	file := filepath.Join(project, ".vscode", "mcp.json")
	original := fmt.Sprintf(`{
  // Prompted by VS Code.
  "inputs": [
    {"type": "promptString", "id": "gh", "description": "GitHub token", "password": true}
  ],
  "servers": {
    "probe-env": {
      "type": "stdio",
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "API_TOKEN", %[1]q], // the token is literal here
      "env": {"API_TOKEN": %[2]q}
    },
    /* the workspace, read-only */
    "probe-files": {
      "type": "stdio",
      "command": "docker",
      "args": ["run", "-i", "--rm", "-v", "%[3]s:%[3]s:ro", %[1]q],
    },
    "github": {
      "type": "stdio",
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": {"GITHUB_TOKEN": "${input:gh}"}
    },
    "absent": {"type": "stdio", "command": "docker", "args": ["run", "-i", "--rm", "mcp-sandbox-test/absent:%[4]s"]},
  },
}
`, probeImage, token, project, randHex(6))
	os.WriteFile(file, []byte(original), 0o644)

	// The entry whose image is not here cannot be prepared: it keeps its
	// old form and import exits non-zero; the others are imported.
	out, err := w.cliErr("import", "--client", "vscode", "--file", file, "--yes")
	t.Logf("import:\n%s", out)
	if err == nil || !strings.Contains(out, "left as it was: absent: preparing server absent failed") {
		t.Errorf("import with an unpreparable entry: %v", err)
	}
	now, _ := os.ReadFile(file)
	for _, c := range []string{"// Prompted by VS Code.", "// the token is literal here", "/* the workspace, read-only */"} {
		if !strings.Contains(string(now), c) {
			t.Errorf("comment %q dropped:\n%s", c, now)
		}
	}
	es, top := entries(t, file, "servers")
	if !strings.Contains(string(top["inputs"]), `"id":"gh"`) && !strings.Contains(string(top["inputs"]), `"id": "gh"`) {
		t.Errorf("inputs: %s", top["inputs"])
	}
	if !strings.Contains(string(now), `"absent": {"type": "stdio", "command": "docker", "args": ["run", "-i", "--rm", "mcp-sandbox-test/absent:`) {
		t.Errorf("the unprepared entry changed:\n%s", now)
	}
	if g := es["github"]; g.Command != "docker" || g.Env["GITHUB_TOKEN"] != "${input:gh}" || !strings.Contains(out, "left as it was: github") {
		t.Errorf("the ${input} entry was not left as it was: %+v", g)
	}
	if strings.Contains(string(now), token) || strings.Contains(out, token) {
		t.Error("the token is still in the file or the output")
	}
	if cfg, _ := os.ReadFile(w.config); strings.Contains(string(cfg), token) {
		t.Error("the token is in the config")
	}
	store := keychain.New(keychain.Options{Service: w.service})
	item := "import.probe-env.API_TOKEN"
	t.Cleanup(func() { store.Delete(context.Background(), item) })
	if got, err := store.Get(context.Background(), item); err != nil || got != token {
		t.Errorf("keychain item %s: %v", item, err)
	}
	var typ struct {
		Servers map[string]struct{ Type string } `json:"servers"`
	}
	std, _ := hujson.Standardize(now)
	json.Unmarshal(std, &typ)
	if typ.Servers["probe-env"].Type != "stdio" {
		t.Errorf("type of the rewritten entry: %q", typ.Servers["probe-env"].Type)
	}
	w.checkEntries(t, es["probe-env"], es["probe-files"], token, filepath.Join(project, "README.md"), "# app")
}
