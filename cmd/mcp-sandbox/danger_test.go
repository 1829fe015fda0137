package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckDangerousMounts runs check and doctor on the mounts of the issue:
// refused by name without allow_dangerous_mounts, warned about with it.
func TestCheckDangerousMounts(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MCP_SANDBOX_KEYCHAIN_SERVICE", "mcp-sandbox-cli-test")
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(dir, "no.sock"))
	mounts := `mounts = ["/var/run/docker.sock:/var/run/docker.sock:rw", "/:/host:rw"]` + "\n"
	refused := filepath.Join(dir, "refused.toml")
	os.WriteFile(refused, []byte("[servers.a]\nimage = \"x\"\n[servers.a.sandbox]\n"+mounts), 0o644)
	code, stdout, stderr := runMain(t, "", "check", "--config", refused)
	if code != exitConfig || strings.Contains(stdout, "valid") {
		t.Fatalf("check: exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{
		`refused.toml:4:11: mount "/var/run/docker.sock:/var/run/docker.sock:rw" hands the server the container engine's socket`,
		`refused.toml:4:59: mount "/:/host:rw" hands the server the whole file system`,
		"set servers.a.sandbox.allow_dangerous_mounts = true",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check stderr lacks %q:\n%s", want, stderr)
		}
	}

	allowed := filepath.Join(dir, "allowed.toml")
	os.WriteFile(allowed, []byte("[servers.a]\nimage = \"x\"\n[servers.a.sandbox]\nallow_dangerous_mounts = true\n"+mounts+"[servers.b]\nimage = \"y\"\n"), 0o644)
	code, stdout, stderr = runMain(t, "", "check", "--config", allowed)
	if code != exitOK {
		t.Fatalf("check with allow_dangerous_mounts: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		`WARNING:  ` + allowed + `:5:11: mount "/var/run/docker.sock:/var/run/docker.sock:rw" hands the server the container engine's socket`,
		`WARNING:  ` + allowed + `:5:59: mount "/:/host:rw" hands the server the whole file system`,
		"allowed by servers.a.sandbox.allow_dangerous_mounts = true",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, stdout)
		}
	}

	_, stdout, _ = runMain(t, "", "doctor", "--config", allowed)
	if !strings.Contains(stdout, "WARN  [a]       allow_dangerous_mounts = true: mount \"/:/host:rw\"") {
		t.Errorf("doctor does not list server a:\n%s", stdout)
	}
	if strings.Contains(stdout, "WARN  [b]") {
		t.Errorf("doctor lists server b, which allows nothing:\n%s", stdout)
	}
}
