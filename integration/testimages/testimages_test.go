package testimages

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

func docker(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = cli.Ping(ctx)
	}
	if err != nil {
		if os.Getenv("MCP_SANDBOX_REQUIRE_DOCKER") == "1" {
			t.Fatalf("Docker is required (MCP_SANDBOX_REQUIRE_DOCKER=1) but does not answer: %v", err)
		}
		t.Skipf("no Docker engine answers (%v); set MCP_SANDBOX_REQUIRE_DOCKER=1 to make this a failure", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// output runs cmd in image with no network, as nobody, and returns stdout.
func output(t *testing.T, cli *client.Client, image string, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: image, Cmd: cmd, User: "65534:65534", Labels: map[string]string{"dev.mcp-sandbox.test": "testimages"}},
		&container.HostConfig{NetworkMode: "none", ReadonlyRootfs: true, Tmpfs: map[string]string{"/tmp": "rw"}}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	hj, err := cli.ContainerAttach(ctx, c.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hj.Close()
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	stdcopy.StdCopy(&stdout, &stderr, hj.Reader)
	waitC, errC := cli.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	select {
	case w := <-waitC:
		if w.StatusCode != 0 {
			t.Fatalf("%v exited %d: %s%s", cmd, w.StatusCode, stdout.String(), stderr.String())
		}
	case err := <-errC:
		t.Fatal(err)
	}
	return stdout.String()
}

func TestNodeImage(t *testing.T) {
	cli := docker(t)
	ctx := context.Background()
	img, err := Node(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Node(ctx, cli)
	if err != nil || again != img {
		t.Fatalf("second call: %q, %v; want %q", again, err, img)
	}
	got := output(t, cli, img, "sh", "-c", "node -e 'console.log(process.version)' && npm --version")
	if f := strings.Fields(got); len(f) != 2 || !strings.HasPrefix(f[0], "v") {
		t.Errorf("node and npm versions: %q", got)
	}
}

func TestPythonImage(t *testing.T) {
	cli := docker(t)
	img, err := Python(context.Background(), cli)
	if err != nil {
		t.Fatal(err)
	}
	got := output(t, cli, img, "sh", "-c", "python3 -m venv /tmp/v && /tmp/v/bin/python -c 'import ssl, json, sys; print(sys.version_info[0])'")
	if strings.TrimSpace(got) != "3" {
		t.Errorf("venv python: %q", got)
	}
}
