package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"
)

// encodings returns the spellings of value that are searched for, the raw
// value first. The result may contain duplicates; the caller dedupes.
func encodings(value string) []string {
	out := []string{value}

	// JSON string escaping, as different encoders spell it.
	out = append(out,
		jsonEscape(value, false, false),
		jsonEscape(value, true, false),
		jsonEscape(value, false, true),
		goJSONEscape(value),
	)

	// Base64: whole value, then the value embedded in a longer blob.
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, enc.EncodeToString([]byte(value)))
		out = append(out, enc.WithPadding(base64.NoPadding).EncodeToString([]byte(value)))
		out = append(out, base64Embedded(enc, value)...)
	}

	// Percent-encoding, upper- and lower-case hex digits.
	for _, s := range []string{url.QueryEscape(value), url.PathEscape(value)} {
		out = append(out, s, lowerPercentHex(s))
	}

	// Hex.
	h := hex.EncodeToString([]byte(value))
	out = append(out, h, strings.ToUpper(h))
	return out
}

// base64Embedded returns, for each of the three positions the value's first
// byte can take within a 3-byte base64 group, the run of encoded characters
// whose 6 bits all come from the value. Those characters are the same
// whatever bytes precede or follow the value in the encoded blob, so they
// find the value anywhere inside a longer base64 string.
func base64Embedded(enc *base64.Encoding, value string) []string {
	raw := enc.WithPadding(base64.NoPadding)
	var out []string
	for align := range 3 {
		buf := make([]byte, align+len(value))
		copy(buf[align:], value)
		encoded := raw.EncodeToString(buf)
		startBit := 8 * align
		endBit := 8 * (align + len(value))
		first := (startBit + 5) / 6 // first character wholly inside the value
		last := endBit / 6          // one past the last such character
		if last > first {
			out = append(out, encoded[first:last])
		}
	}
	return out
}

// lowerPercentHex rewrites the hex digits of every %XX escape in s in lower
// case.
func lowerPercentHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = lowerHex(b[i+1])
			b[i+2] = lowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + ('a' - 'A')
	}
	return c
}

// jsonEscape returns the body of a JSON string literal for s (without the
// quotes) with minimal escaping, optionally also escaping '/' and all
// non-ASCII characters (as \uXXXX, surrogate pairs beyond the BMP).
func jsonEscape(s string, slash, asciiOnly bool) string {
	var b []byte
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Not UTF-8: encoders differ; keep the byte as it is.
			b = append(b, s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == '/' && slash:
			b = append(b, '\\', '/')
		case r >= utf8.RuneSelf && asciiOnly:
			if r >= 0x10000 {
				r -= 0x10000
				b = appendU(b, 0xd800+(r>>10))
				b = appendU(b, 0xdc00+(r&0x3ff))
			} else {
				b = appendU(b, r)
			}
		default:
			b = appendEscapedRune(b, r)
		}
	}
	return string(b)
}

// goJSONEscape returns the body of the string literal that encoding/json
// produces for s, which also escapes <, > and & for HTML safety.
func goJSONEscape(s string) string {
	b, err := json.Marshal(s)
	if err != nil || len(b) < 2 {
		return s
	}
	return string(b[1 : len(b)-1])
}

const hexDigits = "0123456789abcdef"

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u',
		hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendEscapedRune appends r as it appears inside a minimally escaped JSON
// string literal.
func appendEscapedRune(b []byte, r rune) []byte {
	switch r {
	case '"', '\\':
		return append(b, '\\', byte(r))
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	}
	if r < 0x20 {
		return appendU(b, r)
	}
	return utf8.AppendRune(b, r)
}
