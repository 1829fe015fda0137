//go:build unix

package main

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestStatsOnSIGUSR1 sends the process SIGUSR1 and expects one stats line.
func TestStatsOnSIGUSR1(t *testing.T) {
	lines := make(chan []byte, 4)
	log := zerolog.New(writerFunc(func(p []byte) (int, error) {
		lines <- append([]byte(nil), p...)
		return len(p), nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logStatsOnSignal(ctx, log)
	// Notify is in place when logStatsOnSignal returns.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-lines:
		var m struct {
			Message    string
			Goroutines int
			HeapBytes  uint64 `json:"heap_bytes"`
		}
		if err := json.Unmarshal(b, &m); err != nil || m.Message != "stats" || m.Goroutines < 1 || m.HeapBytes == 0 {
			t.Errorf("stats line %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no stats line after SIGUSR1")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
