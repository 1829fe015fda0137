package profiles

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The TOML library reports positions for syntax errors only; it keeps key
// positions private. Validation needs the line and column of every key and
// value, so after the library has accepted the document, a small scanner
// walks the same bytes once more and records where each key path starts.
// It relies on the input being valid TOML (the library checked it first),
// but it must still terminate and never panic on anything.

// position is a 1-based line and byte column.
type position struct {
	line, col int
}

// posIndex maps a key path to the position of its key and of its value.
// Paths are joined with pathSep; array elements are addressed by "#i"
// segments (see elem).
type posIndex struct {
	keys map[string]position
	vals map[string]position
}

const pathSep = "\x00"

// joinPath turns path segments into a posIndex key.
func joinPath(path []string) string { return strings.Join(path, pathSep) }

// elem is the path segment naming element i of an array.
func elem(i int) string { return "#" + strconv.Itoa(i) }

// key returns the position of the key at path, falling back to its closest
// recorded ancestor and finally to 1:1.
func (x *posIndex) key(path []string) position {
	for n := len(path); n > 0; n-- {
		p := joinPath(path[:n])
		if pos, ok := x.keys[p]; ok {
			return pos
		}
		if pos, ok := x.vals[p]; ok {
			return pos
		}
	}
	return position{1, 1}
}

// val returns the position of the value at path, falling back to key.
func (x *posIndex) val(path []string) position {
	if pos, ok := x.vals[joinPath(path)]; ok {
		return pos
	}
	return x.key(path)
}

// indexPositions scans a TOML document and records key and value positions.
func indexPositions(src []byte) *posIndex {
	s := &scanner{
		src:  src,
		line: 1,
		idx:  &posIndex{keys: map[string]position{}, vals: map[string]position{}},
	}
	s.document()
	return s.idx
}

type scanner struct {
	src       []byte
	i         int
	line      int
	lineStart int
	idx       *posIndex
}

func (s *scanner) pos() position { return position{s.line, s.i - s.lineStart + 1} }

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

// next consumes one byte, keeping line accounting.
func (s *scanner) next() {
	if s.eof() {
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
		s.lineStart = s.i + 1
	}
	s.i++
}

// skipSpace skips blanks, and also newlines and comments when multiline.
func (s *scanner) skipSpace(multiline bool) {
	for !s.eof() {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t':
			s.next()
		case multiline && (c == '\n' || c == '\r'):
			s.next()
		case multiline && c == '#':
			s.skipLine()
		default:
			return
		}
	}
}

// skipLine skips to the next newline (not consuming it).
func (s *scanner) skipLine() {
	for !s.eof() && s.src[s.i] != '\n' {
		s.next()
	}
}

func (s *scanner) document() {
	var table []string
	for !s.eof() {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		start := s.i
		if s.src[s.i] == '[' {
			s.next()
			if s.peek(0) == '[' {
				s.next()
			}
			table = s.keyPath(nil)
			s.skipLine()
		} else {
			s.keyValue(table)
			s.skipSpace(false)
			if s.peek(0) == '#' {
				s.skipLine()
			}
		}
		if s.i == start { // unexpected byte: never loop forever
			s.next()
		}
	}
}

// keyValue scans `key = value` inside the table at base.
func (s *scanner) keyValue(base []string) {
	path := s.keyPath(base)
	s.skipSpace(false)
	if s.peek(0) != '=' {
		return
	}
	s.next()
	s.skipSpace(false)
	s.value(path)
}

// keyPath scans a dotted key, records the position of every segment below
// base and returns the full path.
func (s *scanner) keyPath(base []string) []string {
	path := append([]string(nil), base...)
	for {
		s.skipSpace(false)
		pos := s.pos()
		seg, ok := s.keySegment()
		if !ok {
			return path
		}
		path = append(path, seg)
		if p := joinPath(path); s.idx.keys[p] == (position{}) {
			s.idx.keys[p] = pos
		}
		s.skipSpace(false)
		if s.peek(0) != '.' {
			return path
		}
		s.next()
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (s *scanner) keySegment() (string, bool) {
	switch s.peek(0) {
	case '"':
		return s.basicString(), true
	case '\'':
		s.next()
		start := s.i
		for !s.eof() && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
			s.next()
		}
		seg := string(s.src[start:s.i])
		if s.peek(0) == '\'' {
			s.next()
		}
		return seg, true
	}
	start := s.i
	for !s.eof() && isBare(s.src[s.i]) {
		s.next()
	}
	return string(s.src[start:s.i]), s.i > start
}

// basicString scans a single-line "..." string and returns its decoded value.
func (s *scanner) basicString() string {
	s.next() // opening quote
	var b strings.Builder
	for !s.eof() {
		c := s.src[s.i]
		switch {
		case c == '"':
			s.next()
			return b.String()
		case c == '\n':
			return b.String()
		case c == '\\':
			s.next()
			s.escape(&b)
		default:
			b.WriteByte(c)
			s.next()
		}
	}
	return b.String()
}

// escape decodes the escape sequence after a backslash.
func (s *scanner) escape(b *strings.Builder) {
	if s.eof() {
		return
	}
	c := s.src[s.i]
	s.next()
	var digits int
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 't':
		b.WriteByte('\t')
	case 'n':
		b.WriteByte('\n')
	case 'f':
		b.WriteByte('\f')
	case 'r':
		b.WriteByte('\r')
	case 'e':
		b.WriteByte(0x1b)
	case 'x':
		digits = 2
	case 'u':
		digits = 4
	case 'U':
		digits = 8
	default: // '"', '\\' and anything the library let through
		b.WriteByte(c)
	}
	if digits == 0 {
		return
	}
	end := min(s.i+digits, len(s.src))
	n, err := strconv.ParseUint(string(s.src[s.i:end]), 16, 32)
	for s.i < end {
		s.next()
	}
	if err == nil && utf8.ValidRune(rune(n)) {
		b.WriteRune(rune(n))
	}
}

// value records the position of the value at path and skips over it,
// descending into arrays and inline tables.
func (s *scanner) value(path []string) {
	s.idx.vals[joinPath(path)] = s.pos()
	switch {
	case s.hasPrefix(`"""`):
		s.multiline(`"""`, true)
	case s.hasPrefix(`'''`):
		s.multiline(`'''`, false)
	case s.peek(0) == '"':
		s.basicString()
	case s.peek(0) == '\'':
		s.next()
		for !s.eof() && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
			s.next()
		}
		if s.peek(0) == '\'' {
			s.next()
		}
	case s.peek(0) == '[':
		s.next()
		for n := 0; ; {
			s.skipSpace(true)
			switch s.peek(0) {
			case 0, ']':
				s.next()
				return
			case ',':
				s.next()
				continue
			}
			start := s.i
			s.value(append(path[:len(path):len(path)], elem(n)))
			n++
			if s.i == start {
				s.next()
			}
		}
	case s.peek(0) == '{':
		s.next()
		for {
			s.skipSpace(true)
			switch s.peek(0) {
			case 0, '}':
				s.next()
				return
			case ',':
				s.next()
				continue
			}
			start := s.i
			s.keyValue(path[:len(path):len(path)])
			if s.i == start {
				s.next()
			}
		}
	default: // number, boolean, date-time: up to a delimiter
		for !s.eof() {
			switch s.src[s.i] {
			case ',', ']', '}', '#', '\n', '\r':
				return
			}
			s.next()
		}
	}
}

func (s *scanner) hasPrefix(p string) bool {
	return strings.HasPrefix(string(s.src[s.i:min(s.i+len(p), len(s.src))]), p)
}

// multiline skips a multi-line string delimited by delim, including up to
// two extra quote characters that belong to the content.
func (s *scanner) multiline(delim string, escapes bool) {
	for range delim {
		s.next()
	}
	for !s.eof() {
		if escapes && s.src[s.i] == '\\' {
			s.next()
			s.next()
			continue
		}
		if s.hasPrefix(delim) {
			for range delim {
				s.next()
			}
			for k := 0; k < 2 && s.peek(0) == delim[0]; k++ {
				s.next()
			}
			return
		}
		s.next()
	}
}
