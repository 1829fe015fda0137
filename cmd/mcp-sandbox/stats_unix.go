//go:build unix

package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/rs/zerolog"
)

// logStatsOnSignal logs the process's goroutine count and memory on every
// SIGUSR1 until ctx is done (`kill -USR1 PID` on a running session): a
// session that runs for days can be watched for leaks without stopping it.
func logStatsOnSignal(ctx context.Context, log zerolog.Logger) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	go func() {
		defer signal.Stop(c)
		for {
			select {
			case <-ctx.Done():
				return
			case <-c:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				log.Info().Int("goroutines", runtime.NumGoroutine()).Uint64("heap_bytes", m.HeapAlloc).
					Uint64("sys_bytes", m.Sys).Uint32("gc_cycles", m.NumGC).Msg("stats")
			}
		}
	}()
}
