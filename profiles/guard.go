package profiles

import (
	"fmt"
	"strings"
	"time"
)

// DefaultApprovalTimeout is how long a call that needs approval waits for
// an answer when the profile does not set approval_timeout.
const DefaultApprovalTimeout = 2 * time.Minute

// Guard holds a profile's settings beyond allow and deny: how long an
// approval may take, whether tool definitions are pinned, and which
// requests the server may send to the host. A nil field was not written and
// is inherited from the extended profile, else defaulted.
type Guard struct {
	// ApprovalTimeout is approval_timeout.
	ApprovalTimeout *time.Duration
	// Pin is pin = true: tool definitions are recorded on first sight and
	// a changed or new tool is hidden until trusted.
	Pin *bool
	// Sampling, Elicitation and Roots are requests.sampling,
	// requests.elicitation and requests.roots: whether the server may send
	// sampling/createMessage, elicitation/create and roots/list to the
	// host. Defaults: sampling false, elicitation true, roots true.
	Sampling, Elicitation, Roots *bool
}

// serverRequests maps the requests.KEY names to the methods they govern.
var serverRequests = []struct{ key, method string }{
	{"sampling", "sampling/createMessage"},
	{"elicitation", "elicitation/create"},
	{"roots", "roots/list"},
}

func (g *Guard) request(key string) **bool {
	switch key {
	case "sampling":
		return &g.Sampling
	case "elicitation":
		return &g.Elicitation
	default:
		return &g.Roots
	}
}

// defaultGuard is what a profile that says nothing gets, and what a server
// without a profile gets: sampling spends the user's model and can put text
// in front of it, so it is refused unless allowed.
func defaultGuard() Guard {
	t, f := true, false
	d := DefaultApprovalTimeout
	return Guard{ApprovalTimeout: &d, Pin: &f, Sampling: &f, Elicitation: &t, Roots: &t}
}

// resolveGuard merges a profile chain (profile first, root ancestor last):
// the nearest profile that sets a key wins.
func resolveGuard(chain []*Profile) (Guard, map[string]bool) {
	g := defaultGuard()
	written := map[string]bool{}
	for i := len(chain) - 1; i >= 0; i-- {
		pg := chain[i].Guard
		if pg.ApprovalTimeout != nil {
			g.ApprovalTimeout = pg.ApprovalTimeout
		}
		if pg.Pin != nil {
			g.Pin = pg.Pin
		}
		for _, r := range serverRequests {
			if v := *pg.request(r.key); v != nil {
				*g.request(r.key) = v
				written[r.key] = true
			}
		}
	}
	return g, written
}

func (p *Policy) resolved() Guard {
	if p == nil {
		return defaultGuard()
	}
	return p.guard
}

// Approval reports whether a call of the tool called name must wait for a
// person's approval, and the rule that asks. Patterns match as deny
// patterns do (the name as is and folded). It says nothing about whether
// the tool is allowed at all: ask [Policy.Tool] first.
func (p *Policy) Approval(name string) (rule string, ask bool) {
	if p == nil {
		return "", false
	}
	rs := p.kinds[Tools].approve
	if len(rs) == 0 {
		return "", false
	}
	folded := denyFold(name)
	for _, r := range rs {
		if r.exact.match(name) || r.folded != nil && r.folded.match(folded) {
			return p.ruleText(Tools, "approve", r), true
		}
	}
	return "", false
}

// ApprovalTimeout is how long a held call waits for an answer.
func (p *Policy) ApprovalTimeout() time.Duration { return *p.resolved().ApprovalTimeout }

// Pin reports whether the profile pins tool definitions.
func (p *Policy) Pin() bool { return *p.resolved().Pin }

// ServerRequest decides whether the server may send the host a request of
// this method. Methods the profile has no key for (ping, future ones) are
// allowed.
func (p *Policy) ServerRequest(method string) Decision {
	g := p.resolved()
	for _, r := range serverRequests {
		if r.method != method {
			continue
		}
		allowed := **g.request(r.key)
		written := p != nil && p.written(r.key)
		rule := fmt.Sprintf("requests.%s = %v", r.key, allowed)
		if !written {
			rule += " (default)"
		}
		return Decision{Allowed: allowed, Rule: rule}
	}
	return Decision{Allowed: true, Rule: "not governed by requests"}
}

// written reports whether the profile or one it extends set requests.key.
func (p *Policy) written(key string) bool { return p.guardWritten[key] }

// describeGuard is the part of [Policy.Describe] about approvals, pinning
// and server requests.
func (p *Policy) describeGuard() string {
	g := p.resolved()
	var parts []string
	if len(p.kinds[Tools].approve) > 0 {
		parts = append(parts, fmt.Sprintf("approval timeout %v", *g.ApprovalTimeout))
	}
	if *g.Pin {
		parts = append(parts, "tool definitions pinned")
	}
	var req []string
	for _, r := range serverRequests {
		v := "refused"
		if **g.request(r.key) {
			v = "allowed"
		}
		req = append(req, r.key+" "+v)
	}
	parts = append(parts, "server requests: "+strings.Join(req, ", "))
	return fmt.Sprintf("  %-10s %s\n", "guard:", strings.Join(parts, "; "))
}

// guard decodes approval_timeout, pin and requests of a profile.
func (d *decoder) guard(p []string, key string, v any, g *Guard) {
	switch key {
	case "approval_timeout":
		s, ok := d.str(p, v)
		if !ok {
			return
		}
		t, err := time.ParseDuration(s)
		if err != nil || t <= 0 {
			d.valuef(p, "approval_timeout %q must be a positive duration such as \"2m\" or \"30s\"", s)
			return
		}
		g.ApprovalTimeout = &t
	case "pin":
		if b, ok := d.boolean(p, v); ok {
			g.Pin = &b
		}
	case "requests":
		t, ok := d.table(p, v)
		if !ok {
			return
		}
		for _, k := range sortedKeys(t) {
			kp := sub(p, k)
			known := false
			for _, r := range serverRequests {
				if r.key == k {
					known = true
				}
			}
			if !known {
				d.unknown(kp, "requests (want sampling, elicitation, roots)")
				continue
			}
			if b, ok := d.boolean(kp, t[k]); ok {
				*g.request(k) = &b
			}
		}
	}
}
