package shim

import (
	"context"
	"fmt"
	"io"
	"time"
)

// An Upstream is the server side of a session: a [Conn] to the MCP server,
// whose Close ends the server (a container is stopped and removed, a remote
// session is deleted), and the explanation of why it ended. The remote
// bridge (package shim/remote) is an Upstream; a container (package launcher)
// becomes one through [ProcessUpstream]. The caller of [Relay.Serve] holds an
// Upstream and does not need to know which kind it is.
type Upstream interface {
	Conn
	// ExitReason explains err, the error Serve returned because the server
	// side ended (wrapping [ErrUpstreamClosed]), for people: with the
	// container's exit status, for example. It returns err when it knows
	// nothing more.
	ExitReason(err error) error
}

// A Process is a started server with attached stdio, such as a
// launcher.Container.
type Process interface {
	// Stdin is the server's stdin; closing it tells the server no more
	// input follows.
	Stdin() io.WriteCloser
	// Stdout is the server's stdout; it ends with io.EOF.
	Stdout() io.Reader
	// Wait returns the exit code once the server has exited, or ctx's
	// error.
	Wait(ctx context.Context) (int64, error)
	// Close ends the server and releases it; it is safe to call twice and
	// runs to completion even when ctx is done.
	Close(ctx context.Context) error
}

// ProcessUpstream returns the Upstream that speaks newline-delimited JSON-RPC
// over p's stdio (the MCP stdio transport). name is the server's name, for
// messages. Closing the Upstream closes p.
func ProcessUpstream(name string, p Process) Upstream {
	return &processUpstream{StreamConn: NewStreamConn(p.Stdout(), p.Stdin()), name: name, p: p}
}

type processUpstream struct {
	*StreamConn // ReadMessage, WriteMessage and the half-close the relay uses
	name        string
	p           Process
}

// exitWait bounds how long ExitReason waits for an exit status.
const exitWait = 3 * time.Second

func (u *processUpstream) ExitReason(err error) error {
	if e, ok := u.p.(processExplainer); ok {
		return fmt.Errorf("server %s ended before the host closed the connection: %s", u.name, e.ExitReason())
	}
	ctx, cancel := context.WithTimeout(context.Background(), exitWait)
	defer cancel()
	code, werr := u.p.Wait(ctx)
	if werr != nil {
		return err
	}
	return fmt.Errorf("server %s exited with status %d before the host closed the connection", u.name, code)
}

// Close ends the process; its own teardown bounds the time it takes.
func (u *processUpstream) Close() error { return u.p.Close(context.Background()) }
