package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// needNode returns the node binary of integration/node (installed by
// `npm ci` there), skipping or failing (MCP_SANDBOX_REQUIRE_NODE=1) without it.
func needNode(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "integration", "node")
	node := filepath.Join(dir, "node_modules", ".bin", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		if os.Getenv("MCP_SANDBOX_REQUIRE_NODE") == "1" {
			t.Fatalf("node packages are required (MCP_SANDBOX_REQUIRE_NODE=1) but missing: run npm ci in %s", dir)
		}
		t.Skipf("node packages missing (run npm ci in %s); set MCP_SANDBOX_REQUIRE_NODE=1 to make this a failure", dir)
	}
	if _, err := os.Stat(node); err != nil {
		node = "node"
	}
	return node
}

// TestTypeScriptHost drives `mcp-sandbox run` from the official TypeScript
// SDK client over stdio.
func TestTypeScriptHost(t *testing.T) {
	e := newEnv(t, `profile = "ts"`, `
[profiles.ts]
tools.allow = ["echo", "identity", "delete_file"]
tools.deny = ["delete_*"]
`)
	var got struct {
		Server       struct{ Name string }
		Capabilities struct {
			Tools struct{ ListChanged bool }
		}
		Tools  []string
		Echo   []struct{ Text string }
		Hidden struct {
			Code    int
			Message string
		}
		Error string
	}
	e.runTSHost(t, "ts-client.mjs", &got, nil, "probe")
	if got.Server.Name != "probe" || !got.Capabilities.Tools.ListChanged {
		t.Errorf("initialize: server %q, tools.listChanged %v", got.Server.Name, got.Capabilities.Tools.ListChanged)
	}
	if want := []string{"echo", "identity"}; !slices.Equal(got.Tools, want) {
		t.Errorf("tools %v, want %v", got.Tools, want)
	}
	if len(got.Echo) != 1 || !strings.Contains(got.Echo[0].Text, "from typescript") {
		t.Errorf("echo returned %+v", got.Echo)
	}
	if got.Hidden.Code != -32602 || !strings.Contains(got.Hidden.Message, `profile \"ts\"`) && !strings.Contains(got.Hidden.Message, `profile "ts"`) {
		t.Errorf("hidden tool call: %+v", got.Hidden)
	}
}

// runTSHost runs one of integration/node's TypeScript SDK hosts, script,
// against `mcp-sandbox run ARGS --config e.config` (ARGS: the server's name
// and any flags) with env added to its environment, and decodes the JSON
// it prints into result. It fails the test when the host fails or reports
// an error (its "error" member), and counts the mcp-sandbox process the host
// reports spawning ("pid") as this env's.
func (e *env) runTSHost(t *testing.T, script string, result any, env []string, args ...string) {
	t.Helper()
	node := needNode(t)
	all := append(append([]string{filepath.Join(repoRoot, "integration", "node", script), binary, "run"}, args...), "--config", e.config)
	cmd := exec.Command(node, all...)
	cmd.Env = append(append(os.Environ(), "MCP_SANDBOX_KEYCHAIN_SERVICE="+e.service), env...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ts host %s %v: %v\nstderr:\n%s", script, args, err, lastLines(stderr.String(), 40))
	}
	var status struct {
		Error string
		Pid   int
	}
	if err := json.Unmarshal(out, &status); err != nil {
		t.Fatalf("ts host %s output %q: %v", script, out, err)
	}
	if status.Pid != 0 {
		e.spawnedBy(status.Pid)
	}
	if status.Error != "" {
		t.Fatalf("ts host %s %v failed: %s\nstderr:\n%s", script, args, status.Error, lastLines(stderr.String(), 40))
	}
	if err := json.Unmarshal(out, result); err != nil {
		t.Fatalf("ts host %s output %q: %v", script, out, err)
	}
}
