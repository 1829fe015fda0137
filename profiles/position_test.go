package profiles

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestIndexPositions(t *testing.T) {
	src := strings.Join([]string{
		`top = """`,                            // 1
		`not_a_key = 1`,                        // 2: inside a multi-line string
		`"""`,                                  // 3
		`lit = '''x'''''`,                      // 4: content ends in two quotes
		`# [fake.table]`,                       // 5
		`[ a . "b\u0063" . 'd e' ]  # comment`, // 6
		`k = [ 1, # c`,                         // 7
		`  { x = 2, y.z = "}" }, "s]" ]`,       // 8
		`dt = 1979-05-27 07:32:00Z`,            // 9
		`after = true`,                         // 10
		`[[arr]]`,                              // 11
		`	tab = "\""`,                          // 12
		`inline = { n = { deep = 1 }, "q.k" = 2 }`, // 13
	}, "\n")
	var doc map[string]any
	if _, err := toml.Decode(src, &doc); err != nil {
		t.Fatalf("test document is not valid TOML: %v", err)
	}
	idx := indexPositions([]byte(src))
	tests := []struct {
		path  []string
		value bool
		want  position
	}{
		{[]string{"top"}, false, position{1, 1}},
		{[]string{"top"}, true, position{1, 7}},
		{[]string{"not_a_key"}, false, position{1, 1}}, // unknown: falls back to 1:1
		{[]string{"lit"}, true, position{4, 7}},
		{[]string{"fake"}, false, position{1, 1}},
		{[]string{"a"}, false, position{6, 3}},
		{[]string{"a", "bc"}, false, position{6, 7}},
		{[]string{"a", "bc", "d e"}, false, position{6, 19}},
		{[]string{"a", "bc", "d e", "k"}, false, position{7, 1}},
		{[]string{"a", "bc", "d e", "k"}, true, position{7, 5}},
		{[]string{"a", "bc", "d e", "k", "#0"}, true, position{7, 7}},
		{[]string{"a", "bc", "d e", "k", "#1"}, true, position{8, 3}},
		{[]string{"a", "bc", "d e", "k", "#1", "x"}, false, position{8, 5}},
		{[]string{"a", "bc", "d e", "k", "#1", "y", "z"}, false, position{8, 14}},
		{[]string{"a", "bc", "d e", "k", "#1", "y", "z"}, true, position{8, 18}},
		{[]string{"a", "bc", "d e", "k", "#2"}, true, position{8, 25}},
		{[]string{"a", "bc", "d e", "dt"}, true, position{9, 6}},
		{[]string{"a", "bc", "d e", "after"}, false, position{10, 1}},
		{[]string{"arr"}, false, position{11, 3}},
		{[]string{"arr", "tab"}, false, position{12, 2}},
		{[]string{"arr", "inline"}, false, position{13, 1}},
		{[]string{"arr", "inline", "n", "deep"}, false, position{13, 18}},
		{[]string{"arr", "inline", "q.k"}, false, position{13, 30}},
		{[]string{"arr", "inline", "q.k"}, true, position{13, 38}},
		{[]string{"arr", "missing"}, false, position{11, 3}}, // nearest ancestor
	}
	for _, tt := range tests {
		get := idx.key
		if tt.value {
			get = idx.val
		}
		if got := get(tt.path); got != tt.want {
			t.Errorf("position of %q (value=%v) = %d:%d, want %d:%d", tt.path, tt.value, got.line, got.col, tt.want.line, tt.want.col)
		}
	}
}
