package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
)

// The host entries of these tests are named as package_test.go's servers,
// so that import prepares the same package images (the tag holds the server
// name and a key of package, version, base and CA): each is built once.
const (
	npxEverything = "pkg-everything"
	npxFilesystem = "pkg-filesystem"
)

// npxEntries is the JSON of the two npx entries: server-everything with a
// token in env, server-filesystem with a directory argument. extra goes
// into each entry (VS Code's "type").
func npxEntries(token, dir, extra string) string {
	return fmt.Sprintf(`
    %[1]q: {%[6]s
      "command": "npx",
      "args": ["-y", %[3]q, "stdio"],
      "env": {"API_TOKEN": %[4]q}
    },
    %[2]q: {%[6]s
      "command": "npx",
      "args": ["-y", %[7]q, %[5]q]
    },`, npxEverything, npxFilesystem, everythingPkg, token, dir, extra, filesystemPkg)
}

// npxWorld is a throw-away HOME with a directory holding a file, and a
// token the server-everything entry carries.
func npxWorld(t *testing.T) (w *hostWorld, dir, token string) {
	t.Helper()
	w = newHostWorld(t)
	dir = filepath.Join(w.home, "notes")
	os.MkdirAll(dir, 0o755)
	os.Chmod(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return w, dir, "ghp_" + randHex(18)
}

// checkNpxImport checks what import did with the npx entries of file: the
// token is in neither file but in the keychain, and each rewritten entry,
// launched as the host would, works: the filesystem server reads the file
// by its host path, server-everything holds the token in its environment
// and the host sees it redacted.
func checkNpxImport(t *testing.T, w *hostWorld, file, key, out, dir, token string) {
	t.Helper()
	if strings.Contains(out, token) {
		t.Error("import printed the token")
	}
	hostNow, _ := os.ReadFile(file)
	cfg, _ := os.ReadFile(w.config)
	if strings.Contains(string(hostNow), token) || strings.Contains(string(cfg), token) {
		t.Error("the token is still in a file")
	}
	for _, n := range []string{npxEverything, npxFilesystem} {
		if !strings.Contains(string(cfg), "[servers."+n+"]\npackage = \"npm:") {
			t.Errorf("no package server %s in the config:\n%s", n, cfg)
		}
	}
	// check accepts what import wrote, and the servers are pinned.
	if check := w.cli(t, "check"); !strings.Contains(check, "tool definitions pinned") {
		t.Errorf("check:\n%s", check)
	}
	if backups, _ := filepath.Glob(file + ".mcp-sandbox-backup-*"); len(backups) != 1 {
		t.Errorf("backups: %v", backups)
	}
	store := keychain.New(keychain.Options{Service: w.service})
	item := "import." + npxEverything + ".API_TOKEN"
	t.Cleanup(func() { store.Delete(context.Background(), item) })
	if got, err := store.Get(context.Background(), item); err != nil || got != token {
		t.Errorf("keychain item %s: %v", item, err)
	}

	es, _ := entries(t, file, key)
	for _, n := range []string{npxEverything, npxFilesystem} {
		if e := es[n]; e.Command != binary || strings.Join(e.Args, " ") != "run "+n || e.Env != nil {
			t.Fatalf("entry %s not rewritten to run mcp-sandbox: %+v", n, e)
		}
	}
	hello := filepath.Join(dir, "hello.txt")
	res := w.launch(t, es[npxFilesystem],
		map[string]any{"name": "read_text_file", "arguments": map[string]any{"path": hello}},
		map[string]any{"name": "list_directory", "arguments": map[string]any{"path": dir}})
	for i, r := range res {
		if r.IsError || len(r.Content) == 0 {
			t.Errorf("filesystem call %d by the host path %s: %+v", i, dir, r)
		}
	}
	if len(res) == 2 && len(res[0].Content) > 0 && len(res[1].Content) > 0 {
		if !strings.Contains(res[0].Content[0].Text, "hello from the host") || !strings.Contains(res[1].Content[0].Text, "hello.txt") {
			t.Errorf("filesystem server by the host path: %q, %q", res[0].Content[0].Text, res[1].Content[0].Text)
		}
	}

	res = w.launch(t, es[npxEverything], map[string]any{"name": "get-env", "arguments": map[string]any{}})
	raw, _ := json.Marshal(res)
	if strings.Contains(string(raw), token) {
		t.Errorf("the host sees the token: %s", raw)
	}
	if len(res) != 1 || len(res[0].Content) == 0 {
		t.Fatalf("get-env: %s", raw)
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(res[0].Content[0].Text), &env); err != nil {
		t.Fatalf("get-env text: %v\n%s", err, res[0].Content[0].Text)
	}
	// The server holds the value (the relay recognised it in the output
	// and put its marker there); the host never got it.
	if v, ok := env["API_TOKEN"]; !ok || !strings.HasPrefix(v, "[redacted:") {
		t.Errorf("API_TOKEN in the server's environment, as the host sees it: %q (present %v)", v, ok)
	}
	// The host closed both: their containers are gone.
	for _, n := range []string{npxEverything, npxFilesystem} {
		w.e.assertNoServerContainers(t, n)
	}
}

// TestImportNpxClaudeDesktop is the migration the issue names: a Claude
// Desktop config (its Linux place, throw-away HOME) with an npx
// server-everything entry holding a token in env, an npx server-filesystem
// entry with a directory argument, a native entry and an unrelated key.
func TestImportNpxClaudeDesktop(t *testing.T) {
	w, dir, token := npxWorld(t)
	host := filepath.Join(w.home, ".config", "Claude", "claude_desktop_config.json")
	os.MkdirAll(filepath.Dir(host), 0o700)
	original := `{
  "globalShortcut": "Ctrl+Alt+Space",
  "mcpServers": {` + npxEntries(token, dir, "") + `
    "native": {"command": "/usr/local/bin/native-mcp", "args": ["--stdio"]}
  }
}
`
	os.WriteFile(host, []byte(original), 0o644)

	out := w.cli(t, "import", "--client", "claude-desktop", "--yes")
	t.Logf("import:\n%s", out)
	b, _ := os.ReadFile(host)
	if !json.Valid(b) {
		t.Fatalf("the host file is not JSON any more:\n%s", b)
	}
	_, top := entries(t, host, "mcpServers")
	if string(top["globalShortcut"]) != `"Ctrl+Alt+Space"` {
		t.Errorf("unrelated key: %s", top["globalShortcut"])
	}
	if !strings.Contains(string(b), `"native": {"command": "/usr/local/bin/native-mcp", "args": ["--stdio"]}`) || !strings.Contains(out, "left as it was: native") {
		t.Errorf("native entry not kept byte for byte:\n%s", b)
	}
	checkNpxImport(t, w, host, "mcpServers", out, dir, token)
}

// TestImportNpxVSCodeWorkspace: the same for a VS Code workspace file
// named with --file.
func TestImportNpxVSCodeWorkspace(t *testing.T) {
	w, dir, token := npxWorld(t)
	project := filepath.Join(w.home, "src", "app")
	os.MkdirAll(filepath.Join(project, ".vscode"), 0o755)
	file := filepath.Join(project, ".vscode", "mcp.json")
	original := `{
  // Servers of this workspace.
  "servers": {` + npxEntries(token, dir, `
      "type": "stdio",`) + `
    "native": {"type": "stdio", "command": "/usr/local/bin/native-mcp", "args": ["--stdio"]}
  },
  "other": {"keep": true}
}
`
	os.WriteFile(file, []byte(original), 0o644)

	out := w.cli(t, "import", "--client", "vscode", "--file", file, "--yes")
	t.Logf("import:\n%s", out)
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), "// Servers of this workspace.") {
		t.Errorf("comment dropped:\n%s", b)
	}
	_, top := entries(t, file, "servers")
	if string(top["other"]) != `{"keep": true}` {
		t.Errorf("unrelated key: %s", top["other"])
	}
	if !strings.Contains(string(b), `"native": {"type": "stdio", "command": "/usr/local/bin/native-mcp", "args": ["--stdio"]}`) {
		t.Errorf("native entry not kept byte for byte:\n%s", b)
	}
	checkNpxImport(t, w, file, "servers", out, dir, token)
}
