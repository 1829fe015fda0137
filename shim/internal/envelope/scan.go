package envelope

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Each calls fn for each member of the JSON object raw, in order, with the
// decoded key and the bounds of the raw value, raw[start:end]. It reports
// false when raw is not an object. raw must be valid JSON.
func Each(raw []byte, fn func(key string, start, end int)) bool {
	i := SkipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = SkipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return true
	}
	for i < len(raw) {
		kEnd := SkipString(raw, i)
		key := DecodeKey(raw[i:kEnd])
		i = SkipSpace(raw, kEnd)
		i = SkipSpace(raw, i+1) // ':'
		vEnd := SkipValue(raw, i)
		fn(key, i, vEnd)
		i = SkipSpace(raw, vEnd)
		if i >= len(raw) || raw[i] == '}' {
			break
		}
		i = SkipSpace(raw, i+1) // ','
	}
	return true
}

// EachMember is Each with the raw value instead of its bounds.
func EachMember(raw []byte, fn func(key string, val []byte)) bool {
	return Each(raw, func(key string, start, end int) { fn(key, raw[start:end]) })
}

// Find returns the bounds of the value of key in the object raw (exact key,
// last duplicate wins), or ok == false.
func Find(raw []byte, key string) (start, end int, ok bool) {
	Each(raw, func(k string, s, e int) {
		if k == key {
			start, end, ok = s, e, true
		}
	})
	return start, end, ok
}

// Member returns the raw value of key in the object raw (last duplicate
// wins), or nil.
func Member(raw []byte, key string) []byte {
	start, end, ok := Find(raw, key)
	if !ok {
		return nil
	}
	return raw[start:end]
}

// StringMember returns the string value of key in the object raw. It
// reports false when the key is absent, is not a string, or is ambiguous:
// when the object holds the key twice (a reader keeping the first duplicate
// would see another value than one keeping the last) or also holds a key
// that differs from key only in case (a server decoding with Go's
// case-insensitive matching could read that one instead).
func StringMember(raw []byte, key string) (string, bool) {
	var (
		val   []byte
		other bool
	)
	EachMember(raw, func(k string, v []byte) {
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

// IsBatch reports whether raw is a JSON array (a JSON-RPC batch).
func IsBatch(raw []byte) bool {
	i := SkipSpace(raw, 0)
	return i < len(raw) && raw[i] == '['
}

// EachElement calls fn for each element of the JSON array raw. It reports
// false when raw is not an array.
func EachElement(raw []byte, fn func(elem []byte)) bool {
	i := SkipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return false
	}
	i = SkipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return true
	}
	for i < len(raw) {
		end := SkipValue(raw, i)
		fn(raw[i:end])
		i = SkipSpace(raw, end)
		if i >= len(raw) || raw[i] == ']' {
			break
		}
		i = SkipSpace(raw, i+1)
	}
	return true
}

// Splice returns a copy of msg with msg[start:end] replaced by val.
func Splice(msg []byte, start, end int, val []byte) []byte {
	out := make([]byte, 0, len(msg)-(end-start)+len(val))
	out = append(out, msg[:start]...)
	out = append(out, val...)
	return append(out, msg[end:]...)
}

// Set returns a copy of the object raw with key set to val: the last member
// named key has its value replaced in place, or a member is appended. Every
// other byte is kept.
func Set(raw []byte, key string, val []byte) []byte {
	i := SkipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return raw
	}
	if start, end, ok := Find(raw, key); ok {
		return Splice(raw, start, end, val)
	}
	closing := closingBrace(raw)
	out := make([]byte, 0, len(raw)+len(key)+len(val)+4)
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

// closingBrace returns the index of the brace closing the object raw.
func closingBrace(raw []byte) int {
	i := SkipSpace(raw, 0)
	closing := SkipSpace(raw, i+1)
	Each(raw, func(_ string, _, end int) { closing = SkipSpace(raw, end) })
	return closing
}

// HasKeyVariants reports whether the object raw has a key that equals key
// only when case is ignored, or has key more than once.
func HasKeyVariants(raw []byte, key string) bool {
	found, exact := false, 0
	Each(raw, func(k string, _, _ int) {
		switch {
		case k == key:
			exact++
		case strings.EqualFold(k, key):
			found = true
		}
	})
	return found || exact > 1
}

// DropKeyVariants returns a copy of the object raw without the members
// whose key equals key only when case is ignored and without all but the
// last member named key: what is left is what every reader, first or last
// duplicate winning, case-sensitive or not, reads for key.
func DropKeyVariants(raw []byte, key string) []byte {
	exact := 0
	Each(raw, func(k string, _, _ int) {
		if k == key {
			exact++
		}
	})
	out := []byte{'{'}
	n, seen := 0, 0
	EachMember(raw, func(k string, v []byte) {
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

// DecodeKey decodes the quoted JSON string quoted; "" when it is malformed.
func DecodeKey(quoted []byte) string {
	if bytes.IndexByte(quoted, '\\') < 0 && len(quoted) >= 2 {
		return string(quoted[1 : len(quoted)-1])
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return ""
	}
	return s
}

// SkipSpace returns the index of the first byte at or after b[i] that is
// not JSON white space.
func SkipSpace(b []byte, i int) int {
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

// SkipString returns the index just past the JSON string starting at b[i]
// (its opening quote), or len(b) if it is unterminated.
func SkipString(b []byte, i int) int {
	end := StringEnd(b, i+1)
	return min(end+1, len(b))
}

// StringEnd returns the index of the quote closing the JSON string whose
// content starts at b[start], or len(b) if the string is unterminated.
func StringEnd(b []byte, start int) int {
	for k := start; ; {
		j := bytes.IndexByte(b[k:], '"')
		if j < 0 {
			return len(b)
		}
		q := k + j
		// An escaped quote has an odd run of backslashes before it.
		n := 0
		for q-1-n >= start && b[q-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return q
		}
		k = q + 1
	}
}

// SkipValue returns the index just past the JSON value starting at b[i].
func SkipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = SkipString(b, i)
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
