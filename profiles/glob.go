package profiles

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// A glob is a compiled pattern. Only '*', '?' and (for URIs) "**" are
// special; every other character, '[' and '\\' included, matches itself.
//
// Matching simulates the pattern as a small automaton over the runes of the
// subject, tracking the set of reachable pattern positions, so it costs at
// most O(len(subject) × len(pattern)) whatever the pattern: no input can
// make it backtrack exponentially.
type glob struct {
	pattern string
	toks    []globToken
	literal bool // no metacharacters: plain string comparison
	uri     bool // '*' and '?' stop at '/'
}

type globKind uint8

const (
	globLit  globKind = iota // one specific rune
	globOne                  // '?': one rune (not '/' in URI mode)
	globStar                 // '*': any run (without '/' in URI mode)
	globAny                  // "**" in URI mode: any run, '/' included
)

type globToken struct {
	kind globKind
	r    rune
}

// errEmptyPattern and errBadUTF8 are reported (with a position) by Parse.
var (
	errEmptyPattern = errors.New("empty pattern")
	errBadUTF8      = errors.New("pattern is not valid UTF-8")
)

// compileGlob compiles pattern. With uri set, '*' and '?' stop at '/' and
// "**" crosses it; otherwise '*' and "**" both match any run of runes.
func compileGlob(pattern string, uri bool) (*glob, error) {
	if pattern == "" {
		return nil, errEmptyPattern
	}
	if !utf8.ValidString(pattern) {
		return nil, errBadUTF8
	}
	g := &glob{pattern: pattern, uri: uri}
	if !strings.ContainsAny(pattern, "*?") {
		g.literal = true
		return g, nil
	}
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '?':
			g.toks = append(g.toks, globToken{kind: globOne})
		case '*':
			kind := globStar
			for i+1 < len(rs) && rs[i+1] == '*' {
				i++
				kind = globAny
			}
			if !uri {
				kind = globAny
			}
			// Adjacent stars add nothing; keep the widest.
			if n := len(g.toks); n > 0 && g.toks[n-1].kind >= globStar {
				g.toks[n-1].kind = max(g.toks[n-1].kind, kind)
				continue
			}
			g.toks = append(g.toks, globToken{kind: kind})
		default:
			g.toks = append(g.toks, globToken{kind: globLit, r: rs[i]})
		}
	}
	return g, nil
}

// match reports whether s matches the whole pattern.
func (g *glob) match(s string) bool {
	if g.literal {
		return s == g.pattern
	}
	n := len(g.toks)
	var buf [2][32]bool // typical patterns need no allocation
	cur, next := buf[0][:0], buf[1][:0]
	if n+1 > len(buf[0]) {
		cur, next = make([]bool, 0, n+1), make([]bool, 0, n+1)
	}
	cur, next = cur[:n+1], next[:n+1]
	cur[0] = true
	g.closure(cur)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// An invalid byte is a rune of its own that no literal equals.
			r = -1 - rune(s[i])
		}
		i += size
		clear(next)
		alive := false
		for j, t := range g.toks {
			if !cur[j] {
				continue
			}
			switch t.kind {
			case globLit:
				if r == t.r {
					next[j+1], alive = true, true
				}
			case globOne:
				if r != '/' || !g.uri {
					next[j+1], alive = true, true
				}
			case globStar:
				if r != '/' {
					next[j], alive = true, true
				}
			case globAny:
				next[j], alive = true, true
			}
		}
		if !alive {
			return false
		}
		g.closure(next)
		cur, next = next, cur
	}
	return cur[n]
}

// closure adds the positions reachable through stars matching nothing.
func (g *glob) closure(set []bool) {
	for j, t := range g.toks {
		if set[j] && t.kind >= globStar {
			set[j+1] = true
		}
	}
}
