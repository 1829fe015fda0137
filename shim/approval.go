package shim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
)

// A Question is what a person is asked before a held tools/call runs: the
// evidence.
type Question struct {
	Server  string
	Profile string
	Tool    string
	// Rule is the tools.approve rule that asked.
	Rule string
	// Arguments are the call's arguments as JSON, redacted and shortened.
	Arguments string
	// Deadline is when the question expires and the call is refused.
	Deadline time.Time
}

// Text renders the question for a person.
func (q Question) Text() string {
	return fmt.Sprintf("Allow this tool call?\nserver: %s\ntool: %s\narguments: %s\nasked by: profile %q, %s",
		q.Server, q.Tool, q.Arguments, q.Profile, q.Rule)
}

// An Answer is a person's verdict on a [Question].
type Answer struct {
	Allow bool
	// Session allows the tool for the rest of the session.
	Session bool
	// Answer is the answer as given: "accept", "decline", "cancel",
	// "allow", "deny".
	Answer string
	// Channel says where it came from, for the audit line.
	Channel string
}

// An Approver asks a person when the host cannot: the local approval page.
// Ask returns when the person answered or ctx ends (then with ctx's
// error). An error wrapping [ErrCannotAsk] means the person could not be
// reached at all (no browser); the call is refused at once.
type Approver interface {
	Ask(ctx context.Context, q Question) (Answer, error)
}

// ErrCannotAsk is wrapped by an [Approver] that has no way to reach a
// person.
var ErrCannotAsk = errors.New("cannot ask for approval")

// ApprovalRecord is the `approval` member of an audit line.
type ApprovalRecord struct {
	// Asked is how the question was put: "elicitation" (to the host),
	// "approval page", "not asked" (allowed earlier for the session, or
	// no way to ask).
	Asked string `json:"asked"`
	// Answer is "accept", "decline", "cancel", "allow", "deny",
	// "timeout", "withdrawn", "session" or "unavailable".
	Answer string `json:"answer"`
	// Channel names who answered: the host's clientInfo, the page's
	// address, or why nobody could.
	Channel    string  `json:"channel,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// maxShownArguments bounds the arguments shown in a question.
const maxShownArguments = 600

// guardState is the relay's state for approvals, pins and the requests it
// sends or polices itself.
type guardState struct {
	mu sync.Mutex
	// idPrefix marks the ids of requests the relay itself sends to the
	// host; random per relay so a server cannot forge one.
	idPrefix string
	seq      int
	own      map[string]chan *message // our requests to the host, by id key
	held     map[string]*heldCall     // calls waiting for approval, by id key
	granted  map[string]bool          // tools allowed for the rest of the session
	elicit   bool                     // the host accepts form elicitation
	protocol string                   // protocolVersion the host asked for
	fromSrv  map[string]string        // server→host requests awaiting the host, by id key → method
	pins     *pinState
}

type heldCall struct {
	cancel context.CancelCauseFunc
}

var errWithdrawn = errors.New("the host cancelled the call")

func newGuardState() guardState {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return guardState{
		idPrefix: "mcp-sandbox-" + hex.EncodeToString(b) + "-",
		own:      map[string]chan *message{},
		held:     map[string]*heldCall{},
		granted:  map[string]bool{},
		fromSrv:  map[string]string{},
	}
}

// noteHostCapabilities remembers whether the host can answer a form-mode
// elicitation, from its initialize request.
func (r *Relay) noteHostCapabilities(params []byte) {
	caps := member(params, "capabilities")
	el := member(caps, "elicitation")
	ok := el != nil && string(el) != "null"
	if ok && (member(el, "form") != nil || member(el, "url") != nil) {
		// Since 2025-11-25 a host lists the modes it supports; an empty
		// object still means form.
		ok = member(el, "form") != nil
	}
	v, _ := stringMember(params, "protocolVersion")
	r.g.mu.Lock()
	r.g.elicit = ok
	r.g.protocol = v
	r.g.mu.Unlock()
}

// holdForApproval decides whether the tools/call c (already pending) must
// wait for a person. When it must, the question is asked in the background
// and the call is forwarded or refused when the answer comes; it reports
// true. Other messages keep flowing meanwhile.
func (r *Relay) holdForApproval(host, upstream Conn, m *message, c *call, pol *profiles.Policy) bool {
	rule, ask := pol.Approval(c.target)
	if !ask {
		return false
	}
	c.rule = rule
	r.g.mu.Lock()
	granted := r.g.granted[c.target]
	r.g.mu.Unlock()
	if granted {
		c.approval = &ApprovalRecord{Asked: "not asked", Answer: "session", Channel: "allowed earlier in this session"}
		return false
	}
	key, _ := idKey(m.id)
	timeout := pol.ApprovalTimeout()
	ctx, cancel := context.WithCancelCause(context.Background())
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	r.g.mu.Lock()
	r.g.held[key] = &heldCall{cancel: cancel}
	r.g.mu.Unlock()
	q := Question{
		Server:    r.opts.Server,
		Profile:   pol.Name(),
		Tool:      r.opts.Redactor.String(c.target),
		Rule:      rule,
		Arguments: shorten(string(r.opts.Redactor.Message(orEmpty(c.args))), maxShownArguments),
		Deadline:  time.Now().Add(timeout),
	}
	go func() {
		defer cancelT()
		defer cancel(nil)
		start := time.Now()
		ans, asked, err := r.ask(ctx, host, q)
		r.g.mu.Lock()
		delete(r.g.held, key)
		r.g.mu.Unlock()
		rec := &ApprovalRecord{Asked: asked, Answer: ans.Answer, Channel: ans.Channel,
			DurationMS: float64(time.Since(start).Microseconds()) / 1000}
		c.approval = rec
		if err == nil && ans.Allow {
			if ans.Session {
				r.g.mu.Lock()
				r.g.granted[c.target] = true
				r.g.mu.Unlock()
			}
			r.log.Info().Str("tool", q.Tool).Str("answer", ans.Answer).Str("channel", ans.Channel).Msg("approved")
			r.forward(host, upstream, m, c)
			return
		}
		var why string
		switch {
		case errors.Is(context.Cause(ctx), errWithdrawn):
			rec.Answer, rec.Channel = "withdrawn", "notifications/cancelled from the host"
			why = "the host cancelled it"
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			rec.Answer = "timeout"
			why = fmt.Sprintf("no answer within approval_timeout (%v)", timeout)
		case errors.Is(err, ErrCannotAsk):
			rec.Answer, rec.Channel = "unavailable", err.Error()
			why = fmt.Sprintf("mcp-sandbox could not ask anyone (%v); to allow it, use a host that supports elicitation, set $BROWSER to a browser that can be started, or remove the tool from tools.approve", err)
		case err != nil:
			rec.Answer = "error"
			why = err.Error()
		default:
			why = fmt.Sprintf("approval refused (%s, via %s)", ans.Answer, ans.Channel)
		}
		r.log.Info().Str("tool", q.Tool).Str("answer", rec.Answer).Msg("not approved")
		if r.takePending(m.id) == nil {
			return
		}
		if rec.Answer != "withdrawn" {
			// A cancelled request gets no answer.
			msg := fmt.Sprintf("tool %q was not run: %s; profile %q (%s)", q.Tool, why, q.Profile, rule)
			r.reply(host, errorMessage(c.id, codeInvalidParams, msg))
		}
		r.audit(c, "blocked", 0, why)
		r.checkDrained()
	}()
	return true
}

// ask puts q to the host when it can answer a form elicitation, else to the
// Approver, else nobody.
func (r *Relay) ask(ctx context.Context, host Conn, q Question) (Answer, string, error) {
	r.g.mu.Lock()
	elicit := r.g.elicit
	r.g.mu.Unlock()
	if elicit {
		ans, err := r.elicit(ctx, host, q)
		return ans, "elicitation", err
	}
	if r.opts.Approver != nil {
		ans, err := r.opts.Approver.Ask(ctx, q)
		return ans, "approval page", err
	}
	return Answer{}, "not asked", fmt.Errorf("%w: the host does not support elicitation and no approval page is available", ErrCannotAsk)
}

const sessionField = "allow_for_session"

// elicit sends a form-mode elicitation/create to the host and waits for its
// answer. When ctx ends first, the host is told to drop the question.
func (r *Relay) elicit(ctx context.Context, host Conn, q Question) (Answer, error) {
	params := map[string]any{
		"message": q.Text(),
		"requestedSchema": map[string]any{
			"type": "object",
			"properties": map[string]any{
				sessionField: map[string]any{
					"type":        "boolean",
					"title":       "Allow for the rest of this session",
					"description": fmt.Sprintf("Do not ask again about %s until the server restarts", q.Tool),
					"default":     false,
				},
			},
		},
	}
	r.g.mu.Lock()
	if r.g.protocol >= "2025-11-25" {
		params["mode"] = "form"
	}
	r.g.seq++
	id := r.g.idPrefix + strconv.Itoa(r.g.seq)
	idRaw, _ := json.Marshal(id)
	key, _ := idKey(idRaw)
	ch := make(chan *message, 1)
	r.g.own[key] = ch
	client := r.client
	r.g.mu.Unlock()
	defer func() {
		r.g.mu.Lock()
		delete(r.g.own, key)
		r.g.mu.Unlock()
	}()
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "elicitation/create", "params": params})
	if err := host.WriteMessage(req); err != nil {
		return Answer{}, fmt.Errorf("%w: %v", ErrCannotAsk, err)
	}
	channel := "host"
	if client != "" {
		channel = "host " + client
	}
	select {
	case m := <-ch:
		if m.err != nil {
			msg, _ := stringMember(m.err, "message")
			return Answer{Answer: "error", Channel: channel}, fmt.Errorf("the host could not ask: %s", msg)
		}
		action, _ := stringMember(m.result, "action")
		ans := Answer{Answer: action, Channel: channel, Allow: action == "accept"}
		if ans.Allow {
			if v := member(member(m.result, "content"), sessionField); string(v) == "true" {
				ans.Session = true
			}
		}
		if action == "" {
			ans.Answer = "invalid"
		}
		return ans, nil
	case <-ctx.Done():
		cancel, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
			"params": map[string]any{"requestId": id, "reason": "the tool call is no longer waiting"}})
		_ = host.WriteMessage(cancel)
		return Answer{Channel: channel}, ctx.Err()
	}
}

// ownResponse consumes the host's answer to a request the relay sent
// itself. It reports whether m was one.
func (r *Relay) ownResponse(m *message) bool {
	key, ok := idKey(m.id)
	if !ok {
		return false
	}
	r.g.mu.Lock()
	ch, mine := r.g.own[key]
	delete(r.g.own, key)
	r.g.mu.Unlock()
	if mine {
		ch <- m
	}
	return mine
}

// withdraw handles the host's notifications/cancelled for a call still
// waiting for approval: the question is withdrawn and the notification,
// about a request the server never saw, goes no further. It reports
// whether it did so.
func (r *Relay) withdraw(m *message) bool {
	key, ok := idKey(member(m.params, "requestId"))
	if !ok {
		return false
	}
	r.g.mu.Lock()
	h := r.g.held[key]
	r.g.mu.Unlock()
	if h == nil {
		return false
	}
	h.cancel(errWithdrawn)
	return true
}

func orEmpty(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes more)", len(s)-cut)
}
