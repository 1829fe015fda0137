package shim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// LatestProtocolVersion is the newest MCP protocol version the relay can
// enforce a profile on. A host asking for a newer one is answered as if it had
// asked for this one: policy cannot enforce what it cannot parse.
const LatestProtocolVersion = "2025-11-25"

// Options configure a [Relay]. The zero value relays everything unchanged.
type Options struct {
	// Server is the server's name, used in logs, errors and audit lines.
	Server string
	// Logger receives the relay's own log lines. The zero value discards them.
	Logger zerolog.Logger
	// Policy is the initial profile; nil lets everything through. Replace it
	// with [Relay.SetPolicy] or [Relay.Apply].
	Policy *profiles.Policy
	// Redactor scrubs secret values from every message the host receives and
	// from audit lines. Nil scrubs nothing.
	Redactor *redact.Redactor
	// Audit receives one record per tools/call, prompts/get and
	// resources/read. Nil audits nothing. Replace it with [Relay.Apply].
	Audit *Auditor
	// AuditArguments records tool arguments verbatim in audit lines instead
	// of only their hash. Replace it with [Relay.Apply].
	AuditArguments bool
	// DrainTimeout bounds how long answers still in flight are awaited after
	// the host hangs up. Zero means 2 seconds.
	DrainTimeout time.Duration
	// Approver asks a person about a call the profile holds when the host
	// cannot (no elicitation); nil refuses such calls at once.
	Approver Approver
	// Roots, when not nil, are the server's mounts: roots/list answers are
	// cut down to them and rewritten to container paths. Nil passes roots
	// through (a remote server).
	Roots []Mount
	// Pins stores tool definitions for profiles with pin = true; nil
	// disables pinning.
	Pins PinStore
}

// Settings are what may change while a relay runs. They are swapped together
// as one immutable value ([Relay.Apply]): a request is decided and audited
// under the Settings in force when it arrived, and a list result is filtered
// by those in force when it passes.
type Settings struct {
	// Policy is the profile; nil lets everything through.
	Policy *profiles.Policy
	// AuditArguments records tool arguments verbatim, not only their hash.
	AuditArguments bool
	// Audit receives the audit lines; nil audits nothing.
	Audit *Auditor
}

// A Relay passes MCP messages between a host and a server, enforcing the
// server's profile on the way. It works on raw messages and forwards every
// byte it does not act on unchanged; see the package documentation.
type Relay struct {
	opts     Options
	log      zerolog.Logger
	settings atomic.Pointer[Settings]
	served   atomic.Bool
	dropped  atomic.Int64 // audit records the full queue refused

	mu          sync.Mutex
	host        Conn             // set by Serve, for notifications sent on reload
	pending     map[string]*call // host requests awaiting the server's answer
	initialized bool             // the host sent notifications/initialized
	deferred    map[string]bool  // list_changed methods to send once initialized
	caps        map[string]bool  // capabilities the server advertised
	client      string           // host's clientInfo "name/version"
	logLevel    string           // the host's logging/setLevel; "" if it never asked
	hostDone    chan struct{}    // closed when the host hung up
	hostBroken  chan error       // receives the first failed write to the host
	breakOnce   sync.Once
	drained     chan struct{} // closed when no request is pending after hostDone
	closeDrain  sync.Once

	g guardState // approvals, pins, policed server requests
}

// call is a host request on its way to the server.
type call struct {
	id     []byte
	method string
	target string // tool or prompt name, or resource URI
	args   []byte // raw tools/call arguments, for the audit hash
	start  time.Time
	set    *Settings // in force when the request arrived
	policy string
	rule   string
	// approval is the question and answer of a held call.
	approval *ApprovalRecord
}

// New returns a Relay configured by opts.
func New(opts Options) *Relay {
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 2 * time.Second
	}
	r := &Relay{
		opts:       opts,
		log:        opts.Logger,
		pending:    make(map[string]*call),
		deferred:   make(map[string]bool),
		caps:       make(map[string]bool),
		hostDone:   make(chan struct{}),
		hostBroken: make(chan error, 1),
		drained:    make(chan struct{}),
		g:          newGuardState(),
	}
	r.settings.Store(&Settings{Policy: opts.Policy, AuditArguments: opts.AuditArguments, Audit: opts.Audit})
	return r
}

// Policy returns the policy in force.
func (r *Relay) Policy() *profiles.Policy { return r.settings.Load().Policy }

// Settings returns the settings in force.
func (r *Relay) Settings() Settings { return *r.settings.Load() }

// SetPolicy swaps in p, keeping the other settings; see [Relay.Apply].
func (r *Relay) SetPolicy(p *profiles.Policy) {
	for {
		old := r.settings.Load()
		next := *old
		next.Policy = p
		if r.settings.CompareAndSwap(old, &next) {
			r.policyChanged(old.Policy, p)
			return
		}
	}
}

// Apply swaps in s atomically. Requests and list results that pass after the
// swap see s. When the effective rules for tools, prompts or resources
// changed, the host is sent the matching notifications/*/list_changed, right
// away or, before the host finished initializing, just after it has. An
// Auditor that s replaces still receives the lines of calls that arrived
// before the swap; the caller closes it once the relay is done.
func (r *Relay) Apply(s Settings) {
	old := r.settings.Swap(&s)
	r.policyChanged(old.Policy, s.Policy)
}

// policyChanged tells the host about the lists whose rules differ between
// old and p.
func (r *Relay) policyChanged(old, p *profiles.Policy) {
	var changed []string
	for _, k := range listChanged {
		if !old.Equal(k.kind, p) {
			changed = append(changed, k.method)
		}
	}
	if len(changed) == 0 {
		return
	}
	r.mu.Lock()
	if r.initialized {
		// The host only listens for lists the server offers.
		changed = slices.DeleteFunc(changed, func(m string) bool { return !r.offers(m) })
	}
	host, ready := r.host, r.initialized
	if !ready || host == nil {
		for _, m := range changed {
			r.deferred[m] = true
		}
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	for _, m := range changed {
		r.notifyHost(host, m)
	}
}

// offers reports whether the server advertised the list a list_changed
// method is about. Tools count as offered always. r.mu must be held.
func (r *Relay) offers(method string) bool {
	for _, k := range listChanged {
		if k.method == method && k.capability != "" {
			return r.caps[k.capability]
		}
	}
	return true
}

func (r *Relay) notifyHost(host Conn, method string) {
	if err := host.WriteMessage(notification(method)); err != nil {
		r.hostFailed(err)
		return
	}
	r.log.Debug().Str("method", method).Msg("sent to host")
}

// Serve relays between host and upstream until one side ends or ctx is done.
//
// When the host hangs up (EOF on its stdin), the upstream is told so through a
// half-close where the Conn supports one, answers already in flight are awaited
// for Options.DrainTimeout, and Serve returns nil. When the upstream ends first,
// every request still pending gets a JSON-RPC error and Serve returns an error
// wrapping ErrUpstreamClosed. When a write to the host fails (its stdout is
// gone), the session ends too and Serve returns an error wrapping
// ErrHostBroken. Serve closes neither Conn; the caller owns both.
//
// A Relay serves one session: Serve may be called once, and a second call
// returns ErrServed at once. [Relay.SetPolicy] and [Relay.Apply] may be called
// at any time, before, during or after Serve.
func (r *Relay) Serve(ctx context.Context, host, upstream Conn) error {
	if !r.served.CompareAndSwap(false, true) {
		return ErrServed
	}
	r.mu.Lock()
	r.host = host
	r.mu.Unlock()

	upDone := make(chan error, 1)
	go func() { upDone <- r.fromUpstream(host, upstream) }()
	hostErr := make(chan error, 1)
	go func() { hostErr <- r.fromHost(host, upstream) }()

	select {
	case err := <-upDone:
		r.upstreamEnded(host, upstream, err)
		return err
	case err := <-r.hostBroken:
		r.failPending(host, "mcp-sandbox is shutting down")
		return err
	case err := <-hostErr:
		// The host hung up or its stdin failed. Tell the server, then let
		// answers in flight drain.
		if hc, ok := upstream.(halfCloser); ok {
			_ = hc.CloseWrite()
		}
		close(r.hostDone)
		r.checkDrained()
		t := time.NewTimer(r.opts.DrainTimeout)
		defer t.Stop()
		select {
		case <-r.drained:
		case <-upDone:
		case <-t.C:
		case <-ctx.Done():
		}
		r.failPending(host, "mcp-sandbox is shutting down")
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading from host: %w", err)
		}
		return nil
	case <-ctx.Done():
		r.failPending(host, "mcp-sandbox is shutting down")
		return ctx.Err()
	}
}

// fromHost forwards host messages to the upstream until the host's stream
// ends.
func (r *Relay) fromHost(host, upstream Conn) error {
	for {
		raw, err := host.ReadMessage()
		if err != nil {
			return err
		}
		r.handleHost(host, upstream, raw)
	}
}

func (r *Relay) handleHost(host, upstream Conn, raw []byte) {
	if !json.Valid(raw) {
		r.reply(host, errorMessage(nil, codeParseError, "Parse error: the message is not valid JSON"))
		return
	}
	if isBatch(raw) {
		// Each element of a batch gets the same scrutiny as a message on its
		// own; the server receives them one by one.
		n := 0
		eachElement(raw, func(elem []byte) {
			n++
			r.handleHostMessage(host, upstream, elem)
		})
		if n == 0 {
			r.reply(host, errorMessage(nil, codeInvalidRequest, "Invalid Request: empty batch"))
		}
		return
	}
	r.handleHostMessage(host, upstream, raw)
}

func (r *Relay) handleHostMessage(host, upstream Conn, raw []byte) {
	m, err := parseMessage(raw)
	if err != nil {
		// JSON-RPC: the id is null only when it cannot be detected.
		var id []byte
		if m != nil {
			id = replyID(m.id)
		}
		r.reply(host, errorMessage(id, codeInvalidRequest, "Invalid Request: "+err.Error()))
		return
	}
	if m.ambiguous {
		// {"id":1,"Method":"tools/call",…} means nothing to us but a
		// tools/call to a server that matches keys case-insensitively.
		r.reply(host, errorMessage(replyID(m.id), codeInvalidRequest, "Invalid Request: a top-level key occurs twice, or differs from jsonrpc, id, method, params, result or error only in case"))
		return
	}
	switch {
	case m.isRequest():
		if _, ok := idKey(m.id); !ok {
			// MCP: "Requests MUST include a string or integer ID",
			// which "MUST NOT be null".
			r.reply(host, errorMessage(replyID(m.id), codeInvalidRequest, "Invalid Request: id must be a string or an integer"))
			return
		}
		r.hostRequest(host, upstream, m)
	case m.isNotification():
		if policed(m.method) {
			// Without an id there is no answer to send, and a server may
			// still act on it: such a call is never forwarded.
			r.log.Info().Str("method", m.method).Msg("dropped a notification for a method the profile governs")
			return
		}
		if m.method == "notifications/cancelled" && r.withdraw(m) {
			return
		}
		r.forward(host, upstream, m, nil)
		if m.method == "notifications/initialized" {
			r.markInitialized(host)
		}
	default:
		// Responses to the server's own requests (sampling, roots,
		// elicitation, ping) and anything else go through untouched, but
		// for answers to the relay's own questions and roots.
		if r.ownResponse(m) {
			return
		}
		r.forward(host, upstream, r.hostAnswer(m), nil)
	}
}

func (r *Relay) hostRequest(host, upstream Conn, m *message) {
	set := r.settings.Load()
	pol := set.Policy
	c := &call{id: m.id, method: m.method, start: time.Now(), set: set, policy: pol.Name()}
	switch m.method {
	case "server/discover":
		// The stateless discovery of protocol versions after
		// LatestProtocolVersion: answering "not found" makes clients fall
		// back to initialize, which the relay understands.
		r.reply(host, errorMessage(m.id, codeMethodNotFound, "Method not found: server/discover (mcp-sandbox speaks MCP up to "+LatestProtocolVersion+"; use initialize)"))
		return
	case "initialize":
		m.raw = r.initializeRequest(m)
	case "logging/setLevel":
		r.noteLogLevel(m.params)
	}
	if pm, ok := policedMethods[m.method]; ok {
		kind, target, bad := pm.target(m)
		if bad != "" {
			r.reply(host, errorMessage(m.id, codeInvalidParams, "Invalid params: "+bad))
			return
		}
		c.target = target
		if pm.audit {
			c.args = member(m.params, "arguments")
		}
		d := pol.Decide(kind, target)
		if m.method == "tools/call" {
			d = r.pinnedTool(pol, target)
		}
		c.rule = d.Rule
		if !d.Allowed {
			r.reply(host, errorMessage(m.id, codeInvalidParams, fmt.Sprintf("%s %q is not available: blocked by profile %q (%s)", pm.noun, target, pol.Name(), d.Rule)))
			r.audit(c, "blocked", 0, "")
			r.log.Info().Str("method", m.method).Str("target", r.opts.Redactor.String(c.target)).
				Str("profile", pol.Name()).Str("rule", d.Rule).Msg("blocked by profile")
			return
		}
	}
	// Record the call before forwarding it: the answer may come back
	// before WriteMessage returns.
	key, _ := idKey(m.id)
	r.mu.Lock()
	_, dup := r.pending[key]
	if !dup {
		r.pending[key] = c
	}
	r.mu.Unlock()
	if dup {
		// Two requests in flight under one id would make their answers
		// indistinguishable, and the second must not inherit the first's
		// treatment.
		r.reply(host, errorMessage(m.id, codeInvalidRequest, "Invalid Request: id "+string(m.id)+" is already used by a request in flight"))
		return
	}
	if m.method == "tools/call" && r.holdForApproval(host, upstream, m, c, pol) {
		return
	}
	r.forward(host, upstream, m, c)
}

// target reads what the request names: the kind of rules that decide on it
// and the name or URI. bad, when not empty, says why params do not name one.
func (pm policedMethod) target(m *message) (kind profiles.Kind, target, bad string) {
	if pm.targetKey != "" {
		t, ok := stringMember(m.params, pm.targetKey)
		if !ok {
			return pm.kind, "", fmt.Sprintf("%s needs a string %q", m.method, pm.targetKey)
		}
		return pm.kind, t, ""
	}
	ref := member(m.params, "ref")
	typ, _ := stringMember(ref, "type")
	switch typ {
	case "ref/prompt":
		name, ok := stringMember(ref, "name")
		if !ok {
			return profiles.Prompts, "", m.method + " needs a string ref.name"
		}
		return profiles.Prompts, name, ""
	case "ref/resource":
		uri, ok := stringMember(ref, "uri")
		if !ok {
			return profiles.Resources, "", m.method + " needs a string ref.uri"
		}
		return profiles.Resources, uri, ""
	}
	return pm.kind, "", m.method + ` needs ref.type "ref/prompt" or "ref/resource"`
}

// replyID returns the id to answer an invalid request with: its own when
// that is a string or a number, else null.
func replyID(id []byte) []byte {
	if len(id) == 0 {
		return nil
	}
	switch id[0] {
	case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return id
	}
	return nil
}

// forward sends m to the upstream. A request that cannot be delivered is
// answered with an error at once.
func (r *Relay) forward(host, upstream Conn, m *message, c *call) {
	if err := upstream.WriteMessage(m.raw); err != nil {
		r.log.Debug().Err(err).Str("method", m.method).Msg("could not write to server")
		if c != nil {
			if r.takePending(m.id) != nil {
				r.reply(host, errorMessage(m.id, codeInternalError, "mcp-sandbox: the server is not reachable: "+r.opts.Redactor.String(err.Error())))
				r.audit(c, "error", 0, "server not reachable")
			}
		}
	}
}

// initializeRequest clamps a protocolVersion newer than the relay understands
// and remembers who the host is.
func (r *Relay) initializeRequest(m *message) []byte {
	r.noteHostCapabilities(m.params)
	if info := member(m.params, "clientInfo"); info != nil {
		name, _ := stringMember(info, "name")
		version, _ := stringMember(info, "version")
		r.mu.Lock()
		r.client = name
		if version != "" {
			r.client += "/" + version
		}
		r.mu.Unlock()
	}
	v, ok := stringMember(m.params, "protocolVersion")
	if !ok || v <= LatestProtocolVersion {
		return m.raw
	}
	r.log.Debug().Str("requested", v).Str("sent", LatestProtocolVersion).Msg("clamping protocol version")
	q, _ := json.Marshal(LatestProtocolVersion)
	params := setMember(m.params, "protocolVersion", q)
	return setMember(m.raw, "params", params)
}

func (r *Relay) markInitialized(host Conn) {
	r.mu.Lock()
	r.initialized = true
	var send []string
	for _, k := range listChanged {
		if m := k.method; r.deferred[m] && r.offers(m) {
			send = append(send, m)
			delete(r.deferred, m)
		}
	}
	r.mu.Unlock()
	for _, m := range send {
		r.notifyHost(host, m)
	}
}

// fromUpstream forwards server messages to the host until the server's
// stream ends.
func (r *Relay) fromUpstream(host, upstream Conn) error {
	for {
		raw, err := upstream.ReadMessage()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ErrUpstreamClosed
			}
			return fmt.Errorf("%w: %v", ErrUpstreamClosed, r.opts.Redactor.String(err.Error()))
		}
		if !json.Valid(raw) {
			// Forwarding a broken line would break the host's parser.
			r.log.Warn().Int("bytes", len(raw)).Msg("server sent a line that is not JSON; dropped")
			continue
		}
		if isBatch(raw) {
			eachElement(raw, func(elem []byte) { r.handleUpstream(host, upstream, elem) })
			continue
		}
		r.handleUpstream(host, upstream, raw)
	}
}

func (r *Relay) handleUpstream(host, upstream Conn, raw []byte) {
	m, err := parseMessage(raw)
	if err != nil {
		r.log.Warn().Err(err).Msg("server sent a message that is not JSON-RPC; dropped")
		return
	}
	if !m.hasMethod && m.id == nil {
		// Neither request, notification nor response: forwarding it would
		// only break the host's parser.
		r.log.Warn().Int("bytes", len(raw)).Msg("server sent a message without method or id; dropped")
		return
	}
	if m.ambiguous {
		// A host decoding case-insensitively could read "Result" instead
		// of the "result" the profile filtered.
		r.log.Warn().Msg("server sent a message with an envelope key in another case; dropped")
		if c := r.takePending(m.id); c != nil {
			r.reply(host, errorMessage(c.id, codeInternalError, "mcp-sandbox: "+r.opts.Server+": the server's answer was ambiguous and was dropped"))
			r.checkDrained()
		}
		return
	}
	if m.isResponse() && r.relistAnswer(upstream, m) {
		return
	}
	out := raw
	switch {
	case m.isResponse():
		c := r.takePending(m.id)
		if c == nil {
			// No request of the host's is waiting for it: a late answer
			// after the host gave up, or an id the server spelled
			// differently. Its method is unknown, so the profile could
			// not be applied: never forward it.
			r.log.Warn().Str("id", string(m.id)).Msg("server answered a request that is not pending; dropped")
			return
		}
		out = r.response(m, c)
		if !bytes.Equal(m.id, c.id) {
			// The server spelled the id its own way (1 for 1.0, a
			// rounded 9007199254740993): the host gets back the exact
			// bytes it sent.
			out = setMember(out, "id", c.id)
		}
	case m.isRequest():
		if !r.serverRequest(upstream, m) {
			return
		}
	case m.isNotification():
		if m.method == "notifications/tools/list_changed" {
			r.toolsChanged(upstream)
		}
		if m.method == "notifications/resources/updated" {
			uri, ok := stringMember(m.params, "uri")
			if !ok || !r.Policy().Resource(uri).Allowed {
				return
			}
		}
	}
	r.reply(host, out)
	if m.isResponse() {
		r.checkDrained()
	}
}

// response applies the profile to a server's answer and audits it.
func (r *Relay) response(m *message, c *call) []byte {
	if m.err != nil {
		if auditable(c.method) {
			msg, _ := stringMember(m.err, "message")
			r.audit(c, "error", len(m.raw), msg)
		}
		return m.raw
	}
	if m.result == nil {
		return m.raw
	}
	if lm, ok := listMethods[c.method]; ok {
		// The policy in force now, not when the request passed: a list in
		// flight during a reload gets the new one.
		pol := r.Policy()
		out := filterList(m.raw, m.result, lm.listKey, lm.nameKey, func(name string) profiles.Decision { return pol.Decide(lm.kind, name) })
		if c.method == "tools/list" {
			out = r.pinList(pol, out)
		}
		return out
	}
	switch c.method {
	case "initialize":
		return setMember(m.raw, "result", r.initializeResult(m.result))
	case "tools/call":
		decision := "allowed"
		if isErr := member(m.result, "isError"); string(isErr) == "true" {
			decision = "error"
		}
		r.audit(c, decision, len(m.raw), "")
	case "prompts/get", "resources/read":
		r.audit(c, "allowed", len(m.raw), "")
	}
	return m.raw
}

// initializeResult sets listChanged on the tools capability, and on prompts
// and resources when the server offers them, so the host listens for the
// notifications a profile reload sends. Everything else stays as the server
// wrote it.
func (r *Relay) initializeResult(result []byte) []byte {
	caps := member(result, "capabilities")
	if caps == nil || string(caps) == "null" {
		caps = []byte("{}")
	}
	r.mu.Lock()
	for _, k := range []string{"tools", "prompts", "resources"} {
		cap := member(caps, k)
		if cap == nil || string(cap) == "null" {
			if k != "tools" {
				continue
			}
			cap = []byte("{}")
		}
		r.caps[k] = true
		caps = setMember(caps, k, setMember(cap, "listChanged", []byte("true")))
	}
	r.mu.Unlock()
	return setMember(result, "capabilities", caps)
}

// filterList drops from result[listKey] the entries whose nameKey the policy
// hides, and returns the message with the filtered result. Pagination fields
// such as nextCursor are kept as they are.
func filterList(raw, result []byte, listKey, nameKey string, decide func(string) profiles.Decision) []byte {
	if hasKeyVariants(result, listKey) {
		// "Tools" beside "tools", or "tools" twice: a case-insensitive or
		// first-duplicate host might read an unfiltered one. Keep only the
		// last exact key.
		result = dropKeyVariants(result, listKey)
		raw = setMember(raw, "result", result)
	}
	list := member(result, listKey)
	if list == nil {
		return raw
	}
	kept := make([]byte, 0, len(list))
	kept = append(kept, '[')
	dropped := false
	n := 0
	eachElement(list, func(elem []byte) {
		name, ok := stringMember(elem, nameKey)
		if !ok || !decide(name).Allowed {
			dropped = true
			return
		}
		if n > 0 {
			kept = append(kept, ',')
		}
		kept = append(kept, elem...)
		n++
	})
	if !dropped {
		return raw
	}
	kept = append(kept, ']')
	return setMember(raw, "result", setMember(result, listKey, kept))
}

// reply sends a message to the host, scrubbed of secrets. A host that
// cannot be written to ends the session: nothing further could reach it.
func (r *Relay) reply(host Conn, msg []byte) {
	if err := host.WriteMessage(keepHostID(msg, r.opts.Redactor.Message(msg))); err != nil {
		r.hostFailed(err)
	}
}

// hostFailed ends Serve after a failed write to the host.
func (r *Relay) hostFailed(err error) {
	r.breakOnce.Do(func() {
		r.log.Error().Err(err).Msg("cannot write to the host; ending the session")
		r.hostBroken <- fmt.Errorf("%w: %v", ErrHostBroken, err)
	})
}

func (r *Relay) takePending(id []byte) *call {
	key, ok := idKey(id)
	if !ok {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.pending[key]
	delete(r.pending, key)
	return c
}

// checkDrained closes r.drained once the host has hung up and no answer is
// outstanding.
func (r *Relay) checkDrained() {
	select {
	case <-r.hostDone:
	default:
		return
	}
	r.mu.Lock()
	n := len(r.pending)
	r.mu.Unlock()
	if n == 0 {
		r.closeDrain.Do(func() { close(r.drained) })
	}
}

// failPending answers every request still waiting for the server.
func (r *Relay) failPending(host Conn, why string) {
	r.mu.Lock()
	calls := make([]*call, 0, len(r.pending))
	for k, c := range r.pending {
		calls = append(calls, c)
		delete(r.pending, k)
	}
	r.mu.Unlock()
	for _, c := range calls {
		msg := fmt.Sprintf("mcp-sandbox: %s: %s", r.opts.Server, why)
		r.reply(host, errorMessage(c.id, codeInternalError, msg))
		if auditable(c.method) {
			r.audit(c, "error", 0, why)
		}
	}
}

// audit records the outcome of an auditable call.
func (r *Relay) audit(c *call, decision string, size int, errMsg string) {
	set := c.set
	if set == nil || set.Audit == nil || !auditable(c.method) {
		return
	}
	red := r.opts.Redactor
	rec := AuditRecord{
		Time:        c.start.UTC(),
		Server:      r.opts.Server,
		Profile:     c.policy,
		Method:      c.method,
		Decision:    decision,
		Rule:        c.rule,
		DurationMS:  float64(time.Since(c.start).Microseconds()) / 1000,
		ResultBytes: size,
		Error:       red.String(errMsg),
		Approval:    c.approval,
	}
	r.mu.Lock()
	rec.Client = r.client
	r.mu.Unlock()
	if c.method == "resources/read" {
		rec.URI = red.String(c.target)
	} else {
		rec.Name = red.String(c.target)
	}
	if c.args != nil {
		sum := sha256.Sum256(c.args)
		rec.ArgumentsSHA256 = hex.EncodeToString(sum[:])
		if set.AuditArguments {
			rec.Arguments = json.RawMessage(red.Message(c.args))
		}
	}
	if !set.Audit.Record(rec) {
		// The writer cannot keep up; the relay never waits for it.
		if n := r.dropped.Add(1); n&(n-1) == 0 {
			r.log.Warn().Int64("dropped", n).Msg("audit queue full; audit records dropped")
		}
	}
}
