package remote

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Id remapping, kept apart from the transports: every host request goes
// upstream under an id of the bridge's own (a positive integer), so that
// the host's ids, of any type and possibly reused after a re-initialized
// session, never reach the server; the answer is mapped back to the host's
// exact id bytes. A host cancellation is rewritten to the upstream id, and
// the request forgotten so that a late answer is dropped.

// remapOutgoing returns the message to send for the host's msg and, for a
// request, its pending call; it records initialize and
// notifications/initialized for a re-initialization to replay.
func (c *Conn) remapOutgoing(msg []byte, env envelope) ([]byte, *pendingCall) {
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
	return out, p
}

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
