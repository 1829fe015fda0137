package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// JSON-RPC error codes used in responses the bridge synthesizes.
const (
	// codeInternalError reports that the bridge could not deliver a request
	// or its response (transport failure, authorization failure, session
	// lost).
	codeInternalError = -32603
)

// envelope is the part of a JSON-RPC message the bridge reads. Keys are
// matched exactly (not case-insensitively) and the last duplicate key wins,
// as in JavaScript.
type envelope struct {
	// id is the raw "id" value, byte for byte; nil when the key is absent.
	id json.RawMessage
	// idStart and idEnd delimit id inside the message.
	idStart, idEnd int
	method         string
	hasMethod      bool
	params         json.RawMessage
	paramsStart    int
	result         json.RawMessage
}

func (e *envelope) isRequest() bool      { return e.hasMethod && e.id != nil }
func (e *envelope) isNotification() bool { return e.hasMethod && e.id == nil }
func (e *envelope) isResponse() bool     { return !e.hasMethod && e.id != nil }

// parseEnvelope reads the top-level keys of one JSON-RPC message.
func parseEnvelope(msg []byte) (envelope, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(msg))
	tok, err := dec.Token()
	if err != nil {
		return env, fmt.Errorf("parse message: %w", err)
	}
	if tok != json.Delim('{') {
		return env, errors.New("parse message: not a JSON object")
	}
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return env, fmt.Errorf("parse message: %w", err)
		}
		key, _ := keyTok.(string)
		keyEnd := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return env, fmt.Errorf("parse message: %w", err)
		}
		end := int(dec.InputOffset())
		// Between the key and the value there is only ":" and white space,
		// so the first occurrence of the value's bytes is the value.
		start := keyEnd + bytes.Index(msg[keyEnd:end], raw)
		switch key {
		case "id":
			env.id, env.idStart, env.idEnd = raw, start, start+len(raw)
		case "method":
			env.hasMethod = json.Unmarshal(raw, &env.method) == nil
		case "params":
			env.params, env.paramsStart = raw, start
		case "result":
			env.result = raw
		}
	}
	if _, err := dec.Token(); err != nil { // closing brace
		return env, fmt.Errorf("parse message: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return env, errors.New("parse message: data after the JSON object")
	}
	return env, nil
}

// splice returns msg with msg[start:end] replaced by val.
func splice(msg []byte, start, end int, val []byte) []byte {
	out := make([]byte, 0, len(msg)-(end-start)+len(val))
	out = append(out, msg[:start]...)
	out = append(out, val...)
	return append(out, msg[end:]...)
}

// findKey locates the value of key in the JSON object obj (exact key match,
// last duplicate wins) and returns its bounds, or ok == false.
func findKey(obj []byte, key string) (start, end int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		keyEnd := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, false
		}
		if k, _ := keyTok.(string); k == key {
			e := int(dec.InputOffset())
			start = keyEnd + bytes.Index(obj[keyEnd:e], raw)
			end, ok = start+len(raw), true
		}
	}
	return start, end, ok
}

// upstreamID parses an id the bridge assigned (a positive integer).
func upstreamID(raw json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil && n > 0
}

// errorResponse builds a JSON-RPC error response carrying the exact raw id.
func errorResponse(id json.RawMessage, code int, message string) []byte {
	m, _ := json.Marshal(message)
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%s}}`, id, code, m)
}

// protocolVersionOf returns result.protocolVersion of an initialize result.
func protocolVersionOf(result json.RawMessage) string {
	start, end, ok := findKey(result, "protocolVersion")
	if !ok {
		return ""
	}
	var v string
	if json.Unmarshal(result[start:end], &v) != nil {
		return ""
	}
	return v
}

// normalizeMessage checks that data is one JSON value and removes any line
// breaks outside strings, so that the relay can write it as one line.
func normalizeMessage(data []byte) ([]byte, error) {
	data = bytes.TrimSpace(data)
	if !bytes.ContainsAny(data, "\r\n") {
		if !json.Valid(data) {
			return nil, errors.New("invalid JSON")
		}
		return data, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// splitBatch returns the elements of a JSON array, or data itself.
func splitBatch(data []byte) ([][]byte, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '[' {
		return [][]byte{data}, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return nil, err
	}
	out := make([][]byte, len(elems))
	for i, e := range elems {
		out[i] = e
	}
	return out, nil
}
