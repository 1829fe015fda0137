package profiles

import (
	"strings"
	"testing"
	"time"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern string
		uri     bool
		name    string
		want    bool
	}{
		{"get_issue", false, "get_issue", true},
		{"get_issue", false, "get_issues", false},
		{"get_issue", false, "Get_issue", false},
		{"get_*", false, "get_", true},
		{"get_*", false, "get_issue", true},
		{"get_*", false, "list_issue", false},
		{"*delete*", false, "repo_delete_file", true},
		{"*delete*", false, "delete", true},
		{"*delete*", false, "remove", false},
		{"a*b*c", false, "abc", true},
		{"a*b*c", false, "aXbYbZc", true},
		{"a*b*c", false, "aXbYbZ", false},
		{"?", false, "x", true},
		{"?", false, "", false},
		{"?", false, "xy", false},
		{"?", false, "é", true}, // one rune, two bytes
		{"get_?", false, "get_ab", false},
		{"*", false, "", true},
		{"*", false, "a/b", true},  // names: * crosses /
		{"**", false, "a/b", true}, // names: ** is *
		{"?", false, "/", true},
		{"[abc]", false, "[abc]", true}, // no classes: literal
		{"[abc]", false, "a", false},
		{`a\*`, false, `a\xyz`, true}, // no escapes: \ is literal, * is a star
		// URIs: * and ? stop at /, ** crosses it.
		{"file:///data/*", true, "file:///data/a.txt", true},
		{"file:///data/*", true, "file:///data/sub/a.txt", false},
		{"file:///data/**", true, "file:///data/sub/a.txt", true},
		{"file:///data/**", true, "file:///data/", true},
		{"file:///data/**", true, "file:///etc/passwd", false},
		{"file:///data/?", true, "file:///data/x", true},
		{"file:///data/?", true, "file:///data//", false},
		{"file:///**/*.md", true, "file:///a/b/c.md", true},
		{"file:///**/*.md", true, "file:///a/b/c.txt", false},
		{"file:///*/*.md", true, "file:///a/b/c.md", false},
		{"*://*", true, "https://x", true},
		{"***", true, "a/b", true}, // a run containing ** crosses /
		// Invalid UTF-8 in a name never equals a literal.
		{"a\uFFFD*", false, "a\xffb", false},
		{"a\uFFFD*", false, "a\uFFFDb", true},
		{"a?b", false, "a\xffb", true},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern, tt.uri)
		if err != nil {
			t.Fatalf("compileGlob(%q, %v): %v", tt.pattern, tt.uri, err)
		}
		if got := g.match(tt.name); got != tt.want {
			t.Errorf("glob %q (uri=%v) match %q = %v, want %v", tt.pattern, tt.uri, tt.name, got, tt.want)
		}
	}
}

func TestCompileGlobErrors(t *testing.T) {
	for _, pat := range []string{"", "a\xffb"} {
		if _, err := compileGlob(pat, false); err == nil {
			t.Errorf("compileGlob(%q) = nil error, want an error", pat)
		}
	}
}

// TestGlobNoBacktracking runs patterns that make naive recursive matchers
// take exponential time; the automaton must finish at once.
func TestGlobNoBacktracking(t *testing.T) {
	pattern := strings.Repeat("a*", 30) + "b"
	name := strings.Repeat("a", 5000)
	for _, uri := range []bool{false, true} {
		g, err := compileGlob(pattern, uri)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if g.match(name) {
			t.Errorf("match = true, want false")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("match took %v", d)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("get_*", "get_issue", false)
	f.Add("*delete*", "repo_delete", false)
	f.Add("file:///data/**", "file:///data/a/b", true)
	f.Add("a?c", "abc", true)
	f.Add("plain", "plain", false)
	f.Add("[x", "[x", false)
	f.Fuzz(func(t *testing.T, pattern, name string, uri bool) {
		g, err := compileGlob(pattern, uri)
		if err != nil {
			return
		}
		got := g.match(name)
		if !strings.ContainsAny(pattern, "*?") {
			if want := name == pattern; got != want {
				t.Errorf("literal %q match %q = %v, want %v", pattern, name, got, want)
			}
			if !g.match(pattern) {
				t.Errorf("literal %q does not match itself", pattern)
			}
		}
		if strings.Trim(pattern, "*") == "" && !uri && !got {
			t.Errorf("all-star %q does not match %q", pattern, name)
		}
		// Folding may only widen deny: a name matched raw must still match
		// after both sides are folded.
		if f, err := compileGlob(denyFold(pattern), uri); err == nil && got && !strings.ContainsAny(pattern, "*?") {
			if !f.match(denyFold(name)) {
				t.Errorf("folded %q does not match folded %q", denyFold(pattern), denyFold(name))
			}
		}
	})
}
