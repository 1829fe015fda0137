package main

import (
	"errors"
	"syscall"
	"testing"
)

func TestFork(t *testing.T) {
	cs := connect(t, nil, nil, nil)
	got := structured[forkOut](t, call(t, cs, "fork", map[string]any{"n": 3}))
	if got.Started != 3 || got.Error != "" || got.EAGAIN || len(got.PIDs) != 3 {
		t.Fatalf("fork = %+v, want 3 started and no error", got)
	}
	// Reaped means gone: not even a zombie answers signal 0.
	for _, pid := range got.PIDs {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("child %d still exists after fork returned (kill 0: %v)", pid, err)
		}
	}
	// The server keeps answering.
	if got := text(t, call(t, cs, "echo", map[string]any{"text": "after fork"})); got != "after fork" {
		t.Errorf("echo after fork = %q", got)
	}
	if res := call(t, cs, "fork", map[string]any{"n": maxFork + 1}); !res.IsError {
		t.Errorf("fork(maxFork+1): IsError = false, want true")
	}
}
