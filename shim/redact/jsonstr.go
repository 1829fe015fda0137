package redact

import (
	"bytes"
	"slices"
	"unicode/utf8"

	"github.com/mcp-sandbox/mcp-sandbox/shim/internal/envelope"
)

// hotSpots appends to dst, in increasing order, the positions in msg where
// a needle occurs in the raw bytes or may occur across an escape sequence.
// Every occurrence of a needle in the decoded content of a JSON string
// either appears verbatim in the raw bytes or spans an escape, so a message
// without hot spots needs no change. hotSpots does not allocate when there
// are none.
func hotSpots(ix *index, msg []byte, dst []int) []int {
	hot := dst
	for _, m := range findAll(ix, msg, nil) {
		hot = append(hot, m.start)
	}
	raw := len(hot)
	prevEnd := 0 // end of the previous escape sequence
	for i := 0; i < len(msg); {
		j := bytes.IndexByte(msg[i:], '\\')
		if j < 0 {
			break
		}
		i += j
		if i+1 < len(msg) && !ix.escapeMatters[msg[i+1]] {
			i += 2
			prevEnd = i
			continue
		}
		n := escapeLen(msg[i:])
		if escapeHot(ix, msg, prevEnd, i, n) {
			hot = append(hot, i)
		}
		i += n
		prevEnd = i
	}
	if raw > 0 && len(hot) > raw {
		slices.Sort(hot) // two sorted runs
	}
	return hot
}

// simpleEscapes maps the character after a backslash to the byte the
// two-character escape stands for; 0 means it is not one.
var simpleEscapes = [256]byte{
	'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t',
}

// escapeLen returns the length of the escape sequence at the start of esc,
// which begins with a backslash: 2, 6, or 12 for a surrogate pair.
func escapeLen(esc []byte) int {
	if len(esc) < 6 || esc[1] != 'u' {
		return min(2, len(esc))
	}
	r, ok := hex4(esc[2:])
	if !ok {
		return 2
	}
	if 0xd800 <= r && r < 0xdc00 && len(esc) >= 12 && esc[6] == '\\' && esc[7] == 'u' {
		if lo, ok := hex4(esc[8:]); ok && 0xdc00 <= lo && lo < 0xe000 {
			return 12
		}
	}
	return 6
}

// escapeHot reports whether a needle may occur across the escape sequence
// msg[i:i+n] once decoded. The text between escapes is the same raw and
// decoded, so each needle holding the decoded bytes is compared with the
// bytes around the escape, up to the neighbouring escapes; a partial match
// that reaches one of those counts as a hit, to be settled by decoding.
func escapeHot(ix *index, msg []byte, prevEnd, i, n int) bool {
	var buf [utf8.UTFMax]byte
	var d []byte
	switch {
	case n == 2 && simpleEscapes[msg[i+1]] != 0:
		buf[0] = simpleEscapes[msg[i+1]]
		d = buf[:1]
	case n == 6:
		r, _ := hex4(msg[i+2:])
		if r >= utf8.RuneSelf {
			if !ix.highInNeedle {
				return false
			}
			if ix.notUTF8 {
				return true
			}
		}
		d = buf[:utf8.EncodeRune(buf[:], r)] // a lone surrogate becomes U+FFFD
	case n == 12:
		if !ix.highInNeedle || ix.notUTF8 {
			return ix.highInNeedle
		}
		d = appendDecoded(buf[:0], msg[i:i+n])
	default:
		return true // malformed: let the slow path look
	}
	if len(ix.at[d[0]]) == 0 {
		return false
	}
	after := msg[i+n:]
	if j := bytes.IndexByte(after, '\\'); j >= 0 {
		after = after[:j]
	}
	before := msg[prevEnd:i]
	next, ok := byte(0), false
	switch {
	case len(after) > 0:
		next, ok = after[0], true
	case i+n < len(msg):
		// Another escape follows at once, as in \\\": use what it decodes to.
		next, ok = firstDecodedByte(msg[i+n:])
	}
	if !ok {
		return probesHit(ix, ix.at[d[0]], d, before, after)
	}
	if probesHit(ix, ix.atEnd[d[0]], d, before, after) {
		return true
	}
	key := uint16(d[0])<<8 | uint16(next)
	if ix.atNextAny[key>>6]&(1<<(key&63)) == 0 {
		return false
	}
	return probesHit(ix, ix.atNext[key], d, before, after)
}

// firstDecodedByte returns the first byte that the escape sequence at the
// start of esc decodes to, if that is cheap to tell.
func firstDecodedByte(esc []byte) (byte, bool) {
	if len(esc) < 2 {
		return 0, false
	}
	if c := simpleEscapes[esc[1]]; c != 0 {
		return c, true
	}
	if esc[1] != 'u' {
		return 0, false
	}
	r, ok := hex4(esc[2:])
	if !ok || (0xd800 <= r && r < 0xe000) {
		return 0, false
	}
	var buf [utf8.UTFMax]byte
	utf8.EncodeRune(buf[:], r)
	return buf[0], true
}

// probesHit reports whether one of the needle positions in probes, holding
// the decoded bytes d, agrees with the text before and after them as far as
// that text goes.
func probesHit(ix *index, probes []probe, d, before, after []byte) bool {
	for _, p := range probes {
		text := ix.needles[p.needle].text
		if len(text)-int(p.off) < len(d) || text[p.off:int(p.off)+len(d)] != string(d) {
			continue
		}
		head, tail := text[:p.off], text[int(p.off)+len(d):]
		if len(head) > 0 && len(before) > 0 && before[len(before)-1] != head[len(head)-1] {
			continue // the common miss, without a call
		}
		if len(head) <= len(before) {
			if string(before[len(before)-len(head):]) != head {
				continue
			}
		} else if string(before) != head[len(head)-len(before):] {
			continue
		}
		if len(tail) <= len(after) {
			if string(after[:len(tail)]) != tail {
				continue
			}
		} else if string(after) != tail[:len(after)] {
			continue
		}
		return true
	}
	return false
}

// hex4 decodes the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// stringEnd returns the index of the quote closing the JSON string whose
// content starts at msg[start], or len(msg) if the string is unterminated:
// the same scanner the relay reads envelopes with.
func stringEnd(msg []byte, start int) int { return envelope.StringEnd(msg, start) }

// appendDecoded appends the decoded content of the JSON string literal body
// raw to dst. Like encoding/json it turns an unpaired surrogate into
// U+FFFD. Malformed escapes, which valid JSON does not contain, are copied
// as they are.
func appendDecoded(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return append(dst, raw[i:]...)
		}
		dst = append(dst, raw[i:i+j]...)
		i += j
		if i+1 >= len(raw) {
			return append(dst, raw[i:]...)
		}
		switch c := raw[i+1]; c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw[i+2:])
			if !ok {
				dst = append(dst, raw[i:i+2]...)
				i += 2
				continue
			}
			i += 6
			if 0xd800 <= r && r < 0xdc00 && i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				if lo, ok := hex4(raw[i+2:]); ok && 0xdc00 <= lo && lo < 0xe000 {
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r) // a lone surrogate becomes U+FFFD
			continue
		default:
			dst = append(dst, raw[i:i+2]...)
		}
		i += 2
	}
	return dst
}

// appendEncoded appends s as the body of a JSON string literal, escaping
// only what JSON requires. Bytes that are not UTF-8 are copied unchanged.
func appendEncoded(dst, s []byte) []byte {
	last := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = appendEscapedRune(dst, rune(c))
		last = i + 1
	}
	return append(dst, s[last:]...)
}
