package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/client"
)

// ErrNoEngine reports that no Docker engine answers at the endpoint.
var ErrNoEngine = errors.New("no Docker engine answers")

// pingTimeout bounds one ping while waiting for a starting engine: an engine
// that accepts connections but does not answer yet counts as starting.
const pingTimeout = 5 * time.Second

// ready makes sure the engine answers, once per Launcher: it pings it and
// settles the API version from the answer before requests run concurrently
// (the client's lazy negotiation on first use is not safe for concurrent
// requests). While the endpoint's socket exists but the engine does not
// answer, it retries with a logged backoff for up to l.wait. A failure is not
// remembered: the next call tries again.
func (l *Launcher) ready(ctx context.Context) error {
	l.readyMu.Lock()
	defer l.readyMu.Unlock()
	if l.readyDone {
		return nil
	}
	began := time.Now()
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		p, err := l.api.Ping(pctx)
		cancel()
		if err == nil {
			if n, ok := l.api.(interface{ NegotiateAPIVersionPing(types.Ping) }); ok {
				n.NegotiateAPIVersionPing(p)
			}
			l.readyDone = true
			if attempt > 1 {
				l.log.Info().Str("endpoint", l.endpoint.Host).Dur("waited", time.Since(began)).Msg("Docker engine answers")
			}
			return nil
		}
		if ctx.Err() != nil {
			return l.engineError(ctx.Err())
		}
		waited := time.Since(began)
		if !l.starting(err) || l.wait < 0 || waited+backoff > l.wait {
			if l.starting(err) && attempt > 1 {
				err = fmt.Errorf("still not answering after %s: %w", waited.Round(time.Second), err)
			}
			return l.engineError(err)
		}
		l.log.Warn().Str("endpoint", l.endpoint.Host).Int("attempt", attempt).Dur("waited", waited.Round(time.Millisecond)).
			Dur("limit", l.wait).Err(err).Msg("Docker engine socket exists but the engine does not answer yet (starting?); waiting")
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return l.engineError(ctx.Err())
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// starting reports whether err looks like an engine that is still starting:
// the endpoint's socket file exists, but connecting fails or gets no answer.
// Anything else (an absent socket, a remote host, an HTTP error) fails at
// once.
func (l *Launcher) starting(err error) bool {
	sock := l.endpoint.socketPath()
	if sock == "" {
		return false
	}
	if fi, serr := os.Stat(sock); serr != nil || fi.IsDir() {
		return false
	}
	return client.IsErrConnectionFailed(err) || errors.Is(err, context.DeadlineExceeded)
}

// engineError explains that no engine answers: where the launcher looked,
// and how to point it at the right engine.
func (l *Launcher) engineError(err error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s at %s (%s)", ErrNoEngine.Error(), l.endpoint.Host, l.endpoint.From())
	if sock := l.endpoint.socketPath(); sock != "" {
		if _, serr := os.Stat(sock); serr != nil {
			fmt.Fprintf(&b, ": socket %s does not exist", sock)
		}
	}
	if len(l.endpoint.Tried) > 0 {
		fmt.Fprintf(&b, "; looked at %s", strings.Join(l.endpoint.Tried, ", "))
	}
	b.WriteString(`; start the engine, or point mcp-sandbox at it: run "docker context use NAME", or set DOCKER_HOST (from an MCP host, in the server entry's "env" key: "env": {"DOCKER_HOST": "unix:///path/to/docker.sock"})`)
	return &engineErr{msg: b.String(), err: err}
}

type engineErr struct {
	msg string
	err error
}

func (e *engineErr) Error() string { return e.msg + ": " + e.err.Error() }
func (e *engineErr) Unwrap() []error {
	return []error{ErrNoEngine, e.err}
}
