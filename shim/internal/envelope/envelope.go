package envelope

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Envelope is what a reader of JSON-RPC takes from one message: the raw
// members of its envelope, each with its bounds in the message.
type Envelope struct {
	// ID is the raw "id" token, byte for byte; nil when the message has no
	// "id". IDStart and IDEnd delimit it in the message.
	ID             []byte
	IDStart, IDEnd int
	// Method is the last "method" member that decoded as a string (null
	// decodes as ""); HasMethod reports whether the last "method" member
	// did, and
	// BadMethod whether any "method" member is not a string.
	Method    string
	HasMethod bool
	BadMethod bool
	// Params is the raw "params" value, starting at ParamsStart.
	Params      []byte
	ParamsStart int
	Result      []byte
	Error       []byte
	// Ambiguous is set when a top-level key differs from an envelope key
	// only in case ("ID", "Method"): a peer decoding case-insensitively,
	// as Go's encoding/json does, could read that one instead; and when an
	// envelope key occurs twice, which a peer keeping the first duplicate
	// reads differently.
	Ambiguous bool
}

// Keys are the envelope's members, read at the top level of a message.
var Keys = []string{"jsonrpc", "id", "method", "params", "result", "error"}

// IsRequest reports whether the message is a request (a method and an id).
func (e *Envelope) IsRequest() bool { return e.HasMethod && e.ID != nil }

// IsNotification reports whether the message is a notification (a method
// and no id).
func (e *Envelope) IsNotification() bool { return e.HasMethod && e.ID == nil }

// IsResponse reports whether the message is a response (an id and no
// method).
func (e *Envelope) IsResponse() bool { return !e.HasMethod && e.ID != nil }

// Parse reads the envelope of the message raw, which must be valid JSON. It
// reports false when raw is not a JSON object.
func Parse(raw []byte) (Envelope, bool) {
	var e Envelope
	var seen [6]bool // Keys met so far
	ok := Each(raw, func(key string, start, end int) {
		val := raw[start:end]
		if i := slices.Index(Keys, key); i >= 0 {
			if seen[i] {
				e.Ambiguous = true
			}
			seen[i] = true
		}
		switch key {
		case "id":
			e.ID, e.IDStart, e.IDEnd = val, start, end
		case "method":
			var m string
			e.HasMethod = json.Unmarshal(val, &m) == nil
			if e.HasMethod {
				e.Method = m
			} else {
				e.BadMethod = true
			}
		case "params":
			e.Params, e.ParamsStart = val, start
		case "result":
			e.Result = val
		case "error":
			e.Error = val
		default:
			for _, k := range Keys {
				if key != k && strings.EqualFold(key, k) {
					e.Ambiguous = true
				}
			}
		}
	})
	return e, ok
}

// IDKey turns a raw JSON-RPC id into a map key. Two ids a server may not
// tell apart meet at one key: "a" and "\u0061"; and, because JavaScript and
// Go SDK servers read numbers as float64, 1, 1.0, 1e0 and -0/0, and
// 9007199254740993 and 9007199254740992. ok is false for ids MCP does not
// allow: anything but a string or an integer.
func IDKey(raw []byte) (key string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	if raw[0] == '"' {
		return "s" + DecodeKey(raw), true
	}
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return "", false // null, objects, arrays, booleans
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
		return "", false
	}
	if f == 0 {
		f = 0 // -0 is 0
	}
	return "n" + strconv.FormatFloat(f, 'g', -1, 64), true
}
