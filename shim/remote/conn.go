package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

const (
	// maxAuthRounds bounds authorizations per HTTP request: a refresh then
	// a browser login, or a login then one scope step-up.
	maxAuthRounds = 2
	// maxResumes bounds reconnections of one request's SSE stream.
	maxResumes = 5
	// deleteTimeout bounds the DELETE of the session on Close.
	deleteTimeout = 2 * time.Second
	// maxBody bounds a JSON response body.
	maxBody = 64 << 20
)

// ErrClosed is returned by WriteMessage after Close.
var ErrClosed = errors.New("remote connection closed")

type transportMode int

const (
	modeUndecided transportMode = iota
	modeStreamable
	modeSSE
)

// pendingCall is a request sent upstream and not yet answered.
type pendingCall struct {
	upID     int64
	hostID   json.RawMessage // exact raw id of the host; nil for the bridge's own requests
	method   string
	answered chan struct{}
	// For the bridge's own requests: the response, or why there is none.
	resp []byte
	err  error
}

func (p *pendingCall) isAnswered() bool {
	select {
	case <-p.answered:
		return true
	default:
		return false
	}
}

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

	sendMu sync.Mutex   // keeps outgoing messages in order
	sessMu sync.RWMutex // write-held while the session is re-initialized

	mu             sync.Mutex
	mode           transportMode
	endpoint       string // legacy SSE: where to POST
	sessionID      string
	protocol       string
	generation     int // bumped by each re-initialization
	nextID         int64
	pending        map[int64]*pendingCall
	initMsg        []byte // the host's initialize request, for replay
	initializedMsg []byte // the host's notifications/initialized, for replay
	listening      bool
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
	if s.Transport == TransportStreamableHTTP {
		c.mode = modeStreamable
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

	out := msg
	var p *pendingCall
	switch {
	case env.IsRequest():
		p = c.newPending(slices.Clone(env.ID), env.Method)
		out = splice(msg, env.IDStart, env.IDEnd, strconv.AppendInt(nil, p.upID, 10))
		if env.Method == "initialize" {
			c.mu.Lock()
			c.initMsg = slices.Clone(msg)
			c.mu.Unlock()
		}
	case env.IsNotification() && env.Method == "notifications/cancelled":
		out = c.rewriteCancel(msg, env)
	case env.IsNotification() && env.Method == "notifications/initialized":
		c.mu.Lock()
		c.initializedMsg = slices.Clone(msg)
		c.mu.Unlock()
	}

	c.mu.Lock()
	undecided := c.mode == modeUndecided
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
		sid, pv, mode := c.sessionID, c.protocol, c.mode
		c.mu.Unlock()
		c.stop(nil)
		if mode == modeStreamable && sid != "" {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), deleteTimeout)
			defer cancel()
			if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.s.URL, nil); err == nil {
				c.setHeaders(req, sid, pv)
				if c.auth != nil {
					if tok := c.auth.current(); tok != "" {
						req.Header.Set("Authorization", "Bearer "+tok)
					}
				}
				if resp, err := c.hc.Do(req); err != nil {
					c.log.Debug().Err(err).Msg("DELETE session failed")
				} else {
					resp.Body.Close()
				}
			}
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

func (c *Conn) newPending(hostID json.RawMessage, method string) *pendingCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	p := &pendingCall{upID: c.nextID, hostID: hostID, method: method, answered: make(chan struct{})}
	c.pending[p.upID] = p
	return p
}

func (c *Conn) takePending(id int64) *pendingCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending[id]
	delete(c.pending, id)
	return p
}

// failCall answers p with a JSON-RPC error (or records err for the
// bridge's own requests), unless it was answered already.
func (c *Conn) failCall(p *pendingCall, err error) {
	if c.takePending(p.upID) == nil {
		return
	}
	if p.hostID == nil {
		p.err = err
		close(p.answered)
		return
	}
	c.log.Warn().Err(err).Str("method", p.method).Msg("request to the remote server failed")
	c.enqueue(errorResponse(p.hostID, codeInternalError, fmt.Sprintf("mcp-sandbox: remote server %q: %v", c.s.Server, err)))
	close(p.answered)
}

func (c *Conn) failAllPending(err error) {
	c.mu.Lock()
	ps := make([]*pendingCall, 0, len(c.pending))
	for _, p := range c.pending {
		ps = append(ps, p)
	}
	c.mu.Unlock()
	slices.SortFunc(ps, func(a, b *pendingCall) int { return int(a.upID - b.upID) })
	for _, p := range ps {
		c.failCall(p, err)
	}
}

// rewriteCancel maps params.requestId of a host cancellation to the
// upstream id and forgets the request, so a late answer is dropped.
func (c *Conn) rewriteCancel(msg []byte, env envelope) []byte {
	if env.Params == nil {
		return msg
	}
	start, end, ok := findKey(env.Params, "requestId")
	if !ok {
		return msg
	}
	hostID := env.Params[start:end]
	c.mu.Lock()
	var found *pendingCall
	for _, p := range c.pending {
		if p.hostID != nil && bytes.Equal(p.hostID, hostID) {
			found = p
			break
		}
	}
	if found != nil {
		delete(c.pending, found.upID)
	}
	c.mu.Unlock()
	if found == nil {
		return msg
	}
	close(found.answered)
	off := env.ParamsStart
	return splice(msg, off+start, off+end, strconv.AppendInt(nil, found.upID, 10))
}

// deliver routes one server→client message (or batch).
func (c *Conn) deliver(raw []byte) {
	elems, err := splitBatch(raw)
	if err != nil {
		c.log.Warn().Err(err).Msg("dropping an invalid message from the remote server")
		return
	}
	for _, e := range elems {
		c.deliverOne(e)
	}
}

func (c *Conn) deliverOne(raw []byte) {
	data, err := normalizeMessage(raw)
	var env envelope
	if err == nil {
		if env, err = parseEnvelope(data); err == nil && env.IsResponse() {
			c.deliverResponse(data, env)
			return
		}
	}
	if err != nil {
		c.log.Warn().Err(err).Msg("dropping an invalid message from the remote server")
		return
	}
	if !env.HasMethod {
		// Neither request, notification nor response: an HTTP error
		// body or the like, which would break the host's parser.
		c.log.Warn().Msg("dropping a message from the remote server that is not JSON-RPC")
		return
	}
	c.enqueue(data)
}

// isResponse reports whether body is a JSON-RPC response (an OAuth error body
// such as {"error":"insufficient_scope"} is not).
func isResponse(body []byte) bool {
	data, err := normalizeMessage(body)
	if err != nil {
		return false
	}
	env, err := parseEnvelope(data)
	return err == nil && env.IsResponse()
}

func (c *Conn) deliverResponse(data []byte, env envelope) {
	var p *pendingCall
	if id, ok := upstreamID(env.ID); ok {
		p = c.takePending(id)
	}
	if p == nil {
		c.log.Warn().Str("id", string(env.ID)).Msg("dropping a response to an unknown or cancelled request")
		return
	}
	if p.method == "initialize" && env.Result != nil {
		c.mu.Lock()
		c.protocol = protocolVersionOf(env.Result)
		c.mu.Unlock()
	}
	if p.hostID == nil {
		p.resp = data
		close(p.answered)
		return
	}
	c.enqueue(splice(data, env.IDStart, env.IDEnd, p.hostID))
	close(p.answered)
}

// send delivers one message with the current transport.
func (c *Conn) send(msg []byte, env envelope, p *pendingCall, wrote func()) {
	c.mu.Lock()
	mode := c.mode
	c.mu.Unlock()
	var err error
	switch {
	case mode == modeUndecided && c.s.Transport == TransportSSE:
		if err = c.openLegacy(); err == nil {
			err = c.postLegacy(msg, wrote)
		}
	case mode == modeSSE:
		err = c.postLegacy(msg, wrote)
	default:
		err = c.postStreamable(msg, p, wrote, mode == modeUndecided)
	}
	switch {
	case err != nil && p != nil:
		c.failCall(p, err)
	case err != nil:
		c.log.Warn().Err(err).Str("method", env.Method).Msg("could not deliver a message to the remote server")
	case env.IsNotification() && env.Method == "notifications/initialized":
		c.startListening()
	}
}

// setHeaders sets the transport's own headers and the static ones.
func (c *Conn) setHeaders(req *http.Request, sid, pv string) {
	for k, v := range c.s.headers {
		req.Header[k] = v
	}
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	if pv != "" {
		req.Header.Set("Mcp-Protocol-Version", pv)
	}
}

// do sends the request built by build, adding the access token, and runs
// the authorization flow on a 401 (or a 403 insufficient_scope) before
// retrying, at most maxAuthRounds times.
func (c *Conn) do(ctx context.Context, build func(context.Context) (*http.Request, error)) (*http.Response, error) {
	for round := 0; ; round++ {
		req, err := build(ctx)
		if err != nil {
			return nil, err
		}
		sent := ""
		if c.auth != nil {
			tok, err := c.auth.accessToken(ctx)
			if err != nil {
				return nil, err
			}
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
				sent = tok
			}
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, err
		}
		if c.auth == nil || round >= maxAuthRounds {
			return resp, nil
		}
		if resp.StatusCode != http.StatusUnauthorized &&
			(resp.StatusCode != http.StatusForbidden || !insufficientScope(resp.Header)) {
			return resp, nil
		}
		if err := c.auth.authorize(ctx, req, resp, sent, round); err != nil {
			return nil, err
		}
	}
}

// session returns the current session id, protocol version and generation.
func (c *Conn) session() (string, string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID, c.protocol, c.generation
}

func (c *Conn) learnSession(resp *http.Response) {
	if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
		c.mu.Lock()
		if c.sessionID == "" {
			c.sessionID = sid
		}
		c.mu.Unlock()
	}
}

// post sends msg to the streamable HTTP endpoint with the current session.
// wrote, if not nil, is called once the request is written.
func (c *Conn) post(msg []byte, wrote func()) (resp *http.Response, sid string, gen int, err error) {
	sid, pv, gen := c.session()
	resp, err = c.do(c.ctx, func(ctx context.Context) (*http.Request, error) {
		if wrote != nil {
			ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
				WroteRequest: func(httptrace.WroteRequestInfo) { wrote() },
			})
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.s.URL, bytes.NewReader(msg))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		c.setHeaders(req, sid, pv)
		return req, nil
	})
	if err == nil {
		c.learnSession(resp)
	}
	return resp, sid, gen, err
}

func (c *Conn) postStreamable(msg []byte, p *pendingCall, wrote func(), probe bool) error {
	c.sessMu.RLock()
	resp, sid, gen, err := c.post(msg, wrote)
	c.sessMu.RUnlock()
	if err != nil {
		return err
	}
	if probe {
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
			if c.s.Transport == TransportAuto {
				drain(resp)
				c.log.Info().Int("status", resp.StatusCode).Msg("streamable HTTP refused; trying the legacy SSE transport")
				if err := c.openLegacy(); err != nil {
					return fmt.Errorf("streamable HTTP answered HTTP %d and legacy SSE failed: %w", resp.StatusCode, err)
				}
				return c.postLegacy(msg, wrote)
			}
		}
		if resp.StatusCode/100 == 2 {
			c.mu.Lock()
			c.mode = modeStreamable
			c.mu.Unlock()
		}
	}
	if resp.StatusCode == http.StatusNotFound && sid != "" {
		drain(resp)
		if err := c.reinitialize(gen); err != nil {
			err = fmt.Errorf("session expired and re-initialization failed: %w", err)
			if p != nil {
				c.failCall(p, err)
			}
			c.failAllPending(err)
			c.stop(fmt.Errorf("remote %s: %w", c.s.Server, err))
			return nil
		}
		c.mu.Lock()
		replayed := bytes.Equal(msg, c.initializedMsg)
		c.mu.Unlock()
		if replayed {
			return nil // re-initialization already sent it
		}
		c.sessMu.RLock()
		resp, _, _, err = c.post(msg, nil)
		c.sessMu.RUnlock()
		if err != nil {
			return err
		}
	}
	return c.handleResponse(resp, p)
}

// handleResponse reads the reply to a POST: a JSON body, an SSE stream
// (resumed if it breaks), or 202 for notifications and responses.
func (c *Conn) handleResponse(resp *http.Response, p *pendingCall) error {
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode/100 != 2 {
		herr := readHTTPError(resp)
		// A JSON-RPC error in the body answers the request itself.
		if p != nil && ct == "application/json" && isResponse(herr.body) {
			c.deliver(herr.body)
			if p.isAnswered() {
				return nil
			}
		}
		return herr
	}
	if p == nil {
		drain(resp)
		return nil
	}
	switch ct {
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("read response: %w", err)
		}
		c.deliver(body)
	case "text/event-stream":
		c.readCallStream(resp, p)
	default:
		drain(resp)
		return fmt.Errorf("unexpected response content type %q (HTTP %d)", ct, resp.StatusCode)
	}
	if !p.isAnswered() {
		return errors.New("the server's reply did not answer the request")
	}
	return nil
}

// readCallStream delivers the events of a POST's SSE stream until the
// request is answered, resuming with GET and Last-Event-ID when the stream
// breaks first.
func (c *Conn) readCallStream(resp *http.Response, p *pendingCall) {
	sr := newSSEReader(resp.Body)
	c.consumeStream(sr)
	resp.Body.Close()
	for attempt := 1; !p.isAnswered() && !c.isDone(); attempt++ {
		if sr.lastID == "" {
			c.failCall(p, errors.New("the server closed the response stream before answering"))
			return
		}
		if attempt > maxResumes {
			c.failCall(p, fmt.Errorf("the response stream broke and %d attempts to resume it failed", maxResumes))
			return
		}
		if !c.sleep(backoff(attempt, sr.retry)) {
			return
		}
		r, err := c.getStream(sr.lastID)
		if err != nil {
			c.log.Debug().Err(err).Msg("resuming a response stream failed")
			continue
		}
		next := newSSEReader(r.Body)
		next.lastID, next.retry = sr.lastID, sr.retry
		sr = next
		c.consumeStream(sr)
		r.Body.Close()
	}
}

// consumeStream delivers message events until the stream ends.
func (c *Conn) consumeStream(sr *sseReader) {
	for {
		ev, err := sr.next()
		if err != nil {
			return
		}
		if ev.name == "message" {
			c.deliver(ev.data)
		}
	}
}

// getStream opens a GET SSE stream, resuming after lastID if set.
func (c *Conn) getStream(lastID string) (*http.Response, error) {
	sid, pv, _ := c.session()
	resp, err := c.do(c.ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.s.URL, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "text/event-stream")
		c.setHeaders(req, sid, pv)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		return nil, readHTTPError(resp)
	}
	return resp, nil
}

// startListening opens the standalone GET stream once per session.
func (c *Conn) startListening() {
	c.mu.Lock()
	if c.listening || c.mode != modeStreamable {
		c.mu.Unlock()
		return
	}
	c.listening = true
	gen := c.generation
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.listen(gen)
	}()
}

// listen keeps the standalone GET stream open for server-initiated
// messages, reconnecting with backoff (or the server's retry) and resuming
// with Last-Event-ID, until the connection closes or the session changes.
func (c *Conn) listen(gen int) {
	var lastID string
	var retry time.Duration
	failures := 0
	for {
		if _, _, g := c.session(); g != gen || c.isDone() {
			return
		}
		resp, err := c.getStream(lastID)
		if err != nil {
			var he *httpError
			if errors.As(err, &he) && (he.status == http.StatusMethodNotAllowed || he.status == http.StatusNotFound ||
				he.status == http.StatusUnauthorized || he.status == http.StatusForbidden) {
				c.log.Debug().Int("status", he.status).Msg("no standalone SSE stream")
				return
			}
			failures++
			if failures > 8 {
				c.log.Warn().Err(err).Msg("giving up on the standalone SSE stream")
				return
			}
			if !c.sleep(backoff(failures, retry)) {
				return
			}
			continue
		}
		failures = 0
		sr := newSSEReader(resp.Body)
		sr.lastID, sr.retry = lastID, retry
		c.consumeStream(sr)
		resp.Body.Close()
		lastID, retry = sr.lastID, sr.retry
		if !c.sleep(backoff(1, retry)) {
			return
		}
	}
}

// reinitialize replaces an expired session: it replays the host's
// initialize (under an id of the bridge's own, whose response is consumed)
// and notifications/initialized. It does nothing if another goroutine
// already replaced session generation staleGen.
func (c *Conn) reinitialize(staleGen int) error {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	c.mu.Lock()
	if c.generation != staleGen {
		c.mu.Unlock()
		return nil
	}
	initMsg, initialized := c.initMsg, c.initializedMsg
	c.sessionID, c.protocol = "", ""
	c.generation++
	c.listening = false
	c.mu.Unlock()
	if initMsg == nil {
		return errors.New("no initialize request to replay")
	}
	c.log.Info().Msg("remote session expired; initializing a new one")
	env, err := parseEnvelope(initMsg)
	if err != nil {
		return err
	}
	p := c.newPending(nil, "initialize")
	resp, _, _, err := c.post(splice(initMsg, env.IDStart, env.IDEnd, strconv.AppendInt(nil, p.upID, 10)), nil)
	if err != nil {
		c.takePending(p.upID)
		return err
	}
	if err := c.handleResponse(resp, p); err != nil {
		c.takePending(p.upID)
		return err
	}
	<-p.answered
	if p.err != nil {
		return p.err
	}
	if renv, err := parseEnvelope(p.resp); err != nil || renv.Result == nil {
		return errors.New("the server refused the replayed initialize")
	}
	if initialized != nil {
		resp, _, _, err := c.post(initialized, nil)
		if err != nil {
			return err
		}
		if err := c.handleResponse(resp, nil); err != nil {
			return err
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.startListening()
		}()
	}
	return nil
}

// openLegacy connects with the 2024-11-05 HTTP+SSE transport: GET the URL
// and wait for the endpoint event naming where to POST.
func (c *Conn) openLegacy() error {
	resp, err := c.do(c.ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.s.URL, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "text/event-stream")
		c.setHeaders(req, "", "")
		return req, nil
	})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return readHTTPError(resp)
	}
	sr := newSSEReader(resp.Body)
	got := make(chan error, 1)
	var endpoint string
	go func() {
		for {
			ev, err := sr.next()
			if err != nil {
				got <- fmt.Errorf("SSE stream ended before the endpoint event: %w", err)
				return
			}
			if ev.name == "endpoint" {
				endpoint = string(ev.data)
				got <- nil
				return
			}
		}
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case err = <-got:
	case <-timer.C:
		err = errors.New("no endpoint event within 30s")
	case <-c.ctx.Done():
		err = c.ctx.Err()
	}
	if err == nil {
		endpoint, err = resolveEndpoint(c.s.URL, endpoint)
	}
	if err != nil {
		resp.Body.Close()
		return err
	}
	c.mu.Lock()
	c.mode, c.endpoint = modeSSE, endpoint
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.consumeStream(sr)
		resp.Body.Close()
		if !c.isDone() {
			err := errors.New("the server closed the SSE stream")
			c.failAllPending(err)
			c.stop(fmt.Errorf("remote %s: %w", c.s.Server, err))
		}
	}()
	return nil
}

// resolveEndpoint resolves the legacy endpoint against the server URL and
// insists on the same origin, so that requests (and tokens) cannot be
// redirected to another host.
func resolveEndpoint(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("invalid endpoint event: %w", err)
	}
	u := b.ResolveReference(r)
	if u.Scheme != b.Scheme || u.Host != b.Host {
		return "", fmt.Errorf("endpoint %q is not on the server's origin", u.Redacted())
	}
	return u.String(), nil
}

// postLegacy POSTs msg to the legacy endpoint; the answer comes on the
// SSE stream.
func (c *Conn) postLegacy(msg []byte, wrote func()) error {
	c.mu.Lock()
	endpoint := c.endpoint
	c.mu.Unlock()
	resp, err := c.do(c.ctx, func(ctx context.Context) (*http.Request, error) {
		if wrote != nil {
			ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
				WroteRequest: func(httptrace.WroteRequestInfo) { wrote() },
			})
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(msg))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		c.setHeaders(req, "", "")
		return req, nil
	})
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return readHTTPError(resp)
	}
	drain(resp)
	return nil
}

// sleep waits d or until the connection closes; it reports whether the
// connection is still open.
func (c *Conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}

// backoff is the server's retry if it sent one, else exponential from
// 500ms, capped at 30s.
func backoff(attempt int, retry time.Duration) time.Duration {
	if retry > 0 {
		return retry
	}
	d := 500 * time.Millisecond << min(attempt-1, 6)
	return min(d, 30*time.Second)
}

// httpError is an unexpected HTTP status from the remote server.
type httpError struct {
	status int
	body   []byte // the first bytes of the body
}

func (e *httpError) Error() string {
	msg := fmt.Sprintf("remote server answered HTTP %d %s", e.status, http.StatusText(e.status))
	if b := bytes.TrimSpace(e.body); len(b) > 0 {
		msg += ": " + truncate(string(b), 200)
	}
	return msg
}

func readHTTPError(resp *http.Response) *httpError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	drain(resp)
	return &httpError{status: resp.StatusCode, body: body}
}

// drain discards the rest of the body (so the connection can be reused)
// and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
