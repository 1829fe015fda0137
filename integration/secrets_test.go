package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
)

// needKeychain skips the test when no OS keychain answers, or fails it when
// MCP_SANDBOX_REQUIRE_KEYCHAIN=1 (as in CI).
func needKeychain(t *testing.T, service string) {
	t.Helper()
	store := keychain.New(keychain.Options{Service: service, Timeout: 5 * time.Second})
	ctx := context.Background()
	err := store.Set(ctx, "probe-check", "probe-check-value")
	if err == nil {
		_, err = store.Get(ctx, "probe-check")
		store.Delete(ctx, "probe-check")
	}
	if err != nil {
		if os.Getenv("MCP_SANDBOX_REQUIRE_KEYCHAIN") == "1" {
			t.Fatalf("a keychain is required (MCP_SANDBOX_REQUIRE_KEYCHAIN=1) but does not answer: %v", err)
		}
		t.Skipf("no OS keychain answers (%v); set MCP_SANDBOX_REQUIRE_KEYCHAIN=1 to make this a failure", err)
	}
}

// setSecret stores a secret through the CLI, value on stdin, as a user would.
func (e *env) setSecret(name, value string) {
	e.t.Helper()
	cmd := e.command("secret", "set", name, "--config", e.config)
	cmd.Stdin = strings.NewReader(value + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("secret set %s: %v\n%s", name, err, out)
	}
	if bytes.Contains(out, []byte(value)) {
		e.t.Errorf("secret set printed the value")
	}
	e.t.Cleanup(func() {
		keychain.New(keychain.Options{Service: e.service}).Delete(context.Background(), name)
	})
}

const tokenValue = "ghp_Zq8s3cr3tT0kenV4lue/with+odd=chars"

// TestSecretsInjectedAndRedacted stores a token in the real keychain, hands
// it to the probe as an env var and a file, and checks the model can never see
// it, in any common encoding, while the server can use it.
func TestSecretsInjectedAndRedacted(t *testing.T) {
	e := newEnv(t, `
secrets = { PROBE_TOKEN = "probe-token" }
secret_files = { "/run/secrets/token" = "probe-token" }
`, "")
	needKeychain(t, e.service)
	e.setSecret("probe-token", tokenValue)
	s := e.connect("--log-file", e.logFile)

	// The server has the value: it can use it.
	sum := sha256.Sum256([]byte(tokenValue))
	var h struct {
		SHA256 string `json:"sha256"`
		Set    bool   `json:"set"`
	}
	structured(t, s.call(t, "env_hash", map[string]any{"name": "PROBE_TOKEN"}), &h)
	if !h.Set || h.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("the server does not hold the secret: %+v", h)
	}

	encodings := map[string]string{
		"raw":       tokenValue,
		"json":      mustJSON(tokenValue),
		"base64":    base64.StdEncoding.EncodeToString([]byte(tokenValue)),
		"base64url": base64.URLEncoding.EncodeToString([]byte(tokenValue)),
		"percent":   url.QueryEscape(tokenValue),
	}
	for enc, encoded := range encodings {
		for _, wrap := range []bool{false, true} {
			res := s.call(t, "read_env", map[string]any{"name": "PROBE_TOKEN", "encoding": enc, "wrap": wrap})
			b, _ := json.Marshal(res)
			if bytes.Contains(b, []byte(tokenValue)) || bytes.Contains(b, []byte(encoded)) {
				t.Errorf("read_env %s wrap=%v leaked the value: %s", enc, wrap, b)
			}
			if !strings.Contains(text(res), "[redacted:probe-token]") {
				t.Errorf("read_env %s wrap=%v: text %q lacks the marker", enc, wrap, text(res))
			}
			var out struct {
				Value string `json:"value"`
			}
			structured(t, res, &out)
			if !strings.Contains(out.Value, "[redacted:probe-token]") {
				t.Errorf("read_env %s wrap=%v: structured value %q lacks the marker", enc, wrap, out.Value)
			}
		}
	}
	res := s.call(t, "read_file", map[string]any{"path": "/run/secrets/token"})
	if b, _ := json.Marshal(res); bytes.Contains(b, []byte(tokenValue)) || !strings.Contains(text(res), "[redacted:probe-token]") {
		t.Errorf("read_file of the secret file: %s", b)
	}
	// Log notifications and prompt results are scrubbed too.
	//lint:ignore SA1019 protocol 2025-11-25 (what the relay speaks) still has logging
	if err := s.SetLoggingLevel(context.Background(), &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
		t.Fatal(err)
	}
	s.call(t, "notify", map[string]any{"message": "token=" + tokenValue})
	s.waitNote(t, "notifications/message", 10*time.Second)
	s.mu.Lock()
	logs := strings.Join(s.logs, "\n")
	s.mu.Unlock()
	if strings.Contains(logs, tokenValue) || !strings.Contains(logs, "[redacted:probe-token]") {
		t.Errorf("log notification not scrubbed: %s", logs)
	}
	pr, err := s.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: "secret_prompt", Arguments: map[string]string{"env": "PROBE_TOKEN"}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(pr); bytes.Contains(b, []byte(tokenValue)) {
		t.Errorf("prompt result leaked the value: %s", b)
	}
	s.Close()
	waitExit(t, s.cmd, 30*time.Second)

	if strings.Contains(s.stderr.String(), tokenValue) {
		t.Error("stderr holds the secret value")
	}
	logData, err := os.ReadFile(e.logFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(logData) == 0 {
		t.Error("log file is empty; the test would prove nothing")
	}
	if bytes.Contains(logData, []byte(tokenValue)) {
		t.Error("the log file holds the secret value")
	}
	if audit, _ := os.ReadFile(e.audit); bytes.Contains(audit, []byte(tokenValue)) {
		t.Error("the audit file holds the secret value")
	}
}

// TestMissingSecretRefusesLaunch names the secret and the command that sets
// it, and starts no container.
func TestMissingSecretRefusesLaunch(t *testing.T) {
	e := newEnv(t, `secrets = { PROBE_TOKEN = "never-stored" }`, "")
	needKeychain(t, e.service)
	cmd := e.command("run", "probe", "--config", e.config)
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err == nil || !errors.As(err, &ee) {
		t.Fatalf("run with a missing secret: %v, want a non-zero exit", err)
	}
	if !strings.Contains(stderr.String(), `"never-stored"`) || !strings.Contains(stderr.String(), "mcp-sandbox secret set never-stored") {
		t.Errorf("stderr does not name the secret and the command:\n%s", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout is the MCP channel, but got %q", stdout.String())
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
