package shim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// FuzzRelaySession drives whole sessions through the relay: sequences of
// host and server messages, malformed ones included, with profile reloads
// between them. Each input is a script of lines:
//
//	h MSG   the host sends MSG
//	s MSG   the server sends MSG
//	rN      the policy becomes fuzzPolicies[N mod len]
//	q       the host hangs up (later h lines are ignored)
//	x       the server's stream ends; the session is over
//
// other lines are ignored. The relay runs its real Serve between two
// lock-step conns: the driver hands one message to one side only when both
// readers are idle, so every run of an input is the same. After every step
// and at the end it checks the relay's invariants:
//
//   - no panic and no hang: a wait of the driver's that takes 10 s fails
//     the input, and a session still running after fuzzSessionDeadline
//     panics with every goroutine's stack, so a hang is a crasher;
//   - no hidden tool, prompt or resource in a list answer the host reads,
//     under any duplicate or case variant of the keys a host may read;
//   - no call of a hidden tool, prompt or resource reaches the server,
//     under any such variant;
//   - the secret appears in no byte the host receives, nor in any string
//     there once JSON escapes are decoded;
//   - every host request with a valid id is answered exactly once, with its
//     own id bytes; so is every message with a valid id the relay refuses
//     as an Invalid Request (a key in another case or twice, a method that
//     is not a string), which a host can tell from its request only by
//     order.
func FuzzRelaySession(f *testing.F) {
	boundMinimizing(fuzzMinimizeTime)
	for _, seed := range fuzzSeeds {
		f.Add([]byte(seed))
	}
	pols := fuzzPolicies(f)
	red, err := redact.New([]redact.Secret{{Name: "tok", Value: fuzzSecret}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		runFuzzSession(t, script, pols, red)
	})
}

// fuzzMinimizeTime bounds how long the fuzzer minimizes one input unless
// -test.fuzzminimizetime is given. The fuzzer minimizes every input that
// finds new coverage, not only crashers, for 60 s by default, and a session
// script of a few hundred bytes takes all of it (the minimizer tries every
// subrange of the bytes): a minute of fuzzing then ran one new session per
// interesting input and reported 0 execs/sec in between.
const fuzzMinimizeTime = "1s"

// boundMinimizing sets -test.fuzzminimizetime to d unless the command line
// gives it. It must run before f.Fuzz, which reads the flag.
func boundMinimizing(d string) {
	given := false
	flag.Visit(func(fl *flag.Flag) { given = given || fl.Name == "test.fuzzminimizetime" })
	if fl := flag.Lookup("test.fuzzminimizetime"); fl != nil && !given {
		if err := fl.Value.Set(d); err != nil {
			panic(err)
		}
	}
}

// fuzzSessionDeadline bounds one execution of the fuzz target.
const fuzzSessionDeadline = 20 * time.Second

const fuzzSecret = "S3cr3t-T0ken-Value"

// fuzzPolicies are the profiles a session switches between; nil is no
// profile.
func fuzzPolicies(tb testing.TB) []*profiles.Policy {
	srcs := []string{
		`tools.allow = ["get_*", "list_*"]
tools.deny = ["*delete*"]
prompts.allow = ["safe*"]
resources.allow = ["file:///data/**"]`,
		`tools.deny = ["*"]
prompts.deny = ["*"]
resources.deny = ["**"]`,
		`tools.allow = ["*"]
tools.deny = ["get_hidden", "*secret*"]
resources.deny = ["file:///etc/**"]`,
	}
	out := []*profiles.Policy{nil}
	for _, src := range srcs {
		out = append(out, policyFrom(tb, "[servers.s]\nimage = \"x\"\nprofile = \"p\"\n[profiles.p]\n"+src+"\n"))
	}
	return out
}

// stepConn is a Conn whose reads the fuzz driver feeds one at a time.
type stepConn struct {
	ready chan struct{} // the relay waits in ReadMessage
	feed  chan []byte   // closed for EOF
	gone  chan struct{} // ReadMessage returned EOF: the reader is done

	mu     sync.Mutex
	wrote  [][]byte
	half   bool
	goneMu sync.Once
}

func newStepConn() *stepConn {
	return &stepConn{ready: make(chan struct{}, 1), feed: make(chan []byte), gone: make(chan struct{})}
}

func (c *stepConn) ReadMessage() ([]byte, error) {
	c.ready <- struct{}{}
	m, ok := <-c.feed
	if !ok {
		c.goneMu.Do(func() { close(c.gone) })
		return nil, io.EOF
	}
	return m, nil
}

func (c *stepConn) WriteMessage(m []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.half {
		return errors.New("write side closed")
	}
	c.wrote = append(c.wrote, bytes.Clone(m))
	return nil
}

func (c *stepConn) CloseWrite() error {
	c.mu.Lock()
	c.half = true
	c.mu.Unlock()
	return nil
}

func (c *stepConn) Close() error { return nil }

// written returns the messages written since the last call.
func (c *stepConn) written(from *int) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.wrote[*from:]
	*from = len(c.wrote)
	return out
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("relay hung: %s", what)
	}
}

// feed hands msg to the reader of c, which waitFor saw idle.
func feed(t *testing.T, c *stepConn, msg []byte, what string) {
	t.Helper()
	select {
	case c.feed <- msg:
	case <-time.After(10 * time.Second):
		t.Fatalf("relay hung: its reader did not take the %s", what)
	}
}

// fuzzModel is what the driver knows of the session.
type fuzzModel struct {
	t   *testing.T
	pol *profiles.Policy
	// requests and answers per raw id; open holds the methods of the
	// requests not answered yet, oldest first.
	requests, answers map[string]int
	open              map[string][]string
	// sentIDs holds the bytes of every id member the host sent, valid or
	// not, request or not: the relay may echo them in its answers.
	sentIDs map[string]bool
}

func runFuzzSession(t *testing.T, script []byte, pols []*profiles.Policy, red *redact.Redactor) {
	lines := bytes.Split(script, []byte("\n"))
	if len(lines) > 64 {
		lines = lines[:64]
	}
	// A hang anywhere, harness or relay, must become a reported crasher
	// with every goroutine's stack, not a worker that stops executing.
	watchdog := time.AfterFunc(fuzzSessionDeadline, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("fuzz session still running after %v; goroutines:\n%s", fuzzSessionDeadline, buf))
	})
	defer watchdog.Stop()
	m := &fuzzModel{t: t, pol: pols[1], requests: map[string]int{}, answers: map[string]int{}, open: map[string][]string{}, sentIDs: map[string]bool{}}
	host, up := newStepConn(), newStepConn()
	r := New(Options{Server: "s", Policy: m.pol, Redactor: red, DrainTimeout: time.Minute})
	done := make(chan error, 1)
	go func() { done <- r.Serve(context.Background(), host, up) }()
	var hostSeen, upSeen int
	check := func() {
		for _, msg := range up.written(&upSeen) {
			m.serverBound(msg)
		}
		for _, msg := range host.written(&hostSeen) {
			m.hostBound(msg)
		}
	}

	waitFor(t, host.ready, "host reader never started")
	waitFor(t, up.ready, "server reader never started")
	hostOpen, finished := true, false
	for _, line := range lines {
		if len(line) == 0 || finished {
			continue
		}
		arg := bytes.TrimPrefix(line[1:], []byte(" "))
		switch line[0] {
		case 'h':
			if !hostOpen {
				continue
			}
			m.hostSent(arg)
			feed(t, host, arg, "host message "+string(arg))
			waitFor(t, host.ready, "after host message "+string(arg))
		case 's':
			feed(t, up, arg, "server message "+string(arg))
			waitFor(t, up.ready, "after server message "+string(arg))
		case 'r':
			n := 0
			if len(arg) > 0 {
				n = int(arg[0])
			}
			m.pol = pols[n%len(pols)]
			r.SetPolicy(m.pol)
		case 'q':
			if hostOpen {
				hostOpen = false
				close(host.feed)
				waitFor(t, host.gone, "host reader after EOF")
			}
		case 'x':
			finished = true
		}
		check()
	}
	if hostOpen {
		close(host.feed)
	}
	close(up.feed)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after both sides ended")
	}
	waitFor(t, up.gone, "server reader after EOF")
	waitFor(t, host.gone, "host reader after EOF")
	check()
	for id, n := range m.requests {
		if a := m.answers[id]; a != n {
			t.Errorf("id %s: %d request(s), %d answer(s)", id, n, a)
		}
	}
}

// hostSent records the requests in a host message.
func (m *fuzzModel) hostSent(raw []byte) {
	if !json.Valid(raw) {
		return
	}
	each := func(obj []byte) {
		ps, ok := pairsOf(obj)
		if !ok {
			return
		}
		for _, v := range allFold(ps, "id") {
			m.sentIDs[string(v)] = true
		}
		id, method := last(ps, "id"), last(ps, "method")
		if !validID(id) || (method == nil && !misleading(ps)) {
			return
		}
		// A request expects an answer, and so does a message the relay
		// must refuse with one (JSON-RPC's Invalid Request carries the id):
		// a method that is not a string, an envelope key twice or in
		// another case. Such an answer comes at once, so the newest open
		// entry is the one it closes.
		var name string
		_ = json.Unmarshal(method, &name)
		k := string(id)
		m.requests[k]++
		m.open[k] = append(m.open[k], name)
	}
	if v := bytes.TrimSpace(raw); len(v) > 0 && v[0] == '[' {
		var elems []json.RawMessage
		if json.Unmarshal(v, &elems) == nil {
			for _, e := range elems {
				each(e)
			}
		}
		return
	}
	each(raw)
}

// hostBound checks one message the host received.
func (m *fuzzModel) hostBound(raw []byte) {
	t := m.t
	if !json.Valid(raw) {
		t.Errorf("host received invalid JSON: %q", raw)
		return
	}
	ps, ok := pairsOf(raw)
	if !ok {
		t.Errorf("host received a message that is not an object: %s", raw)
		return
	}
	// The secret must be in no byte the host gets, but for the id of an
	// answer echoing an id the host sent: that is the host's own bytes.
	for _, p := range ps {
		if p.key == "id" && last(ps, "method") == nil && m.sentIDs[string(p.val)] {
			continue
		}
		if bytes.Contains([]byte(p.key), []byte(fuzzSecret)) || bytes.Contains(p.val, []byte(fuzzSecret)) {
			t.Errorf("secret in a host-bound message: %s", raw)
		}
		for _, s := range append(jsonStrings(p.val), p.key) {
			if strings.Contains(s, fuzzSecret) {
				t.Errorf("secret in a host-bound string once decoded: %s", raw)
			}
		}
	}
	if last(ps, "method") != nil {
		return // a request or notification of the server's, or the relay's
	}
	id := last(ps, "id")
	k := string(id)
	if _, counted := m.requests[k]; !counted || !validID(id) {
		return
	}
	m.answers[k]++
	if m.answers[k] > m.requests[k] {
		t.Errorf("id %s answered %d times for %d request(s): %s", k, m.answers[k], m.requests[k], raw)
	}
	open := m.open[k]
	if len(open) == 0 {
		return
	}
	isError := all(ps, "result") == nil
	// A relay error for a second request under an id in flight answers the
	// newest; the server's answer goes to the oldest.
	method := open[0]
	if isError {
		method = open[len(open)-1]
		m.open[k] = open[:len(open)-1]
	} else {
		m.open[k] = open[1:]
	}
	for _, result := range allFold(ps, "result") {
		m.checkList(method, result, raw)
	}
}

// checkList checks the list answer of a list request.
func (m *fuzzModel) checkList(method string, result, raw []byte) {
	var key, nameKey string
	var decide func(string) profiles.Decision
	switch method {
	case "tools/list":
		key, nameKey, decide = "tools", "name", m.pol.Tool
	case "prompts/list":
		key, nameKey, decide = "prompts", "name", m.pol.Prompt
	case "resources/list":
		key, nameKey, decide = "resources", "uri", m.pol.Resource
	case "resources/templates/list":
		key, nameKey, decide = "resourceTemplates", "uriTemplate", m.pol.Resource
	default:
		return
	}
	rps, ok := pairsOf(result)
	if !ok {
		return
	}
	for _, list := range allFold(rps, key) {
		var elems []json.RawMessage
		if json.Unmarshal(list, &elems) != nil {
			continue
		}
		for _, e := range elems {
			eps, ok := pairsOf(e)
			if !ok {
				continue
			}
			for _, n := range allFold(eps, nameKey) {
				var name string
				if json.Unmarshal(n, &name) == nil && !decide(name).Allowed {
					m.t.Errorf("hidden %s %q in the %s answer the host read: %s", key, name, method, raw)
				}
			}
		}
	}
}

// serverBound checks one message the server received.
func (m *fuzzModel) serverBound(raw []byte) {
	if !json.Valid(raw) {
		return
	}
	if v := bytes.TrimSpace(raw); len(v) > 0 && v[0] == '[' {
		var elems []json.RawMessage
		if json.Unmarshal(v, &elems) == nil {
			for _, e := range elems {
				m.serverBound(e)
			}
		}
		return
	}
	ps, ok := pairsOf(raw)
	if !ok {
		return
	}
	for _, mv := range allFold(ps, "method") {
		var method string
		if json.Unmarshal(mv, &method) != nil {
			continue
		}
		for _, params := range allFold(ps, "params") {
			m.checkCall(method, params, raw)
		}
	}
}

func (m *fuzzModel) checkCall(method string, params, raw []byte) {
	pps, ok := pairsOf(params)
	if !ok {
		return
	}
	var key string
	var decide func(string) profiles.Decision
	switch method {
	case "tools/call":
		key, decide = "name", m.pol.Tool
	case "prompts/get":
		key, decide = "name", m.pol.Prompt
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		key, decide = "uri", m.pol.Resource
	case "completion/complete":
		for _, ref := range allFold(pps, "ref") {
			rps, ok := pairsOf(ref)
			if !ok {
				continue
			}
			for _, n := range allFold(rps, "name") {
				var s string
				if json.Unmarshal(n, &s) == nil && !m.pol.Prompt(s).Allowed {
					m.t.Errorf("completion for hidden prompt %q reached the server: %s", s, raw)
				}
			}
			for _, n := range allFold(rps, "uri") {
				var s string
				if json.Unmarshal(n, &s) == nil && !m.pol.Resource(s).Allowed {
					m.t.Errorf("completion for hidden resource %q reached the server: %s", s, raw)
				}
			}
		}
		return
	default:
		return
	}
	for _, n := range allFold(pps, key) {
		var s string
		if json.Unmarshal(n, &s) == nil && !decide(s).Allowed {
			m.t.Errorf("%s of hidden %q reached the server: %s", method, s, raw)
		}
	}
}

// pair is one member of a JSON object, duplicates kept.
type pair struct {
	key string
	val json.RawMessage
}

// pairsOf returns the members of the JSON object raw in order, or false
// when raw is not an object.
func pairsOf(raw []byte) ([]pair, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []pair
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, _ := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, pair{k, v})
	}
	return out, true
}

// last is the value of the last member named key exactly, as JavaScript
// reads it.
func last(ps []pair, key string) json.RawMessage {
	var v json.RawMessage
	for _, p := range ps {
		if p.key == key {
			v = p.val
		}
	}
	return v
}

// all returns the values of every member named key exactly.
func all(ps []pair, key string) []json.RawMessage {
	var out []json.RawMessage
	for _, p := range ps {
		if p.key == key {
			out = append(out, p.val)
		}
	}
	return out
}

// allFold returns the values of every member whose key equals key ignoring
// case: what some reader, first or last duplicate winning, case-sensitive
// or not, may take for it.
func allFold(ps []pair, key string) []json.RawMessage {
	var out []json.RawMessage
	for _, p := range ps {
		if strings.EqualFold(p.key, key) {
			out = append(out, p.val)
		}
	}
	return out
}

// misleading reports an object a peer may read another message from than
// the relay does: an envelope key twice, or a key that differs from one
// only in case.
func misleading(ps []pair) bool {
	seen := map[string]bool{}
	for _, p := range ps {
		for _, k := range []string{"jsonrpc", "id", "method", "params", "result", "error"} {
			switch {
			case p.key == k && seen[k]:
				return true
			case p.key == k:
				seen[k] = true
			case strings.EqualFold(p.key, k):
				return true
			}
		}
	}
	return false
}

// jsonStrings returns every string in raw, keys included, decoded.
func jsonStrings(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var out []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		if s, ok := tok.(string); ok {
			out = append(out, s)
		}
	}
}

// validID reports an id MCP allows: a string or an integer (in any JSON
// spelling of an integral number).
func validID(id []byte) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 {
		return false
	}
	if id[0] == '"' {
		return true
	}
	f, err := strconv.ParseFloat(string(id), 64)
	return err == nil && f == math.Trunc(f) && !math.IsInf(f, 0)
}

// fuzzSeeds start the fuzzer from realistic sessions.
var fuzzSeeds = []string{
	`h {"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"c","version":"1"}}}
s {"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{"prompts":{},"resources":{}},"serverInfo":{"name":"s"}}}
h {"jsonrpc":"2.0","method":"notifications/initialized"}
h {"jsonrpc":"2.0","id":1,"method":"tools/list"}
s {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"get_a"},{"name":"delete_a"},{"name":"get_hidden"},{"name":"secret_x"}]}}
r2
h {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_a","arguments":{"k":"v"}}}
s {"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"S3cr3t-T0ken-Value"}]}}
r3
h {"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"get_hidden"}}
h {"jsonrpc":"2.0","id":3,"method":"prompts/list"}
s {"jsonrpc":"2.0","id":3,"result":{"prompts":[{"name":"safe1"},{"name":"other"}]}}
q
s {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"S3cr3t\u002dT0ken-Value"}}`,
	`h {"jsonrpc":"2.0","id":1,"method":"resources/list"}
h {"jsonrpc":"2.0","id":1,"method":"tools/list"}
s {"jsonrpc":"2.0","id":1.0,"result":{"resources":[{"uri":"file:///data/x"},{"uri":"file:///etc/passwd"}],"Resources":[{"uri":"file:///etc/shadow"}]}}
h [{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///etc/passwd"}},{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///data/y"}}]
h {"jsonrpc":"2.0","id":4,"method":"resources/templates/list"}
s {"jsonrpc":"2.0","id":4,"result":{"resourceTemplates":[{"uriTemplate":"file:///data/{x}"},{"uriTemplate":"file:///etc/{x}"}]}}
h {"jsonrpc":"2.0","id":5,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"other"},"argument":{"name":"a","value":"b"}}}
h not json
s {"jsonrpc":"2.0","id":9,"result":{}}
s [{"jsonrpc":"2.0","id":3,"result":{"contents":[]}},{"jsonrpc":"2.0","id":"S3cr3t-T0ken-Value","method":"ping"}]
r0
x`,
	`h {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_a","Name":"delete_a"}}
h {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_a","name":"get_a"}}
h {"jsonrpc":"2.0","id":3,"Method":"tools/call","params":{"name":"delete_a"}}
h {"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_a"}}
h {"jsonrpc":"2.0","id":null,"method":"ping"}
h {"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}
h {"jsonrpc":"2.0","id":9007199254740992,"method":"ping"}
s {"jsonrpc":"2.0","id":9007199254740992,"result":{}}
h {"jsonrpc":"2.0","id":5,"method":"tools/list"}
s {"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"delete_a"}],"tools":[{"name":"get_a"}]}}
h {"jsonrpc":"2.0","id":6,"method":"tools/list"}
s {"jsonrpc":"2.0","id":6,"result":{"tools":[{"name":"delete_a","name":"get_a"},{"name":"get_b","Name":"delete_b"}]}}
s {"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"S3cr3t-T0ken-Value"}}
h []
h {"jsonrpc":"2.0","id":8,"method":"x","params":{"S3cr3t-T0ken-Value":1}}
s {"jsonrpc":"2.0","id":8,"result":{"S3cr3t-T0ken-Value":1}}
h {"jsonrpc":"2.0","id":10,"method":"tools/list"}
s {"jsonrpc":"2.0","id":10,"result":{"tools":[{"name":"delete_a"}]},"result":{"tools":[]}}
h {"jsonrpc":"2.0","id":11,"method":"tools/list"}
s {"jsonrpc":"2.0","id":11,"id":12,"result":{"tools":[]}}`,
}
