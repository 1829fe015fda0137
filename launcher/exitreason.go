package launcher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// stderrTailLines is how many of the last stderr lines a Container keeps to
// explain an exit.
const stderrTailLines = 10

// maxTailLine bounds one kept line; log lines stay whole.
const maxTailLine = 512

// stderrTail keeps the last lines a server wrote to stderr (already
// redacted).
type stderrTail struct {
	mu    sync.Mutex
	lines []string
}

func (t *stderrTail) add(line string) {
	if len(line) > maxTailLine {
		line = line[:maxTailLine] + "…"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == stderrTailLines {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:stderrTailLines-1]
	}
	t.lines = append(t.lines, line)
}

func (t *stderrTail) get() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

// StderrTail returns the last lines (at most ten) the server wrote to
// stderr, redacted like the log.
func (c *Container) StderrTail() []string { return c.tail.get() }

// exitReasonWait bounds how long ExitReason waits for the engine to report
// the exit after the server's output ended.
const exitReasonWait = 3 * time.Second

// ExitReason explains why the server's output ended, for the log and for the
// error a host sees for a call that was pending: the exit status (or that
// the engine went away), and the last lines of stderr. It waits up to 3 s
// for the engine to report the exit, and never fails: the text says what is
// known.
func (c *Container) ExitReason() string {
	var why string
	ctx, cancel := context.WithTimeout(context.Background(), exitReasonWait)
	defer cancel()
	code, err := c.Wait(ctx)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		why = "the server's output ended but the engine reported no exit"
	case code == -1 && err != nil:
		// ContainerWait itself failed: the engine restarted or its
		// socket closed.
		why = "lost the container engine: " + err.Error()
	default:
		why = fmt.Sprintf("the server exited with status %d", code)
	}
	// The tail is redacted already; it is the server's own words, which is
	// what a user needs to see.
	if tail := c.StderrTail(); len(tail) > 0 {
		why += "; last stderr: " + strings.Join(tail, " | ")
	}
	return why
}
