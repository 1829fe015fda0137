package shim

import (
	"bytes"
	"encoding/json"
	"slices"
)

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

// upstreamEnded answers every pending call after the server's side ended
// with err, explained by the [Upstream] where it can (a container's exit
// status and last stderr lines, or a lost engine), and first tells a host
// that asked for log messages at a level that includes errors.
func (r *Relay) upstreamEnded(host, upstream Conn, err error) {
	why := "the server closed the connection before answering"
	if u, ok := upstream.(Upstream); ok && err != nil {
		if reason := u.ExitReason(err); reason != nil && reason != err {
			why += ": " + r.opts.Redactor.String(reason.Error())
		}
	}
	r.mu.Lock()
	level := r.logLevel
	r.mu.Unlock()
	if level != "" && slices.Index(logLevels, level) <= slices.Index(logLevels, "error") {
		r.reply(host, logNotification("error", "mcp-sandbox: "+r.opts.Server+": "+why))
	}
	r.failPending(host, why)
}

// A processExplainer is a [Process] that can say why its output ended, in
// more words than an exit status: launcher.Container adds the last stderr
// lines, or that the engine went away.
type processExplainer interface {
	ExitReason() string
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

// keepHostID returns red, the redacted form of the host-bound msg, with the
// id of a response restored. A response's id is always the host's own bytes
// (the relay answers with what the host sent), so it tells the host nothing
// it does not know; scrubbing it would leave the host's request unanswered.
// The ids of the server's own requests stay scrubbed.
func keepHostID(msg, red []byte) []byte {
	if len(red) == len(msg) && (len(msg) == 0 || &red[0] == &msg[0]) {
		return red // nothing was redacted
	}
	if member(msg, "method") != nil {
		return red
	}
	id := member(msg, "id")
	if id == nil || bytes.Equal(member(red, "id"), id) {
		return red
	}
	return setMember(red, "id", id)
}
