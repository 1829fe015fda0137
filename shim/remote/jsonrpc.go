package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	scan "github.com/mcp-sandbox/mcp-sandbox/shim/internal/envelope"
)

// JSON-RPC error codes used in responses the bridge synthesizes.
const (
	// codeInternalError reports that the bridge could not deliver a request
	// or its response (transport failure, authorization failure, session
	// lost).
	codeInternalError = -32603
)

// envelope is the part of a JSON-RPC message the bridge reads, located by
// the shared scanner: keys are matched exactly (not case-insensitively) and
// the last duplicate key wins, as in JavaScript.
type envelope = scan.Envelope

// parseEnvelope reads the top-level keys of one JSON-RPC message.
func parseEnvelope(msg []byte) (envelope, error) {
	if !json.Valid(msg) {
		return envelope{}, errors.New("parse message: invalid JSON")
	}
	e, ok := scan.Parse(msg)
	if !ok {
		return envelope{}, errors.New("parse message: not a JSON object")
	}
	return e, nil
}

// splice returns msg with msg[start:end] replaced by val.
var splice = scan.Splice

// findKey locates the value of key in the JSON object obj (exact key match,
// last duplicate wins) and returns its bounds, or ok == false.
func findKey(obj []byte, key string) (start, end int, ok bool) {
	if !json.Valid(obj) {
		return 0, 0, false
	}
	return scan.Find(obj, key)
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
