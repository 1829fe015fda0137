package profiles

import "testing"

func TestResourcePathTricks(t *testing.T) {
	cfg, err := Parse("t.toml", []byte(`
[servers.s]
image = "x"
profile = "p"
[profiles.p]
resources.allow = ["file:///data/**", "probe://*"]
resources.deny = ["file:///data/private/**"]
`))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := cfg.Policy("s", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		uri     string
		allowed bool
	}{
		{"file:///data/a.txt", true},
		{"file:///data/sub/dir/", true},
		{"file:///data/%41.txt", true}, // %41 is "A"
		{"probe://info", true},
		{"probe://info?x=1#y", true},
		{"file:///data/private/key", false},
		{"file:///data/%70rivate/key", false},
		{"file:///data/%2e%2e/etc/passwd", false},
		{"file:///data/../etc/passwd", false},
		{"file:///data/x/../private/key", false},
		{"file:///data/./private/key", false},
		{"file:///data//private/key", false},
		{"file:///data/private%2fkey", false},
		{"file:///data/sub%5C..%5Cprivate", false},
		{"file:///data\\..\\etc", false},
		{"file:///data/%zz", false},
		{"file:///etc/passwd", false},
	}
	for _, tt := range tests {
		d := pol.Resource(tt.uri)
		if d.Allowed != tt.allowed {
			t.Errorf("Resource(%q) = %v (%s), want allowed=%v", tt.uri, d.Allowed, d.Rule, tt.allowed)
		}
	}
	// Without resource rules nothing is promised, and nothing is refused.
	var none *Policy
	if d := none.Resource("file:///data/../etc/passwd"); !d.Allowed {
		t.Errorf("no profile: %s", d.Rule)
	}
}
