package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/rs/zerolog"
)

// ErrClosed is returned by WriteMessage after Close.
var ErrClosed = errors.New("remote connection closed")

// Conn is a connection to one remote MCP server, carrying raw JSON-RPC
// messages. It satisfies the relay's Upstream interface (ReadMessage,
// WriteMessage, Close, ExitReason). It is safe for concurrent use.
type Conn struct {
	s    *settings
	log  zerolog.Logger
	auth *authManager // nil when a static Authorization header is configured
	hc   *http.Client

	// ctx bounds the connection's background work (streams, in-flight
	// requests); Close cancels it. It is stored because that work outlives
	// every single call.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	inbox    chan []byte
	done     chan struct{}
	stopOnce sync.Once

	sendMu sync.Mutex // keeps outgoing messages in order

	// st holds the streamable HTTP session; it is used while the
	// transport is probed even when legacy SSE is chosen in the end.
	st *streamable

	mu sync.Mutex
	// tr is the chosen transport; nil while undecided (transport "auto"
	// before the first answer, or "sse" before the stream is open).
	tr             transport
	protocol       string // the negotiated protocol version
	nextID         int64
	pending        map[int64]*pendingCall
	initMsg        []byte // the host's initialize request, for replay
	initializedMsg []byte // the host's notifications/initialized, for replay
	failErr        error

	closeOnce sync.Once
}

// Dial prepares a connection to the remote server described by opts. It
// does no network I/O: the transport is chosen and the session opened by
// the first WriteMessage (normally the host's initialize). ctx bounds the
// connection's lifetime together with Close.
func Dial(ctx context.Context, opts Options) (*Conn, error) {
	s, err := opts.settings()
	if err != nil {
		return nil, err
	}
	c := &Conn{
		s:       s,
		log:     s.Logger.With().Str("server", s.Server).Logger(),
		hc:      s.HTTPClient,
		inbox:   make(chan []byte, 256),
		done:    make(chan struct{}),
		pending: map[int64]*pendingCall{},
	}
	c.st = &streamable{c: c}
	if s.Transport == TransportStreamableHTTP {
		c.tr = c.st
	}
	if !s.staticAuth {
		c.auth = newAuthManager(s)
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	return c, nil
}

// ReadMessage returns the next server→client message: one JSON value
// without line breaks. After Close it returns io.EOF; after a fatal
// upstream failure it returns that error once the queued messages are read.
// Any OAuth token the bridge has held is replaced by [redacted:oauth-token].
func (c *Conn) ReadMessage() ([]byte, error) {
	select {
	case m := <-c.inbox:
		return c.scrub(m), nil
	default:
	}
	select {
	case m := <-c.inbox:
		return c.scrub(m), nil
	case <-c.done:
		select {
		case m := <-c.inbox:
			return c.scrub(m), nil
		default:
		}
		c.mu.Lock()
		err := c.failErr
		c.mu.Unlock()
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}
}

// scrub removes secrets (the bridge's own OAuth tokens among them) from a
// message for the host.
func (c *Conn) scrub(msg []byte) []byte {
	return c.s.redactor.Message(msg)
}

// WriteMessage sends one client→server message. It returns once the
// message is on the wire (for initialize, and while the transport is not
// yet chosen, once it is answered). A request that cannot be delivered
// gets a JSON-RPC error response with its exact id on ReadMessage; the
// returned error only reports a malformed message or a closed Conn.
func (c *Conn) WriteMessage(msg []byte) error {
	env, err := parseEnvelope(msg)
	if err != nil {
		return fmt.Errorf("remote %s: %w", c.s.Server, err)
	}
	if c.isDone() {
		return ErrClosed
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()

	out, p := c.remapOutgoing(msg, env)

	c.mu.Lock()
	undecided := c.tr == nil
	c.mu.Unlock()
	wrote := make(chan struct{})
	var wroteOnce sync.Once
	signal := func() { wroteOnce.Do(func() { close(wrote) }) }
	finished := make(chan struct{})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(finished)
		c.send(out, env, p, signal)
	}()
	if undecided || (p != nil && env.Method == "initialize") {
		select {
		case <-finished:
		case <-c.done:
		}
		if p != nil && env.Method == "initialize" {
			select {
			case <-p.answered:
			case <-c.done:
			}
		}
		return nil
	}
	select {
	case <-wrote:
	case <-finished:
	case <-c.done:
	}
	return nil
}

// Close ends the session: it stops the streams, sends DELETE for the
// session (bounded to two seconds), waits for the sends WriteMessage started
// (they end with the connection's context) and makes ReadMessage return
// io.EOF. It is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		tr := c.tr
		c.mu.Unlock()
		c.stop(nil)
		if tr != nil {
			tr.close()
		}
		// Every send WriteMessage started runs on c.ctx, cancelled above:
		// wait for them all rather than leave them behind.
		c.wg.Wait()
	})
	return nil
}

// ExitReason returns err: the error a relay saw when the connection ended
// already says why (the failure ReadMessage reported). It makes a Conn the
// relay's Upstream (package shim).
func (c *Conn) ExitReason(err error) error { return err }

func (c *Conn) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop ends the connection; err (nil on Close) is what ReadMessage reports.
func (c *Conn) stop(err error) {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.failErr = err
		c.mu.Unlock()
		c.cancel()
		close(c.done)
	})
}

func (c *Conn) enqueue(msg []byte) {
	select {
	case c.inbox <- msg:
	case <-c.done:
	}
}

// send delivers one message with the chosen transport, choosing it first
// if need be, and answers a request it could not deliver.
func (c *Conn) send(msg []byte, env envelope, p *pendingCall, wrote func()) {
	c.mu.Lock()
	tr := c.tr
	c.mu.Unlock()
	var err error
	if tr != nil {
		err = tr.send(msg, p, wrote)
	} else {
		err = c.choose(msg, p, wrote)
	}
	switch {
	case err != nil && p != nil:
		c.failCall(p, err)
	case err != nil:
		c.log.Warn().Err(err).Str("method", env.Method).Msg("could not deliver a message to the remote server")
	case env.IsNotification() && env.Method == "notifications/initialized":
		c.mu.Lock()
		tr = c.tr
		c.mu.Unlock()
		if tr != nil {
			tr.initialized()
		}
	}
}
