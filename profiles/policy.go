package profiles

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Kind selects the tools, prompts or resources rules of a policy.
type Kind int

// The kinds of things a profile filters.
const (
	Tools Kind = iota
	Prompts
	Resources
)

// String returns the config key of k: "tools", "prompts" or "resources".
func (k Kind) String() string {
	if k >= Tools && k <= Resources {
		return kindKeys[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Decision is the verdict on one name.
type Decision struct {
	Allowed bool
	// Rule says why, for logs, audit and error messages: `tools.deny
	// "*delete*"`, `tools.allow "get_*"`, `not in tools.allow`,
	// `not in tools.deny`, `no tools rules` or `no profile`. A rule that
	// came from an extended profile ends in ` (from "NAME")`.
	Rule string
}

// A Policy is a profile evaluated for matching: extends resolved, patterns
// compiled. It is immutable and safe for concurrent use. A nil *Policy
// means "no profile" and allows everything.
type Policy struct {
	name    string
	extends []string // ancestors, nearest first
	kinds   [3]kindRules
	guard   Guard // resolved: every pointer set
	// guardWritten names the requests.KEY a profile of the chain set.
	guardWritten map[string]bool
}

type kindRules struct {
	allow   []rule
	deny    []rule
	approve []rule // tools only
}

// rule is one compiled pattern.
type rule struct {
	pattern string
	from    string // profile that wrote it
	exact   *glob  // pattern as written, matched against the name as is
	folded  *glob  // deny only: pattern after denyFold
}

// Policy returns the policy for server: the profile named by override
// (the --profile flag) or, when override is "", the server's own. It returns
// a nil *Policy and a nil error when neither names a profile. Errors wrap
// [ErrUnknownServer] or [ErrUnknownProfile].
func (c *Config) Policy(server, override string) (*Policy, error) {
	s, err := c.Server(server)
	if err != nil {
		return nil, err
	}
	name := cmp.Or(override, s.Profile)
	if name == "" {
		return nil, nil
	}
	return c.ProfilePolicy(name)
}

// ProfilePolicy evaluates the named profile. The error wraps
// [ErrUnknownProfile] when it (or a profile it extends) does not exist, and
// reports extends cycles and invalid patterns; none of those survive Parse,
// so they only happen for a Config built by hand.
func (c *Config) ProfilePolicy(name string) (*Policy, error) {
	var chain []*Profile // profile first, root ancestor last
	for cur := name; cur != ""; {
		pr := c.Profiles[cur]
		if pr == nil {
			return nil, fmt.Errorf("%w %q%s", ErrUnknownProfile, cur, known("profiles", slices.Sorted(maps.Keys(c.Profiles))))
		}
		if slices.Contains(chain, pr) {
			return nil, fmt.Errorf("profile %q: extends cycle through %q", name, cur)
		}
		chain = append(chain, pr)
		cur = pr.Extends
	}
	p := &Policy{name: name}
	p.guard, p.guardWritten = resolveGuard(chain)
	for _, pr := range chain[1:] {
		p.extends = append(p.extends, pr.Name)
	}
	for k := Tools; k <= Resources; k++ {
		kr := &p.kinds[k]
		for i := len(chain) - 1; i >= 0; i-- { // root ancestor first
			pr := chain[i]
			r := pr.rules(k)
			var err error
			if kr.allow, err = addRules(kr.allow, r.Allow, pr.Name, k, false); err != nil {
				return nil, fmt.Errorf("profile %q: %s.allow: %w", pr.Name, k, err)
			}
			if kr.deny, err = addRules(kr.deny, r.Deny, pr.Name, k, true); err != nil {
				return nil, fmt.Errorf("profile %q: %s.deny: %w", pr.Name, k, err)
			}
			// approve is folded as deny is: it must catch every spelling
			// a server could read as the same name.
			if kr.approve, err = addRules(kr.approve, r.Approve, pr.Name, k, true); err != nil {
				return nil, fmt.Errorf("profile %q: %s.approve: %w", pr.Name, k, err)
			}
		}
	}
	return p, nil
}

// addRules compiles patterns and appends those not already present.
func addRules(dst []rule, patterns []string, from string, k Kind, deny bool) ([]rule, error) {
	for _, pat := range patterns {
		if slices.ContainsFunc(dst, func(r rule) bool { return r.pattern == pat }) {
			continue
		}
		r := rule{pattern: pat, from: from}
		var err error
		if r.exact, err = compileGlob(pat, k == Resources); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pat, err)
		}
		if deny {
			if r.folded, err = compileGlob(denyFold(pat), k == Resources); err != nil {
				// The pattern folds to nothing (it was all invisible
				// characters); it still denies its exact self.
				r.folded = nil
			}
		}
		dst = append(dst, r)
	}
	return dst, nil
}

// Name returns the profile name; "" for a nil Policy.
func (p *Policy) Name() string {
	if p == nil {
		return ""
	}
	return p.name
}

// Tool decides whether the tool called name is visible and callable.
func (p *Policy) Tool(name string) Decision { return p.decide(Tools, name) }

// Prompt decides whether the prompt called name is visible and usable.
func (p *Policy) Prompt(name string) Decision { return p.decide(Prompts, name) }

// Resource decides whether the resource (or resource template) with this
// URI is visible and readable.
//
// When the profile has resource rules, the URI is first put in canonical form
// (escapes of unreserved characters decoded), and a URI whose path could
// be read as another path (".." or "." segments, "//", encoded or back
// slashes) is hidden: a server that cleans paths must not be led out of an
// allowed directory or into a denied one.
func (p *Policy) Resource(uri string) Decision {
	if p == nil {
		return p.decide(Resources, uri)
	}
	kr := &p.kinds[Resources]
	if len(kr.allow) == 0 && len(kr.deny) == 0 {
		return p.decide(Resources, uri)
	}
	canon, err := canonicalURI(uri)
	if err != nil {
		return Decision{Allowed: false, Rule: "the URI " + err.Error()}
	}
	return p.decide(Resources, canon)
}

// Decide is Tool, Prompt or Resource by kind.
func (p *Policy) Decide(k Kind, name string) Decision {
	if k == Resources {
		// URIs are matched in canonical form, and path-ambiguous ones
		// are hidden: the same rules as Resource, whoever asks.
		return p.Resource(name)
	}
	return p.decide(k, name)
}

func (p *Policy) decide(k Kind, name string) Decision {
	if p == nil {
		return Decision{Allowed: true, Rule: "no profile"}
	}
	if k < Tools || k > Resources {
		return Decision{Allowed: false, Rule: fmt.Sprintf("unknown kind %d", int(k))}
	}
	kr := &p.kinds[k]
	if len(kr.deny) > 0 {
		folded := denyFold(name)
		for _, r := range kr.deny {
			if r.exact.match(name) || r.folded != nil && r.folded.match(folded) {
				return Decision{Allowed: false, Rule: p.ruleText(k, "deny", r)}
			}
		}
	}
	if len(kr.allow) > 0 {
		for _, r := range kr.allow {
			if r.exact.match(name) {
				return Decision{Allowed: true, Rule: p.ruleText(k, "allow", r)}
			}
		}
		return Decision{Allowed: false, Rule: fmt.Sprintf("not in %s.allow", k)}
	}
	if len(kr.deny) > 0 {
		return Decision{Allowed: true, Rule: fmt.Sprintf("not in %s.deny", k)}
	}
	return Decision{Allowed: true, Rule: fmt.Sprintf("no %s rules", k)}
}

func (p *Policy) ruleText(k Kind, list string, r rule) string {
	s := fmt.Sprintf("%s.%s %q", k, list, r.pattern)
	if r.from != p.name {
		s += fmt.Sprintf(" (from %q)", r.from)
	}
	return s
}

// Equal reports whether p and q have the same effective rules for kind k,
// so that switching from one to the other cannot change what the host sees
// of that kind. A nil Policy equals one with no rules for k.
func (p *Policy) Equal(k Kind, q *Policy) bool {
	pa, pd := p.patterns(k)
	qa, qd := q.patterns(k)
	// Pinning hides tools, so turning it on or off changes the list.
	if k == Tools && p.Pin() != q.Pin() {
		return false
	}
	return slices.Equal(pa, qa) && slices.Equal(pd, qd)
}

// patterns returns the sorted allow and deny patterns of kind k.
func (p *Policy) patterns(k Kind) (allow, deny []string) {
	if p == nil || k < Tools || k > Resources {
		return nil, nil
	}
	list := func(rs []rule) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.pattern)
		}
		slices.Sort(out)
		return out
	}
	return list(p.kinds[k].allow), list(p.kinds[k].deny)
}

// Describe summarises the policy for humans, one line per kind:
//
//	profile "readonly" (extends "base")
//	  tools:     allow "get_*", "list_*"; deny "*delete*"
//	  prompts:   everything (no rules)
//	  resources: allow "file:///data/**"
func (p *Policy) Describe() string {
	if p == nil {
		return "no profile: every tool, prompt and resource passes\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "profile %q", p.name)
	if len(p.extends) > 0 {
		fmt.Fprintf(&b, " (extends %s)", quoteList(p.extends, " -> "))
	}
	b.WriteByte('\n')
	for k := Tools; k <= Resources; k++ {
		kr := p.kinds[k]
		var parts []string
		if len(kr.allow) > 0 {
			parts = append(parts, "allow "+quoteRules(kr.allow))
		}
		if len(kr.deny) > 0 {
			parts = append(parts, "deny "+quoteRules(kr.deny))
		}
		if len(kr.approve) > 0 {
			parts = append(parts, "ask before "+quoteRules(kr.approve))
		}
		switch {
		case len(parts) == 0:
			parts = []string{"everything (no rules)"}
		case len(kr.allow) == 0:
			parts = append(parts, "everything else passes")
		}
		fmt.Fprintf(&b, "  %-10s %s\n", k.String()+":", strings.Join(parts, "; "))
	}
	b.WriteString(p.describeGuard())
	return b.String()
}

func quoteRules(rs []rule) string {
	var names []string
	for _, r := range rs {
		names = append(names, r.pattern)
	}
	return quoteList(names, ", ")
}

func quoteList(names []string, sep string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, sep)
}

// denyFold maps a name (or deny pattern) to the form deny rules compare:
// compatibility-decomposed (NFKD), case-folded, with combining marks and
// invisible characters removed and common Cyrillic and Greek look-alikes
// replaced by the Latin letters they imitate. Two names a human (or a
// normalising server) could take for the same one fold alike; the fold
// only ever widens what a deny matches.
func denyFold(s string) string {
	if isASCII(s) { // nothing to decompose, strip or replace
		return strings.ToLower(s)
	}
	return foldUnicode(s)
}

// foldUnicode is denyFold without the ASCII shortcut.
func foldUnicode(s string) string {
	s = stripMarks(norm.NFKD.String(s))
	s = cases.Fold().String(s) // a Caser holds state: one per call
	s = stripMarks(norm.NFKD.String(s))
	return strings.Map(func(r rune) rune {
		if l, ok := lookalikes[r]; ok {
			return l
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// stripMarks removes combining marks and default-ignorable characters:
// format characters (zero-width space, joiners, soft hyphen, BOM, bidi
// controls, tags), variation selectors and the other ignorables.
func stripMarks(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) {
			return -1
		}
		return r
	}, s)
}

// lookalikes maps lower-case Cyrillic and Greek letters that render like a
// Latin letter to that letter. It is applied after case folding, so
// capitals are covered too. Deliberately short: only near-identical glyphs.
var lookalikes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o',
	'р': 'p', 'с': 'c', 'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i',
	'ј': 'j', 'һ': 'h', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l', 'ɡ': 'g',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v',
	'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'γ': 'y', 'ζ': 'z',
	'μ': 'u',
}
