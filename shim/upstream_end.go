package shim

import (
	"encoding/json"
	"slices"
)

// An ExitExplainer says why an upstream ended: a container's exit status and
// last stderr lines, or that its engine went away. The relay puts the
// explanation in the errors the host gets for calls still pending and in the
// logging notification it sends. The text must hold no secret.
type ExitExplainer interface {
	ExitReason() string
}

// WithExitReason returns c with reason as its [ExitExplainer]. The result
// keeps c's half-close, so the relay can still tell the server the host hung
// up.
func WithExitReason(c Conn, reason func() string) Conn {
	return &explainedConn{Conn: c, reason: reason}
}

type explainedConn struct {
	Conn
	reason func() string
}

func (c *explainedConn) ExitReason() string { return c.reason() }

func (c *explainedConn) CloseWrite() error {
	if hc, ok := c.Conn.(halfCloser); ok {
		return hc.CloseWrite()
	}
	return nil
}

// logLevels are MCP's (RFC 5424's) logging levels, least severe first.
var logLevels = []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// noteLogLevel remembers the level of a logging/setLevel request of the
// host's: from then on the host has asked for notifications/message.
func (r *Relay) noteLogLevel(params []byte) {
	level, ok := stringMember(params, "level")
	if !ok || !slices.Contains(logLevels, level) {
		return
	}
	r.mu.Lock()
	r.logLevel = level
	r.mu.Unlock()
}

// upstreamEnded answers every pending call after the server's side ended,
// with the upstream's explanation where it has one, and first tells a host
// that asked for log messages.
func (r *Relay) upstreamEnded(host, upstream Conn) string {
	why := "the server closed the connection before answering"
	if e, ok := upstream.(ExitExplainer); ok {
		if reason := r.opts.Redactor.String(e.ExitReason()); reason != "" {
			why += " (" + reason + ")"
		}
	}
	r.mu.Lock()
	level := r.logLevel
	r.mu.Unlock()
	if level != "" && slices.Index(logLevels, level) <= slices.Index(logLevels, "error") {
		r.reply(host, logNotification("error", "mcp-sandbox: "+r.opts.Server+": "+why))
	}
	r.failPending(host, why)
	return why
}

// logNotification builds an MCP notifications/message.
func logNotification(level, data string) []byte {
	type params struct {
		Level  string `json:"level"`
		Logger string `json:"logger"`
		Data   string `json:"data"`
	}
	b, _ := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		Params  params `json:"params"`
	}{"2.0", "notifications/message", params{level, "mcp-sandbox", data}})
	return b
}
