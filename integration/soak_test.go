//go:build linux

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSoak makes 100,000 sequential echo calls through one
// `mcp-sandbox run` session and reports the process's RSS and goroutines at
// the start and the end (asked for with SIGUSR1), and p50/p99 latency per
// window of 10,000 calls. Run it with:
//
//	go test -run '^$' -bench Soak -benchtime 1x -timeout 30m ./integration
func BenchmarkSoak(b *testing.B) {
	const calls, window = 100_000, 10_000
	e := newEnv(b, "", "")
	e.audit = "off"
	e.writeConfig("", "")
	for i := 0; i < b.N; i++ {
		cmd := e.command("run", "probe", "--config", e.config, "--no-watch", "--log-level", "info")
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stats := make(chan map[string]any, 4)
		go func() {
			sc := bufio.NewScanner(stderr)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var line map[string]any
				if json.Unmarshal(sc.Bytes(), &line) == nil && line["message"] == "stats" {
					stats <- line
				}
			}
		}()
		r := bufio.NewReaderSize(stdout, 1<<16)
		send := func(s string) {
			if _, err := io.WriteString(stdin, s+"\n"); err != nil {
				b.Fatal(err)
			}
		}
		read := func() []byte {
			line, err := r.ReadBytes('\n')
			if err != nil {
				b.Fatalf("read: %v", err)
			}
			return line
		}
		send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"soak","version":"1"}}}`)
		read()
		send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		call := func(id int) {
			send(`{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/call","params":{"name":"echo","arguments":{"text":"ping"}}}`)
			line := read()
			if !bytes.Contains(line, []byte(`"id":`+strconv.Itoa(id)+`,`)) || bytes.Contains(line, []byte(`"error"`)) {
				b.Fatalf("call %d: %s", id, line)
			}
		}
		for id := 1; id <= 100; id++ { // warm-up
			call(id)
		}
		snapshot := func() (rssKB int, goroutines int) {
			cmd.Process.Signal(syscall.SIGUSR1)
			select {
			case s := <-stats:
				goroutines = int(s["goroutines"].(float64))
			case <-time.After(10 * time.Second):
				b.Fatal("no stats line after SIGUSR1")
			}
			return rssOf(b, cmd.Process.Pid), goroutines
		}
		rss0, g0 := snapshot()
		lat := make([]time.Duration, 0, calls)
		began := time.Now()
		for n := 0; n < calls; n++ {
			s := time.Now()
			call(1000 + n)
			lat = append(lat, time.Since(s))
		}
		total := time.Since(began)
		rss1, g1 := snapshot()
		stdin.Close()
		cmd.Wait()

		fmt.Printf("%d sequential echo calls through mcp-sandbox run in %v (%.0f calls/s)\n", calls, total.Round(time.Millisecond), float64(calls)/total.Seconds())
		fmt.Printf("RSS %.1f MB -> %.1f MB, goroutines %d -> %d\n", float64(rss0)/1024, float64(rss1)/1024, g0, g1)
		var rows []string
		for w := 0; w < calls/window; w++ {
			part := lat[w*window : (w+1)*window]
			rows = append(rows, fmt.Sprintf("calls %6d-%6d: p50 %v  p99 %v", w*window+1, (w+1)*window,
				pct(part, 50).Round(time.Microsecond), pct(part, 99).Round(time.Microsecond)))
		}
		fmt.Println(strings.Join(rows, "\n"))
		b.ReportMetric(float64(rss0)/1024, "rss-start-MB")
		b.ReportMetric(float64(rss1)/1024, "rss-end-MB")
		b.ReportMetric(float64(g0), "goroutines-start")
		b.ReportMetric(float64(g1), "goroutines-end")
		b.ReportMetric(float64(pct(lat, 50).Microseconds()), "p50-µs")
		b.ReportMetric(float64(pct(lat, 99).Microseconds()), "p99-µs")
	}
}

// rssOf returns a process's resident set size in KiB (Linux).
func rssOf(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
