package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxAuthRounds bounds authorizations per HTTP request: a refresh then a
// browser login, or a login then one scope step-up.
const maxAuthRounds = 2

// transport carries the bridge's messages, already remapped, to the
// remote server: streamable HTTP (streamable.go) or the legacy HTTP+SSE
// transport (sse.go). Both hand what the server sends to Conn.deliver,
// which maps ids back (remap.go). A Conn chooses its transport on the
// first message (choose) and keeps it for the session.
type transport interface {
	// send delivers msg; p is the pending call when msg is a request, nil
	// otherwise. wrote, if not nil, is called once msg is on the wire. An
	// error means msg was not delivered (or, for a request, not answered).
	send(msg []byte, p *pendingCall, wrote func()) error
	// initialized is called once the host's notifications/initialized is
	// delivered.
	initialized()
	// close ends the session after the connection has stopped.
	close()
}

// choose sends the first message while no transport is chosen: under
// transport "sse" it opens the legacy stream first; otherwise it probes
// streamable HTTP, which chooses itself on a 2xx answer or falls back to
// legacy SSE under "auto" (postStreamable).
func (c *Conn) choose(msg []byte, p *pendingCall, wrote func()) error {
	if c.s.Transport == TransportSSE {
		l, err := c.openLegacy()
		if err != nil {
			return err
		}
		return l.send(msg, p, wrote)
	}
	return c.st.postStreamable(msg, p, wrote, true)
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
