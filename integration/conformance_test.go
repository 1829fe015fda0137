package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// authScenarios are the conformance suite's client auth scenarios (0.1.16).
var authScenarios = []string{
	"auth/metadata-default", "auth/metadata-var1", "auth/metadata-var2", "auth/metadata-var3",
	"auth/basic-cimd", "auth/scope-from-www-authenticate", "auth/scope-from-scopes-supported",
	"auth/scope-omitted-when-undefined", "auth/scope-step-up", "auth/scope-retry-limit",
	"auth/token-endpoint-auth-basic", "auth/token-endpoint-auth-post", "auth/token-endpoint-auth-none",
	"auth/pre-registration",
}

// TestConformanceAuth runs the official conformance suite's client auth
// scenarios through the bridge: the suite's --command is a driver that plays
// an MCP host in front of `mcp-sandbox run`. A scenario passes only with at
// least one SUCCESS check and no FAILURE or WARNING.
func TestConformanceAuth(t *testing.T) {
	needBuild(t)
	node := needNode(t)
	needKeychain(t, "mcp-sandbox-conformance-check")
	dir := t.TempDir()
	driver := filepath.Join(dir, "conformance-driver")
	build := exec.Command("go", "build", "-o", driver, "./integration/conformance")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build driver: %v\n%s", err, out)
	}
	results := filepath.Join(dir, "results")
	suite := filepath.Join(repoRoot, "integration", "node", "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
	cmd := exec.Command(node, suite, "client", "--command", "exec "+driver+" "+binary, "--suite", "auth", "-o", results, "--timeout", "60000")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	t.Logf("conformance suite output:\n%s", tail(string(out), 60))
	if err != nil {
		t.Logf("suite exited with %v (only the checks count)", err)
	}

	passed := map[string]bool{}
	var problems []string
	for _, sc := range authScenarios {
		ok, why := scenarioPassed(results, sc)
		passed[sc] = ok
		if !ok {
			problems = append(problems, sc+": "+why)
		}
	}
	n := 0
	for _, ok := range passed {
		if ok {
			n++
		}
	}
	t.Logf("conformance client auth scenarios through mcp-sandbox: %d/%d passed", n, len(authScenarios))
	sort.Strings(problems)
	for _, p := range problems {
		t.Errorf("scenario %s", p)
	}
}

// scenarioPassed reads a scenario's checks.json under the results directory.
func scenarioPassed(results, scenario string) (bool, string) {
	var files []string
	filepath.Walk(results, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Name() == "checks.json" && strings.Contains(filepath.ToSlash(path), strings.ReplaceAll(scenario, "/", "-")) {
			files = append(files, path)
		}
		return nil
	})
	if len(files) == 0 {
		filepath.Walk(results, func(path string, info os.FileInfo, err error) error {
			if err == nil && info.Name() == "checks.json" && strings.Contains(filepath.ToSlash(path), scenario) {
				files = append(files, path)
			}
			return nil
		})
	}
	if len(files) == 0 {
		return false, "no checks.json"
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return false, err.Error()
	}
	var checks []struct {
		Name        string `json:"name"`
		Status      string `json:"status"`
		Description string `json:"description"`
		ErrorMsg    string `json:"errorMessage"`
	}
	if err := json.Unmarshal(data, &checks); err != nil {
		return false, "checks.json: " + err.Error()
	}
	success := false
	for _, c := range checks {
		switch strings.ToUpper(c.Status) {
		case "SUCCESS":
			success = true
		case "FAILURE", "WARNING":
			return false, c.Status + " " + c.Name + ": " + c.Description + " " + c.ErrorMsg
		}
	}
	if !success {
		return false, "no SUCCESS check"
	}
	return true, ""
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
