package integration

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-sandbox/mcp-sandbox/integration/testimages"
)

// The package servers of these tests, at the version the issue names.
const (
	everythingPkg = "@modelcontextprotocol/server-everything@2026.8.31"
	filesystemPkg = "@modelcontextprotocol/server-filesystem@2026.8.31"
	memoryPkg     = "@modelcontextprotocol/server-memory@2026.8.31"
)

// Base images, built once per test binary (and kept by content across runs).
var (
	baseOnce sync.Once
	nodeBase string
	baseErr  error
)

// needNodeBase returns the locally built node base image.
func needNodeBase(t testing.TB, cli *client.Client) string {
	t.Helper()
	baseOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		nodeBase, baseErr = testimages.Node(ctx, cli)
	})
	if baseErr != nil {
		t.Fatalf("node base image: %v", baseErr)
	}
	return nodeBase
}

// packageServers is the TOML of the npm package servers, on the local node
// base, with this machine's CA bundle for the build.
func packageServers(node, hostDir string) string {
	return packageServersWith(node, hostDir, "")
}

// packageServersWith is packageServers with lines added to pkg-everything's
// table (a profile, say); its image stays the one the other tests build,
// since keys outside the package's build leave the image key alone.
func packageServersWith(node, hostDir, everything string) string {
	return fmt.Sprintf(`
[packages]
node_image = %q
ca_file = %q
build_network = "host"

[servers.pkg-everything]
package = "npm:%s"
args = ["stdio"]
%s

[servers.pkg-filesystem]
package = "npm:%s"
args = ["/data"]
sandbox.mounts = [%q]

[servers.pkg-memory]
package = "npm:%s"
state = "/data"
env = { MEMORY_FILE_PATH = "/data/memory.jsonl" }
`, node, testimages.CABundle, everythingPkg, everything, filesystemPkg, hostDir+":/data:ro", memoryPkg)
}

// newPackageEnv is a test world with the package servers configured.
func newPackageEnv(t testing.TB, extra string) (*env, string) {
	t.Helper()
	cli := needDocker(t)
	node := needNodeBase(t, cli)
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "hello.txt"), []byte("hello from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "", packageServers(node, hostDir)+extra)
	return e, hostDir
}

// mcpSandbox runs the binary to completion and returns its stdout; it fails
// the test when the command fails.
func (e *env) mcpSandbox(t testing.TB, args ...string) string {
	t.Helper()
	cmd := e.command(append(args, "--config", e.config)...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mcp-sandbox %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, lastLines(stderr.String(), 40))
	}
	return string(out)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// prepare runs `mcp-sandbox prepare NAME` and returns its line and how
// long it took.
func (e *env) prepare(t testing.TB, name string, flags ...string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	out := e.mcpSandbox(t, append([]string{"prepare", name}, flags...)...)
	return strings.TrimSpace(out), time.Since(start)
}

// connectServer is a Go SDK host connected to `mcp-sandbox run NAME`.
func (e *env) connectServer(t *testing.T, name string) (*mcp.ClientSession, *syncBuffer) {
	t.Helper()
	cmd := e.command("run", name, "--config", e.config, "--log-level", "debug")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "integration-host", Version: "1.0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cs, err := client.Connect(ctx, hostTransport{cmd}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v\nstderr:\n%s", name, err, lastLines(stderr.String(), 40))
	}
	t.Cleanup(func() { cs.Close() })
	return cs, stderr
}

func callText(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("call %s: tool error %q", name, text(res))
	}
	return text(res)
}

func sessionTools(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// serverContainers lists the containers of server name that this env's
// processes created (see [env.containers]), running or not.
func (e *env) serverContainers(t testing.TB, name string) []container.Summary {
	t.Helper()
	list, err := e.docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", launcher.LabelManaged+"=true"), filters.Arg("label", launcher.LabelServer+"="+name))})
	if err != nil {
		t.Fatal(err)
	}
	pids := e.pids()
	return slices.DeleteFunc(list, func(c container.Summary) bool { return !pids[c.Labels[launcher.LabelPID]] })
}

// assertNoServerContainers waits for server name's containers to be gone.
func (e *env) assertNoServerContainers(t testing.TB, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := e.serverContainers(t, name)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d container(s) of %s left behind: %v", len(left), name, left[0].Names)
			for _, c := range left {
				e.docker.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tsResult is what integration/node/ts-package.mjs prints.
type tsResult struct {
	Tools     []string
	Calls     int
	Errors    int
	LastError string
	Error     string
	// Pid is the process the host spawned.
	Pid int
}

// tsHost runs the TypeScript SDK host against `mcp-sandbox run NAME`.
func (e *env) tsHost(t *testing.T, name string, calls int) tsResult {
	t.Helper()
	var r tsResult
	e.runTSHost(t, "ts-package.mjs", &r, []string{fmt.Sprintf("CALLS=%d", calls)}, name, "--log-level", "warn")
	return r
}

// TestPackageEverything: prepare builds the package image (or finds it
// from an earlier run), a second prepare is a cache hit, check shows the
// exact version, and the TypeScript SDK host through `mcp-sandbox run` sees
// the same tools as from an image built by hand from the same package, then
// makes 300 calls without an error, leaving no container.
func TestPackageEverything(t *testing.T) {
	e, _ := newPackageEnv(t, "")
	needNode(t) // skip (or fail) before the builds
	ctx := context.Background()
	hand, err := testimages.NPM(ctx, e.docker, nodeBase, everythingPkg, "mcp-server-everything")
	if err != nil {
		t.Fatalf("image built by hand: %v", err)
	}
	e.writeConfig("", packageServers(nodeBase, t.TempDir())+fmt.Sprintf(`
[servers.pkg-everything-hand]
image = %q
args = ["stdio"]
`, hand))

	first, took := e.prepare(t, "pkg-everything")
	t.Logf("first prepare (%v): %s", took, first)
	if !strings.Contains(first, "version 2026.8.31") || !strings.Contains(first, "runs mcp-server-everything") ||
		!strings.Contains(first, " built (") && !strings.Contains(first, " present (") {
		t.Errorf("first prepare said %q", first)
	}
	second, took := e.prepare(t, "pkg-everything")
	t.Logf("second prepare (%v): %s", took, second)
	if !strings.Contains(second, " present (") {
		t.Errorf("second prepare is not a cache hit: %q", second)
	}
	image := strings.Fields(second)[2]
	ii, err := e.docker.ImageInspect(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	if got := ii.Config.Labels["dev.mcp-sandbox.package.version"]; got != "2026.8.31" {
		t.Errorf("version label %q", got)
	}
	if check := e.mcpSandbox(t, "check"); !strings.Contains(check, "version 2026.8.31, runs mcp-server-everything") {
		t.Errorf("check does not show the version:\n%s", check)
	}

	want := e.tsHost(t, "pkg-everything-hand", 0)
	got := e.tsHost(t, "pkg-everything", 300)
	if len(got.Tools) < 5 || !slices.Equal(got.Tools, want.Tools) {
		t.Errorf("package server tools %v\nhand-built image tools %v", got.Tools, want.Tools)
	}
	if got.Calls != 300 || got.Errors != 0 {
		t.Errorf("%d calls, %d errors (last: %s)", got.Calls, got.Errors, got.LastError)
	}
	e.assertNoServerContainers(t, "pkg-everything")
	e.assertNoServerContainers(t, "pkg-everything-hand")
}

// probeScript reports from inside a container what the probe's identity and
// network tools report: ids, capabilities, no_new_privs, whether / and /tmp
// are writable, the network interfaces, and whether a connection out fails.
const probeScript = `
const fs = require("fs"), os = require("os"), net = require("net");
const status = fs.readFileSync("/proc/self/status", "utf8");
const field = (k) => (status.match(new RegExp("^" + k + ":\\s*(.*)$", "m")) || [])[1];
const tryWrite = (p) => { try { fs.writeFileSync(p, "x"); fs.unlinkSync(p); return "ok"; } catch (e) { return e.code; } };
const out = {
  uid: process.getuid(), gid: process.getgid(), capEff: field("CapEff"), noNewPrivs: field("NoNewPrivs"),
  root: tryWrite("/probe-write"), opt: tryWrite("/opt/mcp-sandbox/probe-write"), tmp: tryWrite("/tmp/probe-write"),
  interfaces: Object.keys(os.networkInterfaces()),
};
const s = net.connect({ host: process.argv[1], port: 9, timeout: 3000 });
s.on("connect", () => { out.dial = "connected"; done(); });
s.on("timeout", () => { out.dial = "timeout"; done(); });
s.on("error", (e) => { out.dial = e.code; done(); });
function done() { s.destroy(); process.stdout.write(JSON.stringify(out)); process.exit(0); }
`

// TestPackageSandbox checks the sandbox of a running package server, by
// inspecting its container and by running the probe's checks inside it.
func TestPackageSandbox(t *testing.T) {
	e, _ := newPackageEnv(t, "")
	e.prepare(t, "pkg-everything")
	cs, _ := e.connectServer(t, "pkg-everything")
	ctx := context.Background()
	list := e.serverContainers(t, "pkg-everything")
	if len(list) != 1 {
		t.Fatalf("%d containers of pkg-everything, want 1", len(list))
	}
	ci, err := e.docker.ContainerInspect(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	hc := ci.HostConfig
	// Nothing from the host but the read-only hosts file that a container
	// with its network disabled gets.
	var hostsFile []mount.Mount
	hc.Mounts = slices.DeleteFunc(hc.Mounts, func(m mount.Mount) bool {
		if m.Target == "/etc/hosts" && m.ReadOnly && m.Type == mount.TypeBind {
			hostsFile = append(hostsFile, m)
			return true
		}
		return false
	})
	if len(hostsFile) != 1 {
		t.Errorf("hosts file mounts %v, want one, read-only", hostsFile)
	}
	if hc.NetworkMode != "none" || !hc.ReadonlyRootfs || !slices.Equal(hc.CapDrop, []string{"ALL"}) ||
		!slices.Contains(hc.SecurityOpt, "no-new-privileges") || ci.Config.User != "65534:65534" ||
		hc.Memory != 512<<20 || hc.PidsLimit == nil || *hc.PidsLimit != 256 || hc.CPUQuota != hc.CPUPeriod || hc.CPUPeriod == 0 ||
		!ci.Config.NetworkDisabled || len(hc.Mounts) != 0 || len(hc.Binds) != 0 {
		t.Errorf("sandbox: network %s (disabled %v), read-only %v, cap-drop %v, security %v, user %q, memory %d, pids %v, cpu quota %d per %d µs, mounts %v %v",
			hc.NetworkMode, ci.Config.NetworkDisabled, hc.ReadonlyRootfs, hc.CapDrop, hc.SecurityOpt, ci.Config.User, hc.Memory, hc.PidsLimit, hc.CPUQuota, hc.CPUPeriod, hc.Mounts, hc.Binds)
	}

	gw := bridgeGateway(t, e.docker)
	out := execIn(t, e.docker, list[0].ID, "/usr/local/bin/node", "-e", probeScript, gw)
	var probe struct {
		UID, GID       int
		CapEff         string
		NoNewPrivs     string
		Root, Opt, Tmp string
		Interfaces     []string
		Dial           string
	}
	if err := json.Unmarshal([]byte(out), &probe); err != nil {
		t.Fatalf("probe output %q: %v", out, err)
	}
	t.Logf("from inside: %+v", probe)
	if probe.UID != 65534 || probe.GID != 65534 || strings.Trim(probe.CapEff, "0") != "" || probe.NoNewPrivs != "1" {
		t.Errorf("identity: %+v, want 65534:65534, no capabilities, no_new_privs", probe)
	}
	if probe.Root != "EROFS" || probe.Opt != "EROFS" || probe.Tmp != "ok" {
		t.Errorf("writes: / %s, the package %s, /tmp %s; want EROFS, EROFS, ok", probe.Root, probe.Opt, probe.Tmp)
	}
	if !slices.Equal(probe.Interfaces, []string{"lo"}) || probe.Dial == "connected" {
		t.Errorf("network: interfaces %v, dial to %s: %s; want only lo and no connection", probe.Interfaces, gw, probe.Dial)
	}
	// With the network disabled the container still knows localhost
	// (a server may talk to a helper of its own over loopback).
	lookup := `require("dns").lookup("localhost", {all: true}, (e, a) => console.log(e ? e.code : a.map(x => x.address).sort().join(",")))`
	if got := strings.TrimSpace(execIn(t, e.docker, list[0].ID, "/usr/local/bin/node", "-e", lookup)); !strings.Contains(got, "127.0.0.1") {
		t.Errorf("localhost resolves to %q inside, want 127.0.0.1", got)
	}
	if got := callText(t, cs, "echo", map[string]any{"message": "still serving"}); !strings.Contains(got, "still serving") {
		t.Errorf("echo: %q", got)
	}
	cs.Close()
	e.assertNoServerContainers(t, "pkg-everything")
}

// execIn runs a command inside a running container, as its user, and returns
// its stdout.
func execIn(t *testing.T, cli *client.Client, id string, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	hj, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer hj.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, hj.Reader); err != nil {
		t.Fatal(err)
	}
	if stderr.Len() > 0 {
		t.Logf("exec stderr: %s", stderr.String())
	}
	return stdout.String()
}

// bridgeGateway is the docker bridge's address on this machine.
func bridgeGateway(t testing.TB, cli *client.Client) string {
	t.Helper()
	nw, err := cli.NetworkInspect(context.Background(), "bridge", network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range nw.IPAM.Config {
		if ip := net.ParseIP(c.Gateway); ip != nil && ip.To4() != nil {
			return c.Gateway
		}
		// Older engines leave Gateway empty: the bridge has the subnet's
		// first address.
		if _, sn, err := net.ParseCIDR(c.Subnet); err == nil && sn.IP.To4() != nil {
			ip := slices.Clone(sn.IP.To4())
			ip[3]++
			return ip.String()
		}
	}
	t.Fatalf("the bridge network has no IPv4 gateway: %+v", nw.IPAM.Config)
	return ""
}

// TestPackageFilesystem runs the reference filesystem server as a package
// with a read-only mount of a host directory.
func TestPackageFilesystem(t *testing.T) {
	e, _ := newPackageEnv(t, "")
	e.prepare(t, "pkg-filesystem")
	cs, _ := e.connectServer(t, "pkg-filesystem")
	if got := callText(t, cs, "list_directory", map[string]any{"path": "/data"}); !strings.Contains(got, "hello.txt") {
		t.Errorf("list_directory /data: %q", got)
	}
	read := "read_text_file"
	if !slices.Contains(sessionTools(t, cs), read) {
		read = "read_file"
	}
	if got := callText(t, cs, read, map[string]any{"path": "/data/hello.txt"}); !strings.Contains(got, "hello from the host") {
		t.Errorf("%s: %q", read, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "write_file", Arguments: map[string]any{"path": "/data/new.txt", "content": "x"}})
	if err == nil && !res.IsError {
		t.Error("write_file into the read-only mount succeeded")
	}
	cs.Close()
	e.assertNoServerContainers(t, "pkg-filesystem")
}

// TestPackageMemoryState runs the reference memory server with its
// knowledge graph in the state volume: what the first session stores, the
// second reads; `clean --state` removes the volume.
func TestPackageMemoryState(t *testing.T) {
	e, _ := newPackageEnv(t, "")
	e.mcpSandbox(t, "clean", "pkg-memory", "--state") // from an earlier run
	e.prepare(t, "pkg-memory")
	entity := "mcp-sandbox-test-" + randHex(4)

	cs, _ := e.connectServer(t, "pkg-memory")
	callText(t, cs, "create_entities", map[string]any{"entities": []map[string]any{
		{"name": entity, "entityType": "test", "observations": []string{"kept across sessions"}}}})
	cs.Close()
	e.assertNoServerContainers(t, "pkg-memory")

	cs, _ = e.connectServer(t, "pkg-memory")
	if got := callText(t, cs, "read_graph", map[string]any{}); !strings.Contains(got, entity) || !strings.Contains(got, "kept across sessions") {
		t.Errorf("second session's graph lacks %s: %q", entity, got)
	}
	cs.Close()
	e.assertNoServerContainers(t, "pkg-memory")

	if out := e.mcpSandbox(t, "clean", "pkg-memory", "--state"); !strings.Contains(out, "removed state volume mcp-sandbox-state-pkg-memory") {
		t.Errorf("clean --state said %q", out)
	}
	if _, err := e.docker.VolumeInspect(context.Background(), "mcp-sandbox-state-pkg-memory"); !cerrdefs.IsNotFound(err) {
		t.Errorf("state volume still there after clean --state: %v", err)
	}
}

// helloServer is a tiny stdio MCP server in pure Python, with one tool.
const helloServer = `import json, sys

def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        mid, method = msg.get("id"), msg.get("method")
        if mid is None:
            continue
        params = msg.get("params") or {}
        if method == "initialize":
            result = {"protocolVersion": params.get("protocolVersion", "2025-06-18"), "capabilities": {"tools": {}},
                      "serverInfo": {"name": "mcp-hello", "version": "0.1.0"}}
        elif method == "tools/list":
            result = {"tools": [{"name": "hello", "description": "Says hello",
                                 "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}]}
        elif method == "tools/call":
            who = (params.get("arguments") or {}).get("name", "world")
            result = {"content": [{"type": "text", "text": "hello, %s" % who}]}
        elif method == "ping":
            result = {}
        else:
            print(json.dumps({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "method not found"}}), flush=True)
            continue
        print(json.dumps({"jsonrpc": "2.0", "id": mid, "result": result}), flush=True)
`

// helloWheel builds the wheel of mcp-hello 0.1.0, with a console script.
func helloWheel(t *testing.T) (name string, data []byte) {
	t.Helper()
	files := []struct{ name, body string }{
		{"mcp_hello/__init__.py", helloServer},
		{"mcp_hello-0.1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: mcp-hello\nVersion: 0.1.0\nSummary: a tiny stdio MCP server\n"},
		{"mcp_hello-0.1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: mcp-sandbox-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{"mcp_hello-0.1.0.dist-info/entry_points.txt", "[console_scripts]\nmcp-hello = mcp_hello:main\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	record.WriteString("mcp_hello-0.1.0.dist-info/RECORD,,\n")
	w, err := zw.Create("mcp_hello-0.1.0.dist-info/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return "mcp_hello-0.1.0-py3-none-any.whl", buf.Bytes()
}

// serveIndex serves a PEP 503 simple index holding one wheel on addr, and
// returns the index URL. The build reaches it on the host's loopback with
// build_network = "host".
func serveIndex(t *testing.T, addr, project, file string, wheel []byte) string {
	t.Helper()
	sum := sha256.Sum256(wheel)
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!DOCTYPE html><html><body><a href="%s/">%s</a></body></html>`, project, project)
	})
	mux.HandleFunc("/simple/"+project+"/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!DOCTYPE html><html><body><a href="/files/%s#sha256=%s">%s</a></body></html>`, file, hex.EncodeToString(sum[:]), file)
	})
	mux.HandleFunc("/files/"+file, func(w http.ResponseWriter, r *http.Request) { w.Write(wheel) })
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/simple/"
}

// TestPackagePyPI builds a pypi: package server from the test's own index
// (PyPI is not reachable here): a wheel of a tiny pure-Python stdio server,
// installed into a venv on a python base built from this machine's python.
// The index listens on a new port each run, so every run builds a new image
// and `clean` removes the images of earlier runs.
func TestPackagePyPI(t *testing.T) {
	cli := needDocker(t)
	ctx := context.Background()
	python, err := testimages.Python(ctx, cli)
	if err != nil {
		t.Fatalf("python base image: %v", err)
	}
	file, wheel := helloWheel(t)
	index := serveIndex(t, "127.0.0.1", "mcp-hello", file, wheel)
	e := newEnv(t, "", fmt.Sprintf(`
[servers.pkg-pyhello]
package = "pypi:mcp-hello==0.1.0"
python_image = %q
pypi_index = %q
build_network = "host"
`, python, index))

	first, took := e.prepare(t, "pkg-pyhello")
	t.Logf("first prepare (%v): %s", took, first)
	if !strings.Contains(first, " built (") || !strings.Contains(first, "(pypi:mcp-hello==0.1.0, version 0.1.0, runs mcp-hello)") {
		t.Errorf("first prepare said %q", first)
	}
	if second, _ := e.prepare(t, "pkg-pyhello"); !strings.Contains(second, " present (") {
		t.Errorf("second prepare is not a cache hit: %q", second)
	}
	image := strings.Fields(first)[2]

	if out := e.mcpSandbox(t, "tools", "pkg-pyhello"); !strings.Contains(out, "package pypi:mcp-hello==0.1.0, version 0.1.0") || !strings.Contains(out, "hello ") {
		t.Errorf("tools:\n%s", out)
	}
	cs, _ := e.connectServer(t, "pkg-pyhello")
	if got := callText(t, cs, "hello", map[string]any{"name": "sandbox"}); got != "hello, sandbox" {
		t.Errorf("hello: %q", got)
	}
	cs.Close()
	e.assertNoServerContainers(t, "pkg-pyhello")

	out := e.mcpSandbox(t, "clean", "pkg-pyhello")
	t.Logf("clean: %s", out)
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		t.Errorf("clean removed the current image %s: %v", image, err)
	}
	imgs := e.packageImages(t, "pkg-pyhello")
	if len(imgs) != 1 {
		t.Errorf("after clean, images of pkg-pyhello: %v; want only %s", imgs, image)
	}
	if out := e.mcpSandbox(t, "clean", "pkg-pyhello", "--all"); !strings.Contains(out, "removed image "+image) {
		t.Errorf("clean --all said %q", out)
	}
	if imgs := e.packageImages(t, "pkg-pyhello"); len(imgs) != 0 {
		t.Errorf("after clean --all, images of pkg-pyhello: %v", imgs)
	}
}

// packageImages lists the package images of server name.
func (e *env) packageImages(t *testing.T, name string) [][]string {
	t.Helper()
	list, err := e.docker.ImageList(context.Background(), imageListOptions(name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, im := range list {
		out = append(out, im.RepoTags)
	}
	return out
}

func imageListOptions(server string) image.ListOptions {
	return image.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "dev.mcp-sandbox.server="+server), filters.Arg("label", "dev.mcp-sandbox.role=package"))}
}
