package integration

import (
	"context"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// waits makes each started command waited for exactly once. A test and the
// host transport both need to know when mcp-sandbox ended, but os/exec's
// Cmd.Wait must be called once: a second call racing the first blocks
// forever on the output-copying goroutines the first one already reaped.
var waits sync.Map // *exec.Cmd → *waiter

type waiter struct {
	done chan struct{}
	err  error // Wait's result, set before done is closed
}

// waited returns cmd's single waiter, starting it on first use. cmd must
// have been started.
func waited(cmd *exec.Cmd) *waiter {
	w := &waiter{done: make(chan struct{})}
	if v, loaded := waits.LoadOrStore(cmd, w); loaded {
		return v.(*waiter)
	}
	go func() { w.err = cmd.Wait(); close(w.done) }()
	return w
}

// hostTransport starts cmd and speaks MCP over its stdio, closing as a host
// does (stdin closed, then SIGTERM, then SIGKILL), like mcp.CommandTransport,
// but waits for the process through waited so that tests may wait for it
// too.
type hostTransport struct {
	cmd *exec.Cmd
}

const hostTerminateAfter = 5 * time.Second

func (h hostTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stdin, err := h.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := h.cmd.Start(); err != nil {
		return nil, err
	}
	w := waited(h.cmd)
	t := &mcp.IOTransport{Reader: io.NopCloser(stdout), Writer: &hostStdin{stdin, h.cmd, w}}
	return t.Connect(ctx)
}

// hostStdin is the server's stdin; closing it ends the server as a host
// does.
type hostStdin struct {
	io.WriteCloser
	cmd *exec.Cmd
	w   *waiter
}

func (s *hostStdin) Close() error {
	err := s.WriteCloser.Close()
	for _, next := range []func() error{
		func() error { return nil },
		func() error { return s.cmd.Process.Signal(syscall.SIGTERM) },
		s.cmd.Process.Kill,
	} {
		if next() != nil {
			continue
		}
		select {
		case <-s.w.done:
			return err
		case <-time.After(hostTerminateAfter):
		}
	}
	return err
}
