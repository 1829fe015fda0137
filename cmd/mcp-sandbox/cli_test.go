package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func runMain(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

// writeFile writes a test fixture, failing the test when it cannot.
func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExitCodesAndStreams(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.toml"), "[servers.a]\nimage = \"x\"\n")
	bad := writeFile(t, filepath.Join(dir, "bad.toml"), "[servers.a]\nimage = \"x\"\nnetwrk = 1\n")
	// check passed this one while run refused it (exit 4): the transport
	// owns Accept.
	reserved := writeFile(t, filepath.Join(dir, "reserved.toml"), "[servers.r]\nurl = \"https://example.invalid/mcp\"\nheaders = { Accept = \"text/plain\" }\n")
	t.Setenv("MCP_SANDBOX_KEYCHAIN_SERVICE", "mcp-sandbox-cli-test")
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(dir, "no.sock"))
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string // substring; "" means stdout must be empty
		stderrHas string // substring; "" means stderr must be empty
	}{
		{"no args", nil, exitUsage, "", "no command given"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"version", []string{"--version"}, exitOK, "mcp-sandbox " + version, ""},
		{"help", []string{"help"}, exitOK, "Usage:", ""},
		{"run without name", []string{"run"}, exitUsage, "", "missing server NAME"},
		{"run with two names", []string{"run", "a", "b"}, exitUsage, "", "unexpected arguments: b"},
		{"run bad flag", []string{"run", "a", "--nope"}, exitUsage, "", "flag provided but not defined"},
		{"run unknown server", []string{"run", "zzz", "--config", good}, exitConfig, "", `unknown server "zzz"`},
		{"tools unknown server", []string{"tools", "zzz", "--config", good}, exitConfig, "", `unknown server "zzz"`},
		{"run unknown profile", []string{"run", "a", "--profile", "nope", "--config", good}, exitConfig, "", `unknown profile "nope"`},
		{"run missing config", []string{"run", "a", "--config", filepath.Join(dir, "none.toml")}, exitConfig, "", "no configuration at"},
		{"run invalid config", []string{"run", "a", "--config", bad}, exitConfig, "", "bad.toml:3:1"},
		{"run reserved header", []string{"run", "r", "--config", reserved}, exitConfig, "", `reserved.toml:3:13: header "Accept" is set by the transport`},
		{"check reserved header", []string{"check", "--config", reserved}, exitConfig, "", `reserved.toml:3:13: header "Accept" is set by the transport`},
		{"doctor reserved header", []string{"doctor", "--config", reserved}, exitConfig, "FAIL  config", `reserved.toml:3:13: header "Accept" is set by the transport`},
		{"bad log level", []string{"run", "a", "--config", good, "--log-level", "loud"}, exitUsage, "", "bad --log-level"},
		{"check invalid", []string{"check", "--config", bad}, exitConfig, "", "bad.toml:3:1"},
		{"login local server", []string{"login", "a", "--config", good}, exitConfig, "", `server "a" is local`},
		{"secret short value", []string{"secret", "set", "pin", "--config", good}, exitConfig, "", "shorter than 8 bytes"},
		{"secret bad name", []string{"secret", "set", "a b", "--config", good}, exitUsage, "", `secret name "a b" contains ' '`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, "1234\n", tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if tt.stdout == "" && stdout != "" {
				t.Errorf("stdout must stay empty, got %q", stdout)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout, tt.stdout)
			}
			if tt.stderrHas == "" && stderr != "" {
				t.Errorf("stderr must stay empty, got %q", stderr)
			}
			if !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderrHas)
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args   []string
		pos    []string
		config string
	}{
		{[]string{"probe", "--config", "x"}, []string{"probe"}, "x"},
		{[]string{"--config", "x", "probe"}, []string{"probe"}, "x"},
		{[]string{"--config=x", "a", "b"}, []string{"a", "b"}, "x"},
		{[]string{"a", "--", "--config", "y"}, []string{"a", "--config", "y"}, ""},
	}
	for _, tt := range tests {
		var cf commonFlags
		fs := newFlagSet("t", "", Streams{ErrOut: &bytes.Buffer{}}, &cf)
		pos, err := parseInterspersed(fs, tt.args)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if diff := cmp.Diff(tt.pos, pos); diff != "" || cf.config != tt.config {
			t.Errorf("%v: positional (-want +got):\n%s config %q want %q", tt.args, diff, cf.config, tt.config)
		}
	}
	var cf commonFlags
	fs := newFlagSet("t", "", Streams{ErrOut: &bytes.Buffer{}}, &cf)
	if _, err := parseInterspersed(fs, []string{"-h"}); err != flag.ErrHelp {
		t.Errorf("-h: got %v, want flag.ErrHelp", err)
	}
}

func TestConfigPathOrder(t *testing.T) {
	t.Setenv(EnvConfig, "/from/env.toml")
	if got, _ := configPath("/from/flag.toml"); got != "/from/flag.toml" {
		t.Errorf("flag should win, got %s", got)
	}
	if got, _ := configPath(""); got != "/from/env.toml" {
		t.Errorf("env should come next, got %s", got)
	}
	t.Setenv(EnvConfig, "")
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if got, _ := configPath(""); got != filepath.Join("/xdg", "mcp-sandbox", "mcp-sandbox.toml") {
		t.Errorf("user config dir last, got %s", got)
	}
}

// TestCheckRepoConfig checks the repository's own mcp-sandbox.toml and shows
// what `check` prints for it.
func TestCheckRepoConfig(t *testing.T) {
	t.Setenv("MCP_SANDBOX_KEYCHAIN_SERVICE", "mcp-sandbox-cli-test")
	code, stdout, stderr := runMain(t, "", "check", "--config", filepath.Join("..", "..", "mcp-sandbox.toml"))
	if code != exitOK {
		t.Fatalf("check: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"valid", "[probe]", "no network", "read-only root", "user 65534:65534", `profile "probe-safe"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestDoctorReportsAnUnreachableEngine needs no engine: it points
// DOCKER_HOST at nothing and expects a FAIL line and a non-zero exit.
func TestDoctorReportsAnUnreachableEngine(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "c.toml"), "[servers.a]\nimage = \"x\"\n")
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(dir, "no.sock"))
	t.Setenv("MCP_SANDBOX_KEYCHAIN_SERVICE", "mcp-sandbox-cli-test")
	code, stdout, _ := runMain(t, "", "doctor", "--config", cfg)
	if code == exitOK {
		t.Errorf("doctor exited 0 with no engine")
	}
	if !strings.Contains(stdout, "ok    config") || !strings.Contains(stdout, "FAIL  docker") {
		t.Errorf("doctor output:\n%s", stdout)
	}
}
