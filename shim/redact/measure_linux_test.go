package redact

import (
	"encoding/json"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// rusageThread is RUSAGE_THREAD, which package syscall does not name.
const rusageThread = 1

func threadCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMeasureCPU reports the thread CPU time of Message against json.Valid
// on the benchmark messages. Wall-clock benchmarks are unreliable on a
// shared machine; CPU time of the measuring thread is not. Opt in with
// REDACT_MEASURE=1 and read the output with -v.
func TestMeasureCPU(t *testing.T) {
	if os.Getenv("REDACT_MEASURE") != "1" {
		t.Skip("set REDACT_MEASURE=1 to measure CPU time of Message against json.Valid")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	minCPU := func(rounds, reps int, f func()) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range rounds {
			start := threadCPU(t)
			for range reps {
				f()
			}
			best = min(best, (threadCPU(t)-start)/time.Duration(reps))
		}
		return best
	}
	for _, sz := range benchSizes {
		msg := benchMessage(sz.size)
		reps := 20 * (1 << 20) / sz.size
		valid := minCPU(5, max(reps, 2), func() { json.Valid(msg) })
		t.Logf("%s json.Valid: %v/op (%.0f MB/s)", sz.name, valid, float64(len(msg))/valid.Seconds()/1e6)
		for _, tc := range []struct {
			name    string
			secrets []Secret
		}{{"5secrets", benchSecrets}, {"5short", shortSecrets}, {"pem", pemSecrets}} {
			r := mustNew(t, tc.secrets)
			got := minCPU(5, max(reps, 2), func() { r.Message(msg) })
			t.Logf("%s Message/%s: %v/op (%.0f MB/s), %.1f%% of json.Valid",
				sz.name, tc.name, got, float64(len(msg))/got.Seconds()/1e6, 100*float64(got)/float64(valid))
		}
	}
}
