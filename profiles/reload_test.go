package profiles

import (
	"slices"
	"testing"
)

func TestRestartNeeded(t *testing.T) {
	const base = `
[servers.s]
image = "x"
profile = "p"
[profiles.p]
tools.allow = ["a"]
`
	tests := []struct {
		desc string
		next string
		want []string
	}{
		{"same", base, nil},
		{"profile rules", base + "[profiles.q]\n", nil},
		{"audit_arguments", `
[servers.s]
image = "x"
profile = "p"
audit_arguments = true
[profiles.p]
tools.allow = ["b"]
`, nil},
		{"audit table", "[audit]\npath = \"/tmp/a.jsonl\"\n" + base, nil},
		{"keychain_service", "keychain_service = \"other\"\n" + base, []string{"keychain_service"}},
		{"image", `
[servers.s]
image = "y"
`, []string{"the server's container or connection"}},
		{"server gone", `
[servers.t]
image = "x"
`, []string{"server s is no longer defined"}},
	}
	cur, err := Parse("c.toml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		next, err := Parse("c.toml", []byte(tt.next))
		if err != nil {
			t.Fatalf("%s: %v", tt.desc, err)
		}
		if got := cur.RestartNeeded(next, "s"); !slices.Equal(got, tt.want) {
			t.Errorf("%s: RestartNeeded = %q, want %q", tt.desc, got, tt.want)
		}
	}
}
