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
	node := needNode(t)
	cmd := exec.Command(node, filepath.Join(repoRoot, "integration", "node", "ts-client.mjs"), binary, "run", "probe", "--config", e.config)
	cmd.Env = append(os.Environ(), "MCP_SANDBOX_KEYCHAIN_SERVICE="+e.service)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ts client: %v\nstderr:\n%s", err, stderr.String())
	}
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
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("ts client output %q: %v", out, err)
	}
	if got.Error != "" {
		t.Fatalf("ts client failed: %s\nstderr:\n%s", got.Error, stderr.String())
	}
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
