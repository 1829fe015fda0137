package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"time"
)

// legacySSE is the 2024-11-05 HTTP+SSE transport: one GET stream, opened
// first, names in its endpoint event where to POST and carries every
// server→client message; each POST is only acknowledged.
type legacySSE struct {
	c        *Conn
	endpoint string // where to POST, on the server's origin
}

// send POSTs msg to the endpoint; the answer comes on the stream.
func (l *legacySSE) send(msg []byte, _ *pendingCall, wrote func()) error {
	return l.post(msg, wrote)
}

// initialized does nothing: the stream is open from the start.
func (l *legacySSE) initialized() {}

// close does nothing: the stream ends with the connection's context and
// the transport has no session to delete.
func (l *legacySSE) close() {}

// openLegacy connects with the 2024-11-05 HTTP+SSE transport: GET the URL,
// wait for the endpoint event naming where to POST, and choose the
// transport it returns.
func (c *Conn) openLegacy() (*legacySSE, error) {
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
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, readHTTPError(resp)
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
		return nil, err
	}
	l := &legacySSE{c: c, endpoint: endpoint}
	c.mu.Lock()
	c.tr = l
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
	return l, nil
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

// post POSTs msg to the legacy endpoint; the answer comes on the SSE
// stream.
func (l *legacySSE) post(msg []byte, wrote func()) error {
	c, endpoint := l.c, l.endpoint
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
