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
		{"file:///data/x#/../../etc/passwd", false},
		{"file:///data/x?/../../etc/passwd", false},
		{"file://localhost/data/a.txt", true},
		{"file:/data/a.txt", true},
		{"file://evil/data/a.txt", false},
		{"file://../etc/x", false},
		{"probe://x?/../y", false},
	}
	for _, tt := range tests {
		d := pol.Resource(tt.uri)
		if d.Allowed != tt.allowed {
			t.Errorf("Resource(%q) = %v (%s), want allowed=%v", tt.uri, d.Allowed, d.Rule, tt.allowed)
		}
	}
	// A deny-only profile must catch every spelling of a denied file.
	cfg, err = Parse("t.toml", []byte(`
[servers.s]
image = "x"
profile = "p"
[profiles.p]
resources.deny = ["file:///data/private/**"]
`))
	if err != nil {
		t.Fatal(err)
	}
	deny, err := cfg.Policy("s", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"file:///data/private/k", "file://localhost/data/private/k", "file:/data/private/k", "FILE:///data/private/k", "file://LOCALHOST/data/%70rivate/k"} {
		if d := deny.Resource(uri); d.Allowed {
			t.Errorf("deny-only: %q allowed (%s)", uri, d.Rule)
		}
	}
	if d := deny.Resource("file:///data/public"); !d.Allowed {
		t.Errorf("deny-only: file:///data/public hidden (%s)", d.Rule)
	}

	// "//" in a query is no empty path segment.
	if _, err := canonicalURI("db://h?next=a//b"); err != nil {
		t.Errorf("db://h?next=a//b refused: %v", err)
	}

	// Without resource rules nothing is promised, and nothing is refused.
	var none *Policy
	if d := none.Resource("file:///data/../etc/passwd"); !d.Allowed {
		t.Errorf("no profile: %s", d.Rule)
	}
}
