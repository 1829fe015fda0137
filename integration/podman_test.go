package integration

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// podmanSandboxTests are the probe's sandbox tests that must pass against
// Podman as they do against Docker.
const podmanSandboxTests = "^(TestProbeFromInside|TestLimitsContainBombs|TestTeardown|TestTensOfMegabytes)$"

// TestSandboxOnPodman runs the probe's sandbox tests against the Podman
// service at MCP_SANDBOX_PODMAN_HOST (as .ci/podman.sh starts it), by running
// this test binary again with DOCKER_HOST pointing there: mcp-sandbox builds
// the probe image into Podman's own store through the API, as a Podman user's
// first run does. It skips without MCP_SANDBOX_PODMAN_HOST, and fails instead
// when MCP_SANDBOX_REQUIRE_PODMAN=1.
func TestSandboxOnPodman(t *testing.T) {
	needBuild(t)
	host := os.Getenv("MCP_SANDBOX_PODMAN_HOST")
	if host == "" {
		if os.Getenv("MCP_SANDBOX_REQUIRE_PODMAN") == "1" {
			t.Fatal("Podman is required (MCP_SANDBOX_REQUIRE_PODMAN=1) but MCP_SANDBOX_PODMAN_HOST names no socket")
		}
		t.Skip("MCP_SANDBOX_PODMAN_HOST is not set (.ci/podman.sh sets it); set MCP_SANDBOX_REQUIRE_PODMAN=1 to make this a failure")
	}
	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		t.Fatalf("Podman at %s does not answer: %v", host, err)
	}
	podman := false
	for _, c := range v.Components {
		podman = podman || strings.Contains(c.Name, "Podman")
	}
	if !podman {
		t.Fatalf("the engine at %s is not Podman: %+v", host, v.Components)
	}
	t.Logf("Podman %s (API %s) at %s", v.Version, v.APIVersion, host)

	cmd := exec.Command(os.Args[0], "-test.run", podmanSandboxTests, "-test.count=1", "-test.v", "-test.timeout=15m")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") && !strings.HasPrefix(kv, "MCP_SANDBOX_PODMAN_HOST=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "DOCKER_HOST="+host, "MCP_SANDBOX_REQUIRE_DOCKER=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the sandbox tests fail against Podman: %v\n%s", err, out)
	}
	for _, name := range []string{"TestProbeFromInside", "TestLimitsContainBombs", "TestTeardown", "TestTensOfMegabytes"} {
		if !strings.Contains(string(out), "--- PASS: "+name) {
			t.Errorf("%s did not pass against Podman:\n%s", name, out)
		}
	}
}
