//go:build unix

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/integration/testimages"
)

// BenchmarkPackageColdStart compares the warm cold start (spawn to the
// initialize result) of the server-everything package through
// `mcp-sandbox run` with unsandboxed `npx -y` of the same package on a warm
// npm cache, alternating between them, as p50 and a ratio; then it times a
// first build of the package's image (`prepare --rebuild`, which installs
// from the registry afresh). Run it with:
//
//	go test -run '^$' -bench PackageColdStart -benchtime 1x ./integration
func BenchmarkPackageColdStart(b *testing.B) {
	e, _ := newPackageEnv(b, "")
	e.audit = "off"
	e.prepare(b, "pkg-everything")
	const starts = 15

	node, err := testimages.NodeBinary()
	if err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command("npm", "root", "-g").Output()
	if err != nil {
		b.Fatal(err)
	}
	npx := filepath.Join(strings.TrimSpace(string(out)), "npm", "bin", "npx-cli.js")
	sandboxCmd := func() *exec.Cmd {
		cmd := exec.Command(binary, "run", "pkg-everything", "--config", e.config, "--no-watch", "--log-level", "warn")
		cmd.Env = append(cmd.Environ(), "MCP_SANDBOX_KEYCHAIN_SERVICE="+e.service)
		return cmd
	}
	npxCmd := func() *exec.Cmd {
		cmd := exec.Command(node, npx, "-y", everythingPkg, "stdio")
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(node)+":"+os.Getenv("PATH"), "npm_config_cafile="+testimages.CABundle,
			"npm_config_update_notifier=false")
		// npx runs the server as its child; a group of their own lets the
		// benchmark end both.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	endGroup := func(cmd *exec.Cmd) {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	// Warm both: the image is present, npx's cache holds the package.
	for _, mk := range []func() *exec.Cmd{sandboxCmd, npxCmd} {
		cmd := mk()
		cs, _ := connectCmd(b, cmd)
		cs.Close()
		if cmd.SysProcAttr != nil {
			endGroup(cmd)
		}
	}
	for i := 0; i < b.N; i++ {
		var s, n []time.Duration
		for j := 0; j < starts; j++ {
			cs, d := connectCmd(b, sandboxCmd())
			s = append(s, d)
			cs.Close()
			cmd := npxCmd()
			cs, d = connectCmd(b, cmd)
			n = append(n, d)
			cs.Close()
			endGroup(cmd)
		}
		ps, pn := pct(s, 50), pct(n, 50)
		b.ReportMetric(float64(ps.Milliseconds()), "coldstart-p50-sandbox-ms")
		b.ReportMetric(float64(pn.Milliseconds()), "coldstart-p50-npx-ms")
		b.ReportMetric(float64(ps)/float64(pn), "coldstart-p50-ratio")
		fmt.Printf("warm cold start, p50 of %d: mcp-sandbox run %v, npx -y %v (%.3fx)\n", starts, ps.Round(time.Millisecond), pn.Round(time.Millisecond), float64(ps)/float64(pn))
	}
	b.StopTimer()
	line, took := e.prepare(b, "pkg-everything", "--rebuild")
	b.ReportMetric(took.Seconds(), "first-build-s")
	fmt.Printf("first build (prepare --rebuild, installing from the registry): %.1fs: %s\n", took.Seconds(), line)
	e.assertNoServerContainers(b, "pkg-everything")
}
