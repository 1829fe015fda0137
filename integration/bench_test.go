package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkSandboxVsDockerCLI compares `mcp-sandbox run` with `docker run -i`
// of the same image under the same restrictions, in one run: cold start
// (spawn to initialize result) and per-call latency (echo), as p50/p95 and
// ratios. Run it with:
//
//	go test -run '^$' -bench SandboxVsDockerCLI -benchtime 1x ./integration
func BenchmarkSandboxVsDockerCLI(b *testing.B) {
	e := newEnv(b, "", "")
	e.audit = "off"
	e.writeConfig("", "")
	const starts, calls = 20, 1000

	sandboxCmd := func() *exec.Cmd {
		cmd := e.command("run", "probe", "--config", e.config, "--no-watch", "--log-level", "warn")
		cmd.Env = append(cmd.Env, os.Getenv("BENCH_EXTRA_ENV"))
		return cmd
	}
	dockerCmd := func() *exec.Cmd {
		return exec.Command("docker", "run", "-i", "--rm", "--init",
			"--network", "none", "--read-only", "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=64m",
			"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", "65534:65534",
			"--memory", "512m", "--memory-swap", "512m", "--cpus", "1", "--pids-limit", "256",
			probeImage)
	}
	// Warm both paths once (image built, page cache warm).
	for _, mk := range []func() *exec.Cmd{sandboxCmd, dockerCmd} {
		cs, _ := connectCmd(b, mk())
		cs.Close()
	}
	for i := 0; i < b.N; i++ {
		var coldS, coldD []time.Duration
		for j := 0; j < starts; j++ {
			cs, d := connectCmd(b, sandboxCmd())
			coldS = append(coldS, d)
			cs.Close()
			cs, d = connectCmd(b, dockerCmd())
			coldD = append(coldD, d)
			cs.Close()
		}
		latS, latD := callLatencies(b, sandboxCmd(), dockerCmd(), calls)
		report := func(name string, s, d []time.Duration) {
			ps50, ps95 := pct(s, 50), pct(s, 95)
			pd50, pd95 := pct(d, 50), pct(d, 95)
			b.ReportMetric(float64(ps50.Microseconds()), name+"-p50-sandbox-µs")
			b.ReportMetric(float64(pd50.Microseconds()), name+"-p50-docker-µs")
			b.ReportMetric(float64(ps50)/float64(pd50), name+"-p50-ratio")
			b.ReportMetric(float64(ps95)/float64(pd95), name+"-p95-ratio")
			fmt.Printf("%-10s p50 %9v vs %9v (%.3fx)   p95 %9v vs %9v (%.3fx)\n", name,
				ps50.Round(time.Microsecond), pd50.Round(time.Microsecond), float64(ps50)/float64(pd50),
				ps95.Round(time.Microsecond), pd95.Round(time.Microsecond), float64(ps95)/float64(pd95))
		}
		fmt.Println("mcp-sandbox run vs docker run -i, same image and restrictions:")
		report("coldstart", coldS, coldD)
		report("call", latS, latD)
	}
}

// connectCmd starts cmd as an MCP server and returns the session and the time
// from spawn to the initialize result.
func connectCmd(b *testing.B, cmd *exec.Cmd) (*mcp.ClientSession, time.Duration) {
	b.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	cs, err := client.Connect(ctx, hostTransport{cmd}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		b.Fatalf("%s: %v", cmd.Args[0], err)
	}
	return cs, time.Since(start)
}

// callLatencies times n echo calls on each of two servers, alternating
// between them so that both see the same machine load.
func callLatencies(b *testing.B, cmdA, cmdB *exec.Cmd, n int) (a, bb []time.Duration) {
	csA, _ := connectCmd(b, cmdA)
	defer csA.Close()
	csB, _ := connectCmd(b, cmdB)
	defer csB.Close()
	ctx := context.Background()
	params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "ping"}}
	one := func(cs *mcp.ClientSession) time.Duration {
		start := time.Now()
		if _, err := cs.CallTool(ctx, params); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for i := 0; i < 20; i++ { // warm-up
		one(csA)
		one(csB)
	}
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			a = append(a, one(csA))
			bb = append(bb, one(csB))
		} else {
			bb = append(bb, one(csB))
			a = append(a, one(csA))
		}
	}
	return a, bb
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}

// BenchmarkReloadToListChanged measures the time from saving the
// configuration (rename over the file, as most editors do) to the host
// receiving notifications/tools/list_changed, over 50 saves. Run it with:
//
//	go test -run '^$' -bench ReloadToListChanged -benchtime 1x ./integration
func BenchmarkReloadToListChanged(b *testing.B) {
	e := newEnv(b, `profile = "edit"`, profileA)
	e.audit = "off"
	e.writeConfig(`profile = "edit"`, profileA)
	s := e.connect("--log-level", "warn")
	const saves = 50
	for i := 0; i < b.N; i++ {
		var lat []time.Duration
		for j := 0; j < saves; j++ {
			profile := profileB
			if j%2 == 1 {
				profile = profileA
			}
			data := []byte(e.configText(`profile = "edit"`, profile))
			tmp := e.config + ".tmp"
			if err := os.WriteFile(tmp, data, 0o644); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := os.Rename(tmp, e.config); err != nil {
				b.Fatal(err)
			}
			s.waitNote(b, "notifications/tools/list_changed", 10*time.Second)
			lat = append(lat, time.Since(start))
		}
		p50, p95 := pct(lat, 50), pct(lat, 95)
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
		fmt.Printf("save -> list_changed over %d saves: p50 %v, p95 %v, max %v\n", saves,
			p50.Round(time.Millisecond/10), p95.Round(time.Millisecond/10), pct(lat, 100).Round(time.Millisecond/10))
	}
}

// BenchmarkStdioBoundary measures what crossing a process boundary over stdio
// costs by itself: a Go SDK client calling echo on an SDK server in memory,
// and on the probe run as a child process (no container, no mcp-sandbox), in
// one run. Any stdio bridge pays this; it is the floor under the remote
// bridge's overhead. Run it with:
//
//	go test -run '^$' -bench StdioBoundary -benchtime 1x ./integration
func BenchmarkStdioBoundary(b *testing.B) {
	needBuild(b)
	ctx := context.Background()
	type echoIn struct {
		Text string `json:"text"`
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "mem", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo"}, func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
	})
	st, ct := mcp.NewInMemoryTransports()
	go srv.Run(ctx, st)
	client := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	opts := &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}
	mem, err := client.Connect(ctx, ct, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer mem.Close()
	proc, err := client.Connect(ctx, hostTransport{exec.Command(probeCtx + "/probe")}, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer proc.Close()
	params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "ping"}}
	for i := 0; i < b.N; i++ {
		var m, p []time.Duration
		for j := 0; j < 1000; j++ {
			s := time.Now()
			if _, err := mem.CallTool(ctx, params); err != nil {
				b.Fatal(err)
			}
			m = append(m, time.Since(s))
			s = time.Now()
			if _, err := proc.CallTool(ctx, params); err != nil {
				b.Fatal(err)
			}
			p = append(p, time.Since(s))
		}
		fmt.Printf("echo p50: in memory %v, over a child's stdio %v (+%v)\n",
			pct(m, 50).Round(time.Microsecond), pct(p, 50).Round(time.Microsecond), (pct(p, 50) - pct(m, 50)).Round(time.Microsecond))
	}
}
