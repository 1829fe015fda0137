package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"time"
)

const (
	// maxResumes bounds reconnections of one request's SSE stream.
	maxResumes = 5
	// deleteTimeout bounds the DELETE of the session on Close.
	deleteTimeout = 2 * time.Second
	// maxBody bounds a JSON response body.
	maxBody = 64 << 20
)

// streamable is the streamable HTTP transport (MCP 2025-03-26 and later):
// each message is a POST to the server URL, answered by a JSON body or an
// SSE stream that is resumed with GET and Last-Event-ID when it breaks; a
// standalone GET stream carries server-initiated messages; a session the
// server forgets (404) is replaced by replaying the host's initialize. A
// Conn always has one, holding the session even while the transport is
// being probed.
type streamable struct {
	c      *Conn
	sessMu sync.RWMutex // write-held while the session is re-initialized

	// Guarded by c.mu, with the Conn's protocol version.
	sessionID  string
	generation int // bumped by each re-initialization
	listening  bool
}

// send POSTs msg on the current session.
func (s *streamable) send(msg []byte, p *pendingCall, wrote func()) error {
	return s.postStreamable(msg, p, wrote, false)
}

// initialized opens the standalone GET stream once the session is
// initialized.
func (s *streamable) initialized() { s.startListening() }

// close ends the session with DELETE (bounded to deleteTimeout), if the
// server gave one.
func (s *streamable) close() {
	c := s.c
	sid, pv, _ := s.session()
	if sid == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), deleteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.s.URL, nil)
	if err != nil {
		return
	}
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

// session returns the current session id, protocol version and generation.
func (s *streamable) session() (string, string, int) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.sessionID, c.protocol, s.generation
}

func (s *streamable) learnSession(resp *http.Response) {
	c := s.c
	if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
		c.mu.Lock()
		if s.sessionID == "" {
			s.sessionID = sid
		}
		c.mu.Unlock()
	}
}

// post sends msg to the streamable HTTP endpoint with the current session.
// wrote, if not nil, is called once the request is written.
func (s *streamable) post(msg []byte, wrote func()) (resp *http.Response, sid string, gen int, err error) {
	c := s.c
	sid, pv, gen := s.session()
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
		s.learnSession(resp)
	}
	return resp, sid, gen, err
}

// postStreamable POSTs msg. With probe (the transport is not chosen yet)
// a 2xx answer chooses streamable HTTP, and 400, 404 or 405 under
// transport "auto" falls back to the legacy SSE transport.
func (s *streamable) postStreamable(msg []byte, p *pendingCall, wrote func(), probe bool) error {
	c := s.c
	s.sessMu.RLock()
	resp, sid, gen, err := s.post(msg, wrote)
	s.sessMu.RUnlock()
	if err != nil {
		return err
	}
	if probe {
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
			if c.s.Transport == TransportAuto {
				drain(resp)
				c.log.Info().Int("status", resp.StatusCode).Msg("streamable HTTP refused; trying the legacy SSE transport")
				l, err := c.openLegacy()
				if err != nil {
					return fmt.Errorf("streamable HTTP answered HTTP %d and legacy SSE failed: %w", resp.StatusCode, err)
				}
				return l.send(msg, p, wrote)
			}
		}
		if resp.StatusCode/100 == 2 {
			c.mu.Lock()
			c.tr = s
			c.mu.Unlock()
		}
	}
	if resp.StatusCode == http.StatusNotFound && sid != "" {
		drain(resp)
		if err := s.reinitialize(gen); err != nil {
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
		s.sessMu.RLock()
		resp, _, _, err = s.post(msg, nil)
		s.sessMu.RUnlock()
		if err != nil {
			return err
		}
	}
	return s.handleResponse(resp, p)
}

// handleResponse reads the reply to a POST: a JSON body, an SSE stream
// (resumed if it breaks), or 202 for notifications and responses.
func (s *streamable) handleResponse(resp *http.Response, p *pendingCall) error {
	c := s.c
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
		s.readCallStream(resp, p)
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
func (s *streamable) readCallStream(resp *http.Response, p *pendingCall) {
	c := s.c
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
		r, err := s.getStream(sr.lastID)
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

// getStream opens a GET SSE stream, resuming after lastID if set.
func (s *streamable) getStream(lastID string) (*http.Response, error) {
	c := s.c
	sid, pv, _ := s.session()
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
func (s *streamable) startListening() {
	c := s.c
	c.mu.Lock()
	if s.listening || c.tr != s {
		c.mu.Unlock()
		return
	}
	s.listening = true
	gen := s.generation
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		s.listen(gen)
	}()
}

// listen keeps the standalone GET stream open for server-initiated
// messages, reconnecting with backoff (or the server's retry) and resuming
// with Last-Event-ID, until the connection closes or the session changes.
func (s *streamable) listen(gen int) {
	c := s.c
	var lastID string
	var retry time.Duration
	failures := 0
	for {
		if _, _, g := s.session(); g != gen || c.isDone() {
			return
		}
		resp, err := s.getStream(lastID)
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
func (s *streamable) reinitialize(staleGen int) error {
	c := s.c
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	c.mu.Lock()
	if s.generation != staleGen {
		c.mu.Unlock()
		return nil
	}
	initMsg, initialized := c.initMsg, c.initializedMsg
	s.sessionID, c.protocol = "", ""
	s.generation++
	s.listening = false
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
	resp, _, _, err := s.post(splice(initMsg, env.IDStart, env.IDEnd, strconv.AppendInt(nil, p.upID, 10)), nil)
	if err != nil {
		c.takePending(p.upID)
		return err
	}
	if err := s.handleResponse(resp, p); err != nil {
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
		resp, _, _, err := s.post(initialized, nil)
		if err != nil {
			return err
		}
		if err := s.handleResponse(resp, nil); err != nil {
			return err
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			s.startListening()
		}()
	}
	return nil
}
