package profiles

import (
	"strings"
	"testing"
	"time"
)

const guardConfig = `
[servers.s]
image = "x"
profile = "child"

[profiles.base]
tools.allow = ["*"]
tools.deny = ["drop_*"]
tools.approve = ["send_*", "*delete*"]
approval_timeout = "30s"
requests.sampling = true

[profiles.child]
extends = "base"
pin = true
requests = { roots = false }

[profiles.plain]
`

func TestGuard(t *testing.T) {
	cfg := mustParse(t, guardConfig)
	p := mustPolicy(t, cfg, "s", "")
	for _, tt := range []struct {
		name string
		rule string
		ask  bool
	}{
		{"send_mail", `tools.approve "send_*" (from "base")`, true},
		{"DELETE_all", `tools.approve "*delete*" (from "base")`, true},
		{"dеlete", `tools.approve "*delete*" (from "base")`, true}, // Cyrillic е
		{"get_x", "", false},
		{"Send_mail", `tools.approve "send_*" (from "base")`, true}, // folded, as deny is
	} {
		rule, ask := p.Approval(tt.name)
		if rule != tt.rule || ask != tt.ask {
			t.Errorf("Approval(%q) = %q, %v; want %q, %v", tt.name, rule, ask, tt.rule, tt.ask)
		}
	}
	if got := p.ApprovalTimeout(); got != 30*time.Second {
		t.Errorf("ApprovalTimeout = %v, want 30s from the base", got)
	}
	if !p.Pin() {
		t.Error("pin not set")
	}
	if d := p.ServerRequest("sampling/createMessage"); !d.Allowed || d.Rule != "requests.sampling = true" {
		t.Errorf("sampling: %+v", d)
	}
	if d := p.ServerRequest("roots/list"); d.Allowed {
		t.Errorf("roots: %+v", d)
	}
	if d := p.ServerRequest("ping"); !d.Allowed {
		t.Errorf("ping: %+v", d)
	}
	plain := mustPolicy(t, cfg, "s", "plain")
	if d := plain.ServerRequest("sampling/createMessage"); d.Allowed || d.Rule != "requests.sampling = false (default)" {
		t.Errorf("default sampling: %+v", d)
	}
	var none *Policy
	if d := none.ServerRequest("sampling/createMessage"); d.Allowed {
		t.Errorf("no profile: sampling %+v, want refused", d)
	}
	if d := none.ServerRequest("elicitation/create"); !d.Allowed {
		t.Errorf("no profile: elicitation %+v, want allowed", d)
	}
	if plain.ApprovalTimeout() != DefaultApprovalTimeout || plain.Pin() {
		t.Errorf("plain defaults: %v %v", plain.ApprovalTimeout(), plain.Pin())
	}
	if !strings.Contains(p.Describe(), `ask before "send_*"`) || !strings.Contains(p.Describe(), "pinned") {
		t.Errorf("Describe:\n%s", p.Describe())
	}
	if p.Equal(Tools, plain) {
		t.Error("a pinned and an unpinned profile compare equal for tools")
	}
}

func TestGuardErrors(t *testing.T) {
	_, err := Parse("c.toml", []byte(`
[profiles.p]
approval_timeout = "soon"
pin = "yes"
requests.sampling = true
requests.smapling = true
prompts.approve = ["x"]
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`c.toml:3:20: approval_timeout "soon" must be a positive duration`,
		`c.toml:4:7: pin must be a boolean, not a string`,
		`c.toml:6:10: unknown key "smapling" in requests (want sampling, elicitation, roots)`,
		`c.toml:7:9: unknown key "approve" in prompts rules`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}
