package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkEgressVsBridge compares filtered egress with network = "bridge"
// for the same probe and the same local HTTP listener on the bridge gateway:
// connection setup (a dial tool call that connects, sends an HTTP request
// and reads the answer, median) and the throughput of a 10 MB download
// (fetch, best of the runs). It reports both paths and their ratios.
//
//	go test ./integration -run '^$' -bench BenchmarkEgressVsBridge -benchtime 1x
func BenchmarkEgressVsBridge(b *testing.B) {
	e := newEnv(b, "", "")
	gw := gatewayAddr(b, e)
	web := httpServer(b, gw, "small")

	measure := func(sandbox, addr, host string) (setup time.Duration, mbps float64) {
		e.writeConfig(sandbox, "")
		s := e.connect()
		defer func() {
			s.Close()
			<-waited(s.cmd).done
		}()
		req := fmt.Sprintf("GET /small HTTP/1.0\r\nHost: %s\r\n\r\n", host)
		var ds []time.Duration
		for range 30 {
			start := time.Now()
			r := s.dialTB(b, addr, req)
			ds = append(ds, time.Since(start))
			if r.Received == "" {
				b.Fatalf("dial %s: %+v", addr, r)
			}
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		best := 0.0
		for range 5 {
			start := time.Now()
			f := s.fetchTB(b, "http://"+addr+"/10mb")
			d := time.Since(start)
			if f.Bytes != 10<<20 {
				b.Fatalf("fetch 10mb through %s: %+v", sandbox, f)
			}
			best = max(best, float64(f.Bytes)/(1<<20)/d.Seconds())
		}
		return ds[len(ds)/2], best
	}
	for range b.N {
		bs, bt := measure("[servers.probe.sandbox]\nnetwork = \"bridge\"\n", fmt.Sprintf("%s:%d", gw, web.port), gw)
		fs, ft := measure(fmt.Sprintf("[servers.probe.sandbox]\nallow_hosts = [\"web.test:%d\"]\nhosts = { \"web.test\" = %q }\n", web.port, gw),
			fmt.Sprintf("web.test:%d", web.port), "web.test")
		b.ReportMetric(float64(bs.Microseconds())/1000, "bridge-setup-ms")
		b.ReportMetric(float64(fs.Microseconds())/1000, "filtered-setup-ms")
		b.ReportMetric(float64(fs)/float64(bs), "setup-ratio")
		b.ReportMetric(bt, "bridge-MB/s")
		b.ReportMetric(ft, "filtered-MB/s")
		b.ReportMetric(ft/bt, "throughput-ratio")
	}
}

// callTB is session.call for benchmarks: it decodes the structured result
// into v.
func (s *session) callTB(b *testing.B, name string, args map[string]any, v any) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		b.Fatalf("call %s: %v", name, err)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, v); err != nil {
		b.Fatal(err)
	}
}

func (s *session) dialTB(b *testing.B, addr, send string) (r dialResult) {
	s.callTB(b, "dial", map[string]any{"address": addr, "send": send, "timeout_ms": 3000}, &r)
	return r
}

func (s *session) fetchTB(b *testing.B, url string) (r fetchResult) {
	s.callTB(b, "fetch", map[string]any{"url": url, "timeout_ms": 60000}, &r)
	return r
}
