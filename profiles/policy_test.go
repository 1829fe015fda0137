package profiles

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const policyConfig = `
[servers.gh]
image = "ghcr.io/x/gh"
profile = "readonly"

[servers.open]
image = "ghcr.io/x/open"

[servers.child]
image = "ghcr.io/x/child"
profile = "child"

[profiles.readonly]
tools.allow     = ["get_*", "list_*", "search_?"]
tools.deny      = ["*delete*", "get_secret"]
prompts.deny    = ["danger"]
resources.allow = ["file:///data/**", "file:///docs/*"]
resources.deny  = ["file:///data/private/**"]

[profiles.base]
tools.deny = ["*delete*"]
tools.allow = ["get_*"]

[profiles.child]
extends = "base"
tools.allow = ["list_*", "delete_everything"]
tools.deny = ["get_secret"]

[profiles.grandchild]
extends = "child"
prompts.allow = ["p"]
`

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := parse("/cfg/mcp-sandbox.toml", []byte(src), fakeEnv{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return cfg
}

func mustPolicy(t *testing.T, cfg *Config, server, override string) *Policy {
	t.Helper()
	p, err := cfg.Policy(server, override)
	if err != nil {
		t.Fatalf("Policy(%q, %q): %v", server, override, err)
	}
	return p
}

func TestPolicyDecisions(t *testing.T) {
	cfg := mustParse(t, policyConfig)
	readonly := mustPolicy(t, cfg, "gh", "")
	child := mustPolicy(t, cfg, "child", "")
	grandchild := mustPolicy(t, cfg, "gh", "grandchild")
	var none *Policy

	tests := []struct {
		desc   string
		policy *Policy
		kind   Kind
		name   string
		want   Decision
	}{
		{"allowed by glob", readonly, Tools, "get_issue", Decision{true, `tools.allow "get_*"`}},
		{"second allow", readonly, Tools, "list_repos", Decision{true, `tools.allow "list_*"`}},
		{"? is one rune", readonly, Tools, "search_x", Decision{true, `tools.allow "search_?"`}},
		{"? not two", readonly, Tools, "search_xy", Decision{false, "not in tools.allow"}},
		{"not allowed", readonly, Tools, "create_issue", Decision{false, "not in tools.allow"}},
		{"allow is case-sensitive", readonly, Tools, "GET_issue", Decision{false, "not in tools.allow"}},
		{"deny wins over allow", readonly, Tools, "get_delete_log", Decision{false, `tools.deny "*delete*"`}},
		{"exact deny", readonly, Tools, "get_secret", Decision{false, `tools.deny "get_secret"`}},
		{"deny ignores case", readonly, Tools, "DELETE_file", Decision{false, `tools.deny "*delete*"`}},
		{"deny sees fullwidth", readonly, Tools, "ｄｅｌｅｔｅ", Decision{false, `tools.deny "*delete*"`}},
		{"deny sees fullwidth capitals", readonly, Tools, "get_ＤＥＬＥＴＥ", Decision{false, `tools.deny "*delete*"`}},
		{"deny sees zero-width joiner", readonly, Tools, "get_del\u200dete", Decision{false, `tools.deny "*delete*"`}},
		{"deny sees zero-width space", readonly, Tools, "get_de\u200blete", Decision{false, `tools.deny "*delete*"`}},
		{"deny sees soft hyphen", readonly, Tools, "get_dele\u00adte", Decision{false, `tools.deny "*delete*"`}},
		{"deny sees BOM and word joiner", readonly, Tools, "get_\ufeffdel\u2060ete", Decision{false, `tools.deny "*delete*"`}},
		{"deny sees Cyrillic look-alike", readonly, Tools, "get_d\u0435lete", Decision{false, `tools.deny "*delete*"`}},
		{"deny sees combining accent", readonly, Tools, "get_de\u0301lete", Decision{false, `tools.deny "*delete*"`}},
		{"deny sees ligature-free secret", readonly, Tools, "GET_SECRET", Decision{false, `tools.deny "get_secret"`}},
		{"deny-only kind passes the rest", readonly, Prompts, "summarise", Decision{true, "not in prompts.deny"}},
		{"deny-only kind denies", readonly, Prompts, "Danger", Decision{false, `prompts.deny "danger"`}},
		{"uri ** crosses /", readonly, Resources, "file:///data/a/b.txt", Decision{true, `resources.allow "file:///data/**"`}},
		{"uri * stays in one level", readonly, Resources, "file:///docs/a.md", Decision{true, `resources.allow "file:///docs/*"`}},
		{"uri * does not cross /", readonly, Resources, "file:///docs/sub/a.md", Decision{false, "not in resources.allow"}},
		{"uri deny wins", readonly, Resources, "file:///data/private/key", Decision{false, `resources.deny "file:///data/private/**"`}},
		{"uri deny folds case", readonly, Resources, "FILE:///DATA/PRIVATE/key", Decision{false, `resources.deny "file:///data/private/**"`}},
		{"uri outside", readonly, Resources, "file:///etc/passwd", Decision{false, "not in resources.allow"}},
		{"extends: parent allow", child, Tools, "get_issue", Decision{true, `tools.allow "get_*" (from "base")`}},
		{"extends: own allow", child, Tools, "list_x", Decision{true, `tools.allow "list_*"`}},
		{"extends: parent deny beats own allow", child, Tools, "delete_everything", Decision{false, `tools.deny "*delete*" (from "base")`}},
		{"extends: own deny", child, Tools, "get_secret", Decision{false, `tools.deny "get_secret"`}},
		{"extends: no rules for kind", child, Prompts, "anything", Decision{true, "no prompts rules"}},
		{"extends twice", grandchild, Tools, "list_x", Decision{true, `tools.allow "list_*" (from "child")`}},
		{"extends twice deny", grandchild, Tools, "x_delete", Decision{false, `tools.deny "*delete*" (from "base")`}},
		{"extends twice own", grandchild, Prompts, "q", Decision{false, "not in prompts.allow"}},
		{"no profile", none, Tools, "delete_everything", Decision{true, "no profile"}},
		{"no profile resources", none, Resources, "file:///etc/passwd", Decision{true, "no profile"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := tt.policy.Decide(tt.kind, tt.name)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s(%q) mismatch (-want +got):\n%s", tt.kind, tt.name, diff)
			}
		})
	}
}

func TestPolicyKindMethods(t *testing.T) {
	p := mustPolicy(t, mustParse(t, policyConfig), "gh", "")
	if got := p.Tool("get_x"); !got.Allowed {
		t.Errorf("Tool(get_x) = %+v, want allowed", got)
	}
	if got := p.Prompt("danger"); got.Allowed {
		t.Errorf("Prompt(danger) = %+v, want denied", got)
	}
	if got := p.Resource("file:///etc/passwd"); got.Allowed {
		t.Errorf("Resource(/etc/passwd) = %+v, want denied", got)
	}
}

func TestConfigPolicy(t *testing.T) {
	cfg := mustParse(t, policyConfig)
	if p := mustPolicy(t, cfg, "open", ""); p != nil {
		t.Errorf("Policy(open) = %v, want nil (no profile)", p.Name())
	}
	if got := mustPolicy(t, cfg, "open", "readonly").Name(); got != "readonly" {
		t.Errorf("override: Name() = %q, want readonly", got)
	}
	if got := mustPolicy(t, cfg, "gh", "").Name(); got != "readonly" {
		t.Errorf("Name() = %q, want readonly", got)
	}
	var nilPolicy *Policy
	if got := nilPolicy.Name(); got != "" {
		t.Errorf("nil Name() = %q, want empty", got)
	}
	if _, err := cfg.Policy("nope", ""); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("Policy(nope) error = %v, want ErrUnknownServer", err)
	}
	if _, err := cfg.Policy("gh", "nope"); !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("Policy(gh, nope) error = %v, want ErrUnknownProfile", err)
	}
}

func TestProfilePolicyHandBuilt(t *testing.T) {
	cfg := &Config{Profiles: map[string]*Profile{
		"a":   {Name: "a", Extends: "b"},
		"b":   {Name: "b", Extends: "a"},
		"bad": {Name: "bad", Tools: Rules{Allow: []string{""}}},
	}}
	if _, err := cfg.ProfilePolicy("a"); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: err = %v, want a cycle error", err)
	}
	if _, err := cfg.ProfilePolicy("bad"); err == nil {
		t.Errorf("empty pattern: err = nil, want an error")
	}
}

func TestPolicyEqual(t *testing.T) {
	cfg := mustParse(t, `
[profiles.a]
tools.allow = ["x", "y"]
prompts.deny = ["p"]
[profiles.b]
tools.allow = ["y", "x"]
prompts.deny = ["q"]
[profiles.c]
extends = "a"
[profiles.d]
resources.allow = ["file:///**"]
[profiles.empty]
`)
	pol := func(name string) *Policy {
		p, err := cfg.ProfilePolicy(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var none *Policy
	tests := []struct {
		p, q *Policy
		kind Kind
		want bool
	}{
		{pol("a"), pol("b"), Tools, true}, // order does not matter
		{pol("a"), pol("b"), Prompts, false},
		{pol("a"), pol("b"), Resources, true},
		{pol("a"), pol("c"), Tools, true}, // inherited rules are the same rules
		{pol("a"), pol("c"), Prompts, true},
		{pol("a"), none, Tools, false},
		{none, pol("d"), Tools, true}, // no tools rules == no profile
		{none, pol("d"), Resources, false},
		{pol("empty"), none, Resources, true},
		{none, none, Tools, true},
	}
	for _, tt := range tests {
		if got := tt.p.Equal(tt.kind, tt.q); got != tt.want {
			t.Errorf("%q.Equal(%s, %q) = %v, want %v", tt.p.Name(), tt.kind, tt.q.Name(), got, tt.want)
		}
	}
}

func TestPolicyDescribe(t *testing.T) {
	cfg := mustParse(t, policyConfig)
	got := mustPolicy(t, cfg, "gh", "grandchild").Describe()
	want := `profile "grandchild" (extends "child" -> "base")
  tools:     allow "get_*", "list_*", "delete_everything"; deny "*delete*", "get_secret"
  prompts:   allow "p"
  resources: everything (no rules)
  guard:     server requests: sampling refused, elicitation allowed, roots allowed
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe mismatch (-want +got):\n%s", diff)
	}
	var none *Policy
	if got := none.Describe(); !strings.Contains(got, "no profile") {
		t.Errorf("nil Describe() = %q, want it to say no profile", got)
	}
}

func TestDenyFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"delete", "delete"},
		{"DELETE_File", "delete_file"},
		{"ｄｅｌｅｔｅ", "delete"},
		{"de\u200b\u200c\u200dlete", "delete"},
		{"\ufeffdel\u2060e\u00adte", "delete"},
		{"d\u0435l\u0435t\u0435", "delete"}, // Cyrillic е
		{"ΑΡΙ", "api"},                      // Greek capitals
		{"STRASSE", "strasse"},
		{"Straße", "strasse"},
		{"ﬁle", "file"}, // ligature
		{"café", "cafe"},
	}
	for _, tt := range tests {
		if got := denyFold(tt.in); got != tt.want {
			t.Errorf("denyFold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDenyFoldASCII checks the ASCII shortcut against the full fold.
func TestDenyFoldASCII(t *testing.T) {
	for c := 0; c < 0x80; c++ {
		s := "x" + string(rune(c)) + "Y"
		if got, want := denyFold(s), foldUnicode(s); got != want {
			t.Errorf("denyFold(%q) = %q, full fold gives %q", s, got, want)
		}
	}
}

func BenchmarkPolicyTool(b *testing.B) {
	cfg, err := parse(testFile, []byte(policyConfig), fakeEnv{})
	if err != nil {
		b.Fatal(err)
	}
	p, err := cfg.Policy("gh", "")
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"get_issue", "create_issue", "repo_delete_file", "ｄｅｌｅｔｅ"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Tool(names[i%len(names)])
	}
}
