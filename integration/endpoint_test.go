package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeDockerContext stores a context as `docker context create NAME
// --docker host=HOST` does.
func writeDockerContext(t *testing.T, configDir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	dir := filepath.Join(configDir, "contexts", "meta", hex.EncodeToString(sum[:]))
	b, err := json.Marshal(map[string]any{
		"Name":      name,
		"Metadata":  map[string]any{},
		"Endpoints": map[string]any{"docker": map[string]any{"Host": host, "SkipTLSVerify": false}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDoctorFollowsDockerContexts runs `doctor` through the built binary
// with DOCKER_HOST unset and a Docker config of its own: a current context
// naming a dead socket makes it fail naming that socket, and DOCKER_CONTEXT
// naming a context of the real engine wins over the current context.
func TestDoctorFollowsDockerContexts(t *testing.T) {
	e := newEnv(t, "", "")
	live := e.docker.DaemonHost()
	cfgDir := filepath.Join(e.dir, "docker-config")
	dead := filepath.Join(e.dir, "dead", "docker.sock")
	writeDockerContext(t, cfgDir, "dead", "unix://"+dead)
	writeDockerContext(t, cfgDir, "live", live)
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"currentContext": "dead"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	doctor := func(extra ...string) (string, int) {
		cmd := e.command("doctor", "--config", e.config)
		var env []string
		for _, kv := range cmd.Env {
			if !strings.HasPrefix(kv, "DOCKER_") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(append(env, "DOCKER_CONFIG="+cfgDir), extra...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	dockerLine := regexp.MustCompile(`(?m)^(\S+)\s+docker\s+(.*)$`)

	out, code := doctor()
	if code == 0 {
		t.Errorf("doctor exited 0 with the current context on a dead socket:\n%s", out)
	}
	m := dockerLine.FindStringSubmatch(out)
	if m == nil || m[1] != "FAIL" {
		t.Fatalf("no FAIL docker line:\n%s", out)
	}
	for _, want := range []string{dead, `from context "dead"`, "config.json", `"env"`, "DOCKER_HOST"} {
		if !strings.Contains(m[2], want) {
			t.Errorf("the docker line does not say %q:\n%s", want, m[0])
		}
	}

	out, _ = doctor("DOCKER_CONTEXT=live")
	m = dockerLine.FindStringSubmatch(out)
	if m == nil || m[1] != "ok" || !strings.Contains(m[2], live) || !strings.Contains(m[2], `from context "live" (DOCKER_CONTEXT)`) {
		t.Fatalf("with DOCKER_CONTEXT=live, want an ok docker line naming %s from context \"live\":\n%s", live, out)
	}
	if strings.Contains(out, dead) {
		t.Errorf("the dead current context is still consulted:\n%s", out)
	}
}
