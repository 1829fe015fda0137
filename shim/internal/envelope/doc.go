// Package envelope owns the one raw-JSON scanner the relay (package shim),
// the remote bridge (shim/remote) and the redactor (shim/redact) read
// JSON-RPC messages with. It works on the bytes of a message that is
// already known to be valid JSON and never decodes through Go's
// case-insensitive struct matching: members are located by exact key, the
// last duplicate winning, as JavaScript's JSON.parse does, and every value
// is handed out as raw bytes with its bounds, so that a caller can splice a
// new value in and keep every other byte.
//
// Parse reads a message's envelope (jsonrpc, id, method, params, result,
// error) and reports it Ambiguous when an envelope key occurs twice or a
// top-level key differs from one only in case: a peer keeping the first
// duplicate, or decoding case-insensitively as encoding/json does, would
// read another message than the relay. IDKey turns a raw id into the key a
// server reads it as.
package envelope
