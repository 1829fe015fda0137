package redact

import (
	"cmp"
	"slices"
	"unicode/utf8"
)

// The prefilter hashes windowLen-byte windows into a bitset of 1<<bitsLog
// bits (8 KiB, so it stays in L1 cache while a message is scanned).
const (
	windowLen = 4
	bitsLog   = 16
	hashMul   = 0x9e3779b1 // a prime near 2^32 divided by the golden ratio
)

// maxPasses bounds how often a scrubbed string is scanned again. A second
// pass is needed only when a marker and the text next to it happen to spell
// a secret again, which takes a value containing '[' or ']'.
const maxPasses = 4

// A needle is one spelling of one secret.
type needle struct {
	text   string
	secret int // index into Redactor.markers
}

// A probe points at offset off of needle needle: where a window starts, in
// index.probes, or where a byte sits, in index.at and its refinements.
type probe struct {
	needle int32
	off    int32
}

// An index finds every occurrence of a set of needles, all at least
// step+windowLen-1 bytes long, in one sampled pass.
//
// Positions 0, step, 2*step, ... are probed. An occurrence starting at p
// covers exactly one probed position q in [p, p+step), and the window there
// lies inside the occurrence because the needle is at least
// step+windowLen-1 bytes long. So registering the windows at offsets
// 0..step-1 of every needle finds each occurrence exactly once.
type index struct {
	needles []needle
	step    int
	bits    []uint64
	probes  map[uint32][]probe

	// at[c] lists every place byte c occurs in a needle, for checking the
	// text around an escape sequence that decodes to c. highInNeedle
	// reports whether some needle has a byte >= 0x80.
	at           [256][]probe
	highInNeedle bool

	// atNext narrows at down by the byte that follows the character in the
	// needle: key c<<8|next, where c is the first byte of a character
	// (probe.off points at it) and next the byte after that whole
	// character. atEnd[c] holds the characters that end their needle.
	atNext    map[uint16][]probe
	atNextAny []uint64 // bitset of the keys of atNext
	atEnd     [256][]probe

	// notUTF8 reports whether some needle is not valid UTF-8. Such a
	// needle can begin or end inside a multi-byte character, which the
	// escape check does not try to follow.
	notUTF8 bool

	// escapeMatters[c] is false when the escape sequence starting `\c`
	// cannot decode to a byte of any needle. It is true for 'u' and for
	// characters that do not form a valid escape.
	escapeMatters [256]bool
}

func newIndex(needles []needle) *index {
	ix := &index{
		needles: needles,
		bits:    make([]uint64, (1<<bitsLog)/64),
		probes:  make(map[uint32][]probe),
	}
	shortest := len(needles[0].text)
	for _, n := range needles {
		shortest = min(shortest, len(n.text))
		if !utf8.ValidString(n.text) {
			ix.notUTF8 = true
		}
	}
	ix.atNext = make(map[uint16][]probe)
	ix.atNextAny = make([]uint64, (1<<16)/64)
	for i, n := range needles {
		for k := 0; k < len(n.text); k++ {
			c := n.text[k]
			p := probe{needle: int32(i), off: int32(k)}
			ix.at[c] = append(ix.at[c], p)
			if c >= 0x80 {
				ix.highInNeedle = true
			}
			if next := k + seqLen(c); next < len(n.text) {
				key := uint16(c)<<8 | uint16(n.text[next])
				ix.atNext[key] = append(ix.atNext[key], p)
				ix.atNextAny[key>>6] |= 1 << (key & 63)
			} else {
				ix.atEnd[c] = append(ix.atEnd[c], p)
			}
		}
	}
	for c := range 256 {
		d := simpleEscapes[c]
		ix.escapeMatters[c] = d == 0 || len(ix.at[d]) > 0
	}
	ix.step = shortest - windowLen + 1
	for i, n := range needles {
		for off := range ix.step {
			w := load32(n.text, off)
			h := hash(w)
			ix.bits[h>>6] |= 1 << (h & 63)
			ix.probes[w] = append(ix.probes[w], probe{needle: int32(i), off: int32(off)})
		}
	}
	return ix
}

// seqLen returns the length of the UTF-8 sequence that lead byte c starts,
// or 1 if c cannot start one.
func seqLen(c byte) int {
	switch {
	case c >= 0xf0 && c < 0xf8:
		return 4
	case c >= 0xe0 && c < 0xf0:
		return 3
	case c >= 0xc0 && c < 0xe0:
		return 2
	}
	return 1
}

func hash(w uint32) uint32 { return (w * hashMul) >> (32 - bitsLog) }

func load32[T ~string | ~[]byte](s T, i int) uint32 {
	_ = s[i+3]
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

// A match is one occurrence of one needle: s[start:end].
type match struct {
	start, end int
	needle     int
}

// findAll appends to dst every occurrence of every needle in s, in no
// particular order. It does not allocate unless it finds something.
func findAll[T ~string | ~[]byte](ix *index, s T, dst []match) []match {
	step := ix.step
	bits := ix.bits
	for q := 0; q+windowLen <= len(s); q += step {
		w := load32(s, q)
		h := hash(w)
		if bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, p := range ix.probes[w] {
			text := ix.needles[p.needle].text
			start := q - int(p.off)
			end := start + len(text)
			if start >= 0 && end <= len(s) && string(s[start:end]) == text {
				dst = append(dst, match{start: start, end: end, needle: int(p.needle)})
			}
		}
	}
	return dst
}

// A span is a run of bytes to replace by the marker of one secret.
type span struct {
	start, end int
	secret     int
}

// merge sorts ms and joins overlapping matches into spans. Each span is
// named after its longest match; among equally long ones the earliest, then
// the one of the secret listed first.
func merge(ix *index, ms []match) []span {
	slices.SortFunc(ms, func(a, b match) int {
		return cmp.Or(
			cmp.Compare(a.start, b.start),
			cmp.Compare(b.end-b.start, a.end-a.start),
			cmp.Compare(ix.needles[a.needle].secret, ix.needles[b.needle].secret),
		)
	})
	spans := make([]span, 0, len(ms))
	best := 0 // length of the match naming the last span
	for _, m := range ms {
		secret := ix.needles[m.needle].secret
		if n := len(spans); n > 0 && m.start < spans[n-1].end {
			last := &spans[n-1]
			last.end = max(last.end, m.end)
			if m.end-m.start > best {
				best = m.end - m.start
				last.secret = secret
			}
			continue
		}
		spans = append(spans, span{start: m.start, end: m.end, secret: secret})
		best = m.end - m.start
	}
	return spans
}
