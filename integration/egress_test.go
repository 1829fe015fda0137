package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// gatewayAddr is the host's address on the engine's default bridge: test
// listeners bind there, so all traffic stays on this machine.
func gatewayAddr(t testing.TB, e *env) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := e.docker.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		t.Fatalf("inspect the bridge network: %v", err)
	}
	for _, c := range n.IPAM.Config {
		if c.Gateway != "" && !strings.Contains(c.Gateway, ":") {
			return c.Gateway
		}
		// Engines that leave Gateway out give the bridge the subnet's
		// first address.
		if p, err := netip.ParsePrefix(c.Subnet); err == nil && p.Addr().Is4() {
			return p.Masked().Addr().Next().String()
		}
	}
	t.Fatal("the bridge network has no IPv4 gateway")
	return ""
}

// countingListener is a TCP listener on the bridge gateway that counts what
// it accepts: the proof of what arrived.
type countingListener struct {
	net.Listener
	accepts atomic.Int64
	port    int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepts.Add(1)
	}
	return c, err
}

func listenGateway(t testing.TB, gw string) *countingListener {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
	if err != nil {
		t.Fatalf("listen on the bridge gateway: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return &countingListener{Listener: l, port: l.Addr().(*net.TCPAddr).Port}
}

// bannerServer answers every connection with banner and what the client's
// first line said, then closes.
func bannerServer(t *testing.T, gw, banner string) *countingListener {
	l := listenGateway(t, gw)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				fmt.Fprintf(c, "%s %s", banner, line)
			}()
		}
	}()
	return l
}

// httpServer serves body on every path, and 10 MB on /10mb.
func httpServer(t testing.TB, gw, body string) *countingListener {
	l := listenGateway(t, gw)
	big := strings.Repeat("0123456789", 1<<20)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/10mb" {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			fmt.Fprint(w, big)
			return
		}
		fmt.Fprint(w, body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l
}

type dialResult struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Received string `json:"received"`
}

type fetchResult struct {
	OK     bool   `json:"ok"`
	Status int    `json:"status"`
	Bytes  int64  `json:"bytes"`
	Body   string `json:"body"`
	Error  string `json:"error"`
}

func (s *session) dial(t *testing.T, addr, send string) dialResult {
	t.Helper()
	var r dialResult
	structured(t, s.call(t, "dial", map[string]any{"address": addr, "send": send, "timeout_ms": 3000}), &r)
	return r
}

func (s *session) fetch(t *testing.T, url string) fetchResult {
	t.Helper()
	var r fetchResult
	structured(t, s.call(t, "fetch", map[string]any{"url": url, "timeout_ms": 5000}), &r)
	return r
}

// TestEgressAllowList runs the probe with filtered egress and checks, by the
// listeners' own accept counts, that exactly the listed destinations are
// reached, by raw TCP (no proxy) and by a proxy-aware HTTP client.
func TestEgressAllowList(t *testing.T) {
	e := newEnv(t, "", "")
	gw := gatewayAddr(t, e)
	allowed := bannerServer(t, gw, "BANNER-A") // allowed.test:<port>
	otherPort := bannerServer(t, gw, "BANNER-B")
	web := httpServer(t, gw, "WEB")      // web.test:<port>, by name
	ipOnly := httpServer(t, gw, "IPWEB") // gw:<port>, by address
	ipOther := httpServer(t, gw, "IPOTHER")
	e.writeConfig(fmt.Sprintf(`
[servers.probe.sandbox]
allow_hosts = ["allowed.test:%d", "web.test:%d", "%s:%d"]
hosts = { "allowed.test" = %q, "other.test" = %q, "web.test" = %q }
`, allowed.port, web.port, gw, ipOnly.port, gw, gw, gw), "")
	s := e.connect()

	// Raw TCP to the listed name and port: through, banner read back.
	r := s.dial(t, fmt.Sprintf("allowed.test:%d", allowed.port), "hello\n")
	if !r.OK || r.Received != "BANNER-A hello\n" {
		t.Fatalf("dial allowed.test:%d = %+v; want the banner back\nstderr:\n%s", allowed.port, r, s.stderr.String())
	}
	if n := allowed.accepts.Load(); n != 1 {
		t.Fatalf("allowed listener accepted %d connections, want 1", n)
	}

	// Everything else fails and reaches nothing.
	for _, c := range []struct{ what, addr, want string }{
		{"the same name on another port", fmt.Sprintf("allowed.test:%d", otherPort.port), "refused"},
		{"another mapped name for the same address", fmt.Sprintf("other.test:%d", allowed.port), "no such host"},
		{"an unlisted name (DNS)", fmt.Sprintf("unlisted.test:%d", allowed.port), "no such host"},
		{"the raw address", fmt.Sprintf("%s:%d", gw, allowed.port), ""},
		{"the raw address on the other port", fmt.Sprintf("%s:%d", gw, otherPort.port), ""},
	} {
		r := s.dial(t, c.addr, "hello\n")
		if r.OK && r.Received != "" {
			t.Errorf("%s (%s): got through: %+v", c.what, c.addr, r)
		}
		if c.want != "" && !strings.Contains(r.Error, c.want) {
			t.Errorf("%s (%s): error %q, want it to say %q", c.what, c.addr, r.Error, c.want)
		}
	}

	// A proxy-unaware HTTP client on a listed port: the Host decides.
	r = s.dial(t, fmt.Sprintf("web.test:%d", web.port), "GET / HTTP/1.0\r\nHost: web.test\r\n\r\n")
	if !strings.HasSuffix(r.Received, "WEB") {
		t.Errorf("raw HTTP to web.test = %+v; want the body WEB", r)
	}
	r = s.dial(t, fmt.Sprintf("web.test:%d", web.port), "GET / HTTP/1.0\r\nHost: other.test\r\n\r\n")
	if r.Received != "" {
		t.Errorf("raw HTTP to web.test's address with Host other.test got %q; want nothing", r.Received)
	}

	// The proxy-aware client (Go's default, HTTP_PROXY from the sidecar).
	if f := s.fetch(t, fmt.Sprintf("http://web.test:%d/", web.port)); !f.OK || f.Body != "WEB" {
		t.Errorf("fetch web.test = %+v; want 200 WEB", f)
	}
	if f := s.fetch(t, fmt.Sprintf("http://other.test:%d/", web.port)); f.OK || f.Body == "WEB" {
		t.Errorf("fetch other.test (mapped, not listed) = %+v; want a refusal", f)
	}
	if f := s.fetch(t, fmt.Sprintf("http://%s:%d/", gw, ipOnly.port)); !f.OK || f.Body != "IPWEB" {
		t.Errorf("fetch of the listed IP:port = %+v; want 200 IPWEB", f)
	}
	if f := s.fetch(t, fmt.Sprintf("http://%s:%d/", gw, ipOther.port)); f.OK || f.Body == "IPOTHER" {
		t.Errorf("fetch of the same IP on an unlisted port = %+v; want a refusal", f)
	}
	if f := s.fetch(t, fmt.Sprintf("https://%s:%d/", gw, ipOther.port)); f.OK {
		t.Errorf("CONNECT to the same IP on an unlisted port = %+v; want a refusal", f)
	}

	for _, c := range []struct {
		what string
		l    *countingListener
		want int64
	}{
		{"allowed (banner)", allowed, 1},
		{"other port", otherPort, 0},
		{"web (raw HTTP with its Host, then fetch)", web, 2},
		{"listed IP:port", ipOnly, 1},
		{"same IP, unlisted port", ipOther, 0},
	} {
		if n := c.l.accepts.Load(); n != c.want {
			t.Errorf("%s listener accepted %d connections, want %d", c.what, n, c.want)
		}
	}

	s.Close()
	waitExit(t, s.cmd, 30*time.Second)
	log := s.stderr.String()
	if !strings.Contains(log, "egress refused") || !strings.Contains(log, "unlisted.test") {
		t.Errorf("the log does not report the refusals:\n%s", log)
	}
	if !strings.Contains(log, "connections refused this session") {
		t.Errorf("the log has no session total of refusals:\n%s", log)
	}
	refused := 0
	for _, rec := range readAudit(t, e.audit) {
		if rec.Method == "egress/refused" {
			refused++
		}
	}
	// other.test and unlisted.test (DNS), Host other.test (raw), other.test
	// and the IP twice (proxy): at least six.
	if refused < 6 {
		t.Errorf("audit has %d egress/refused records, want at least 6", refused)
	}
}

// egressObjects lists the containers and networks the launcher with pid
// made.
func egressObjects(t *testing.T, e *env, pid int) (containers, networks int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", "dev.mcp-sandbox.managed=true"), filters.Arg("label", "dev.mcp-sandbox.pid="+strconv.Itoa(pid)))
	cl, err := e.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	nl, err := e.docker.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return len(cl), len(nl)
}

func waitNoEgressObjects(t *testing.T, e *env, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, n := egressObjects(t, e, pid)
		if c == 0 && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("launcher %d left %d container(s) and %d network(s)", pid, c, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestEgressTeardown checks that server, sidecar and network all go, however
// the session ends.
func TestEgressTeardown(t *testing.T) {
	const sandbox = `
[servers.probe.sandbox]
allow_hosts = ["example.test"]
`
	start := func(t *testing.T) (*env, *session) {
		e := newEnv(t, "", "")
		e.writeConfig(sandbox, "")
		s := e.connect()
		s.call(t, "echo", map[string]any{"text": "x"})
		if c, n := egressObjects(t, e, s.cmd.Process.Pid); c != 2 || n != 1 {
			t.Fatalf("while running: %d containers and %d networks, want 2 (server, sidecar) and 1", c, n)
		}
		return e, s
	}
	t.Run("host EOF", func(t *testing.T) {
		// This one runs the sidecar from a static Linux build given by
		// MCP_SANDBOX_EGRESS_BINARY, as the README tells Docker Desktop
		// users to; the others from the (cgo) binary itself.
		static := filepath.Join(t.TempDir(), "mcp-sandbox-linux")
		cmd := exec.Command("go", "build", "-o", static, "./cmd/mcp-sandbox")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("static build: %v\n%s", err, out)
		}
		e := newEnv(t, "", "")
		e.writeConfig(sandbox, "")
		e.extraEnv = append(e.extraEnv, "MCP_SANDBOX_EGRESS_BINARY="+static)
		s := e.connect()
		s.call(t, "echo", map[string]any{"text": "x"})
		if c, n := egressObjects(t, e, s.cmd.Process.Pid); c != 2 || n != 1 {
			t.Fatalf("while running: %d containers and %d networks, want 2 (server, sidecar) and 1", c, n)
		}
		s.Close()
		waitExit(t, s.cmd, 30*time.Second)
		waitNoEgressObjects(t, e, s.cmd.Process.Pid, 5*time.Second)
	})
	t.Run("SIGTERM", func(t *testing.T) {
		e, s := start(t)
		s.cmd.Process.Signal(syscall.SIGTERM)
		waitExit(t, s.cmd, 30*time.Second)
		waitNoEgressObjects(t, e, s.cmd.Process.Pid, 5*time.Second)
	})
	t.Run("SIGKILL then next launch", func(t *testing.T) {
		e, s := start(t)
		s.cmd.Process.Kill()
		waitExit(t, s.cmd, 30*time.Second)
		if c, n := egressObjects(t, e, s.cmd.Process.Pid); c != 2 || n != 1 {
			t.Fatalf("after SIGKILL: %d containers and %d networks, want the orphans still there", c, n)
		}
		s2 := e.connect()
		s2.call(t, "echo", map[string]any{"text": "y"})
		waitNoEgressObjects(t, e, s.cmd.Process.Pid, 30*time.Second)
		s2.Close()
		waitExit(t, s2.cmd, 30*time.Second)
		waitNoEgressObjects(t, e, s2.cmd.Process.Pid, 5*time.Second)
	})
}

// TestEgressCheck covers the configuration side through the binary: network
// none with allow_hosts is an error naming both keys, bridge is warned
// about, and check prints the effective egress.
func TestEgressCheck(t *testing.T) {
	e := newEnv(t, "", "")
	run := func(sandbox string) (string, error) {
		e.writeConfig(sandbox, "")
		out, err := e.command("check", "--config", e.config).CombinedOutput()
		return string(out), err
	}
	out, err := run("[servers.probe.sandbox]\nnetwork = \"none\"\nallow_hosts = [\"api.example.com\"]\n")
	if err == nil || !strings.Contains(out, `network = "none" and allow_hosts`) || !strings.Contains(out, "mcp-sandbox.toml:") {
		t.Errorf("check with network none + allow_hosts: err %v, output:\n%s", err, out)
	}
	out, err = run("[servers.probe.sandbox]\nnetwork = \"bridge\"\n")
	if err != nil || !strings.Contains(out, "warning:") || !strings.Contains(out, "UNRESTRICTED") {
		t.Errorf("check with network bridge: err %v, want a warning; output:\n%s", err, out)
	}
	out, err = run("[servers.probe.sandbox]\nallow_hosts = [\"api.example.com\", \"*.slack.com\", \"10.1.0.0/16:5432\"]\n")
	if err != nil || !strings.Contains(out, "egress:   filtered: only api.example.com:443, *.slack.com:443, 10.1.0.0/16:5432") {
		t.Errorf("check with allow_hosts: err %v, output:\n%s", err, out)
	}
	doc, _ := e.command("doctor", "--config", e.config).CombinedOutput()
	if !strings.Contains(string(doc), "egress filtered: only api.example.com:443") || !strings.Contains(string(doc), "egress sidecar image mcp-sandbox/egress:") {
		t.Errorf("doctor does not show the egress and its sidecar image:\n%s", doc)
	}
}
