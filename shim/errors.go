package shim

import (
	"bytes"
	"encoding/json"
	"errors"
)

// JSON-RPC error codes the relay answers with.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeInternalError  = -32603
)

// ErrUpstreamClosed is returned by [Relay.Serve] when the server side ended
// before the host did: the server exited, crashed or hung up.
var ErrUpstreamClosed = errors.New("the MCP server closed its connection")

// ErrHostBroken is returned (wrapped) by [Relay.Serve] when a write to the
// host failed, for example because the host closed our stdout.
var ErrHostBroken = errors.New("the host's connection is broken")

// ErrServed is returned by a second call of [Relay.Serve]: a Relay serves
// one session.
var ErrServed = errors.New("shim: Relay.Serve called twice")

type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

type errorResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcError        `json:"error"`
}

// errorMessage builds a JSON-RPC error response for the raw id (the exact
// bytes the request carried; nil means null).
func errorMessage(id []byte, code int, msg string) []byte {
	if id == nil {
		id = []byte("null")
	}
	// The id goes in as it came: json.Marshal would rewrite "&", "<" and
	// ">" inside it as \u0026, \u003c and \u003e.
	var e bytes.Buffer
	enc := json.NewEncoder(&e)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(rpcError{Code: code, Message: msg})
	b := make([]byte, 0, len(id)+e.Len()+32)
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"error":`...)
	b = append(b, bytes.TrimSuffix(e.Bytes(), []byte("\n"))...)
	return append(b, '}')
}

// notification builds a JSON-RPC notification without params.
func notification(method string) []byte {
	b, _ := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
	}{"2.0", method})
	return b
}
