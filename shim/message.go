package shim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
)

// message is what the relay reads of one JSON-RPC message: the raw bytes and
// the raw members of its envelope. Members are located by exact key, the last
// duplicate winning, as JavaScript's JSON.parse does; nothing is decoded
// through Go's case-insensitive struct matching.
type message struct {
	raw       []byte
	id        []byte // raw id token; nil when the message has no "id"
	method    string
	hasMethod bool
	params    []byte
	result    []byte
	err       []byte
	// ambiguous is set when a top-level key differs from an envelope key
	// only in case ("ID", "Method"): a peer decoding case-insensitively, as
	// Go's encoding/json does, could read that one instead; and when an
	// envelope key occurs twice, which a peer keeping the first duplicate
	// reads differently.
	ambiguous bool
}

// envelopeKeys are the members the relay reads at the top level.
var envelopeKeys = []string{"jsonrpc", "id", "method", "params", "result", "error"}

func (m *message) isRequest() bool      { return m.hasMethod && m.id != nil }
func (m *message) isNotification() bool { return m.hasMethod && m.id == nil }
func (m *message) isResponse() bool     { return !m.hasMethod && m.id != nil }

var (
	errNotObject = errors.New("a JSON-RPC message must be a JSON object")
	errBadMethod = errors.New(`"method" must be a string`)
)

// parseMessage reads the envelope of a message that is already known to be
// valid JSON. For an object with a bad envelope it returns the error and a
// message holding only the raw bytes and the id, so that the answer can
// carry the id.
func parseMessage(raw []byte) (*message, error) {
	m := &message{raw: raw}
	var perr error
	var seen [6]bool // envelopeKeys met so far
	ok := eachMember(raw, func(key string, val []byte) {
		// A second "result" (or "id", …) is read by a first-duplicate
		// reader where the relay reads the last: as ambiguous as "Result".
		if i := slices.Index(envelopeKeys, key); i >= 0 {
			if seen[i] {
				m.ambiguous = true
			}
			seen[i] = true
		}
		switch key {
		case "id":
			m.id = val
		case "method":
			var s string
			if err := json.Unmarshal(val, &s); err != nil {
				perr = errBadMethod
				return
			}
			m.method, m.hasMethod = s, true
		case "params":
			m.params = val
		case "result":
			m.result = val
		case "error":
			m.err = val
		default:
			for _, k := range envelopeKeys {
				if key != k && strings.EqualFold(key, k) {
					m.ambiguous = true
				}
			}
		}
	})
	if !ok {
		return nil, errNotObject
	}
	if perr != nil {
		// The id is still the caller's to answer with.
		return &message{raw: raw, id: m.id}, perr
	}
	return m, nil
}

// isBatch reports whether raw is a JSON array (a JSON-RPC batch).
func isBatch(raw []byte) bool {
	i := skipSpace(raw, 0)
	return i < len(raw) && raw[i] == '['
}

// eachMember calls fn for each member of the JSON object raw, in order, with
// the decoded key and the raw value. It reports false when raw is not an
// object. raw must be valid JSON.
func eachMember(raw []byte, fn func(key string, val []byte)) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return true
	}
	for i < len(raw) {
		kEnd := skipString(raw, i)
		key := decodeKey(raw[i:kEnd])
		i = skipSpace(raw, kEnd)
		i = skipSpace(raw, i+1) // ':'
		vEnd := skipValue(raw, i)
		fn(key, raw[i:vEnd])
		i = skipSpace(raw, vEnd)
		if i >= len(raw) || raw[i] == '}' {
			break
		}
		i = skipSpace(raw, i+1) // ','
	}
	return true
}

// member returns the raw value of key in the object raw (last duplicate wins),
// or nil.
func member(raw []byte, key string) []byte {
	var v []byte
	eachMember(raw, func(k string, val []byte) {
		if k == key {
			v = val
		}
	})
	return v
}

// stringMember returns the string value of key in the object raw. It reports
// false when the key is absent, is not a string, or is ambiguous: when the
// object holds the key twice (a reader keeping the first duplicate would see
// another value than one keeping the last) or also holds a key that differs
// from key only in case (a server decoding with Go's case-insensitive
// matching could read that one instead). The relay then refuses rather than
// guess.
func stringMember(raw []byte, key string) (string, bool) {
	var (
		val   []byte
		other bool
	)
	eachMember(raw, func(k string, v []byte) {
		switch {
		case k == key:
			if val != nil {
				other = true
			}
			val = v
		case strings.EqualFold(k, key):
			other = true
		}
	})
	if val == nil || other {
		return "", false
	}
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return "", false
	}
	return s, true
}

// eachElement calls fn for each element of the JSON array raw. It reports
// false when raw is not an array.
func eachElement(raw []byte, fn func(elem []byte)) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return true
	}
	for i < len(raw) {
		end := skipValue(raw, i)
		fn(raw[i:end])
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] == ']' {
			break
		}
		i = skipSpace(raw, i+1)
	}
	return true
}

// setMember returns a copy of the object raw with key set to val: the last
// member named key has its value replaced in place, or a member is appended.
// Every other byte is kept.
func setMember(raw []byte, key string, val []byte) []byte {
	start, end := -1, -1
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return raw
	}
	i = skipSpace(raw, i+1)
	closing := i
	if !(i < len(raw) && raw[i] == '}') {
		for i < len(raw) {
			kEnd := skipString(raw, i)
			k := decodeKey(raw[i:kEnd])
			i = skipSpace(raw, kEnd)
			i = skipSpace(raw, i+1)
			vEnd := skipValue(raw, i)
			if k == key {
				start, end = i, vEnd
			}
			i = skipSpace(raw, vEnd)
			if i >= len(raw) || raw[i] == '}' {
				break
			}
			i = skipSpace(raw, i+1)
		}
		closing = i
	}
	out := make([]byte, 0, len(raw)+len(key)+len(val)+4)
	if start >= 0 {
		out = append(out, raw[:start]...)
		out = append(out, val...)
		return append(out, raw[end:]...)
	}
	kb, _ := json.Marshal(key)
	out = append(out, raw[:closing]...)
	// Whether the object was empty decides the separator.
	if bytes.ContainsAny(bytes.TrimSpace(raw[:closing]), ":") {
		out = append(out, ',')
	}
	out = append(out, kb...)
	out = append(out, ':')
	out = append(out, val...)
	return append(out, raw[closing:]...)
}

func decodeKey(quoted []byte) string {
	if bytes.IndexByte(quoted, '\\') < 0 && len(quoted) >= 2 {
		return string(quoted[1 : len(quoted)-1])
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return ""
	}
	return s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the JSON string starting at b[i].
func skipString(b []byte, i int) int {
	i++ // opening quote
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		q := i + j
		// An escaped quote has an odd run of backslashes before it.
		n := 0
		for k := q - 1; k >= i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// idKey turns a raw JSON-RPC id into a map key. Two ids a server may not
// tell apart meet at one key: "a" and "\u0061"; and, because JavaScript and
// Go SDK servers read numbers as float64, 1, 1.0, 1e0 and -0/0, and
// 9007199254740993 and 9007199254740992. The relay refuses a second request
// under a key in flight, and answers the host with the id bytes it sent.
// ok is false for ids MCP does not allow: anything but a string or an
// integer.
func idKey(raw []byte) (key string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	if raw[0] == '"' {
		return "s" + decodeKey(raw), true
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

// hasKeyVariants reports whether the object raw has a key that equals key
// only when case is ignored, or has key more than once.
func hasKeyVariants(raw []byte, key string) bool {
	found, exact := false, 0
	eachMember(raw, func(k string, _ []byte) {
		switch {
		case k == key:
			exact++
		case strings.EqualFold(k, key):
			found = true
		}
	})
	return found || exact > 1
}

// dropKeyVariants returns a copy of the object raw without the members whose
// key equals key only when case is ignored and without all but the last
// member named key: what is left is what every reader, first or last
// duplicate winning, case-sensitive or not, reads for key.
func dropKeyVariants(raw []byte, key string) []byte {
	exact := 0
	eachMember(raw, func(k string, _ []byte) {
		if k == key {
			exact++
		}
	})
	out := []byte{'{'}
	n, seen := 0, 0
	eachMember(raw, func(k string, v []byte) {
		if k == key {
			seen++
			if seen < exact {
				return
			}
		} else if strings.EqualFold(k, key) {
			return
		}
		if n > 0 {
			out = append(out, ',')
		}
		kb, _ := json.Marshal(k)
		out = append(append(append(out, kb...), ':'), v...)
		n++
	})
	return append(out, '}')
}
