package shim

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/pins"
)

// A PinStore keeps the trusted tool definitions of servers ([pins.Store]
// satisfies it).
type PinStore interface {
	// Pinned returns name → digest of server's trusted tools; nil when
	// nothing is pinned for it yet.
	Pinned(server string) (map[string]string, error)
	// Pin records canonical definitions as trusted.
	Pin(server string, defs map[string]json.RawMessage) error
}

var _ PinStore = (*pins.Store)(nil)

// pinState is what the relay knows of a pinned server's tools.
type pinState struct {
	loaded  bool
	pinned  map[string]string // trusted: name → digest
	first   bool              // nothing was pinned: this session's first full list is recorded
	seen    map[string]string // as offered in this session's last list: name → digest
	loadErr error

	// After the server's list_changed the relay lists the tools itself to
	// re-check them against the pins. gen counts list_changed
	// notifications; asked maps the id key of each of the relay's own
	// tools/list requests to the gen it was sent for (an answer for an
	// older gen is stale); relist is closed when the re-check is done.
	gen    int
	asked  map[string]int
	relist chan struct{}
}

// relistWait bounds how long a call to a pinned tool waits for the relay's
// own re-listing after a list_changed before it is refused.
const relistWait = 5 * time.Second

// pinsLocked loads the pins on first use. r.g.mu must be held.
func (r *Relay) pinsLocked() *pinState {
	if r.g.pins == nil {
		r.g.pins = &pinState{seen: map[string]string{}}
	}
	ps := r.g.pins
	if !ps.loaded && r.opts.Pins != nil {
		ps.loaded = true
		ps.pinned, ps.loadErr = r.opts.Pins.Pinned(r.opts.Server)
		if ps.loadErr != nil {
			r.log.Error().Err(ps.loadErr).Msg("cannot read pinned tool definitions; every tool stays hidden")
		}
		if ps.pinned == nil && ps.loadErr == nil {
			ps.first = true
			ps.pinned = map[string]string{}
		}
	}
	return ps
}

func (r *Relay) pinning(pol *profiles.Policy) bool {
	return r.opts.Pins != nil && pol.Pin()
}

// trustHint is the rule text of a tool pinning hides.
func (r *Relay) trustHint(why string) string {
	return "pin: " + why + `; run "mcp-sandbox trust ` + r.opts.Server + `" to review and trust it`
}

// pinnedTool is pol.Tool, and with pinning on, refuses a tool whose
// definition in this session's list is not the trusted one.
func (r *Relay) pinnedTool(pol *profiles.Policy, name string) profiles.Decision {
	d := pol.Tool(name)
	if !d.Allowed || !r.pinning(pol) {
		return d
	}
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	ps := r.pinsLocked()
	cur, seen := ps.seen[name]
	trusted, pinned := ps.pinned[name]
	if !seen && pinned && ps.relist != nil {
		// The relay is listing the tools again after a list_changed:
		// wait for that (briefly), then decide on what it found.
		ch := ps.relist
		r.g.mu.Unlock()
		t := time.NewTimer(relistWait)
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
		r.g.mu.Lock()
		cur, seen = ps.seen[name]
		trusted, pinned = ps.pinned[name]
	}
	switch {
	case ps.loadErr != nil:
		return profiles.Decision{Rule: r.trustHint("the pinned definitions cannot be read")}
	case !seen && pinned:
		return profiles.Decision{Rule: "pin: not in a tools/list since the server (re)started or changed its list; list tools first"}
	case !pinned:
		return profiles.Decision{Rule: r.trustHint("a new tool, not trusted yet")}
	case cur != trusted:
		return profiles.Decision{Rule: r.trustHint("its definition changed since it was trusted")}
	}
	return d
}

// pinList drops from a tools/list answer the tools whose definition is not
// the trusted one, and remembers what was offered. On the first sight of a
// server, everything it lists is recorded as trusted.
func (r *Relay) pinList(pol *profiles.Policy, raw []byte) []byte {
	if !r.pinning(pol) {
		return raw
	}
	result := member(raw, "result")
	list := member(result, "tools")
	if list == nil {
		return raw
	}
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	ps := r.pinsLocked()
	record := map[string]json.RawMessage{}
	kept := []byte{'['}
	n, dropped := 0, false
	eachElement(list, func(elem []byte) {
		name, def, err := pins.Canonical(elem)
		if err != nil {
			dropped = true
			return
		}
		dig := pins.Digest(def)
		ps.seen[name] = dig
		if ps.first && ps.loadErr == nil {
			if _, ok := ps.pinned[name]; !ok {
				record[name] = def
				ps.pinned[name] = dig
			}
		}
		if ps.loadErr != nil || ps.pinned[name] != dig {
			dropped = true
			r.log.Warn().Str("tool", r.opts.Redactor.String(name)).Msg("tool hidden: its definition is not the trusted one (mcp-sandbox trust " + r.opts.Server + ")")
			return
		}
		if n > 0 {
			kept = append(kept, ',')
		}
		kept = append(kept, elem...)
		n++
	})
	if len(record) > 0 {
		if err := r.opts.Pins.Pin(r.opts.Server, record); err != nil {
			r.log.Error().Err(err).Msg("cannot record tool definitions")
		} else {
			r.log.Info().Int("tools", len(record)).Msg("pinned tool definitions on first sight")
		}
	}
	if cursor := member(result, "nextCursor"); cursor == nil || string(cursor) == "null" || string(cursor) == `""` {
		ps.first = false
	}
	if !dropped {
		return raw
	}
	kept = append(kept, ']')
	return setMember(raw, "result", setMember(result, "tools", kept))
}

// toolsChanged is called when the server says its tool list changed: no
// tool counts as seen any more, so a changed definition is never called
// under its old trust. With pinning on, the relay then lists the tools
// itself (ids in its own namespace, the answer consumed), so calls to tools
// that did not change go on without waiting for the host to list again.
func (r *Relay) toolsChanged(upstream Conn) {
	r.g.mu.Lock()
	if !r.pinning(r.Policy()) {
		if r.g.pins != nil {
			r.g.pins.seen = map[string]string{}
		}
		r.g.mu.Unlock()
		return
	}
	ps := r.pinsLocked()
	ps.seen = map[string]string{}
	ps.gen++
	if ps.relist == nil {
		ps.relist = make(chan struct{})
	}
	gen := ps.gen
	r.g.mu.Unlock()
	r.relistTools(upstream, gen, "")
}

// relistTools sends the relay's own tools/list (from cursor) for gen.
func (r *Relay) relistTools(upstream Conn, gen int, cursor string) {
	r.g.mu.Lock()
	r.g.seq++
	id := r.g.idPrefix + "tools-" + strconv.Itoa(r.g.seq)
	idRaw, _ := json.Marshal(id)
	key, _ := idKey(idRaw)
	ps := r.pinsLocked()
	if ps.asked == nil {
		ps.asked = map[string]int{}
	}
	ps.asked[key] = gen
	r.g.mu.Unlock()
	req := map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/list"}
	if cursor != "" {
		req["params"] = map[string]any{"cursor": cursor}
	}
	raw, _ := json.Marshal(req)
	// Not from the server's reader itself: a server busy writing to us
	// must not block the reader that would drain it.
	go func() {
		if err := upstream.WriteMessage(raw); err != nil {
			r.log.Debug().Err(err).Msg("could not write to server")
			r.g.mu.Lock()
			delete(ps.asked, key)
			r.relistDoneLocked(ps, gen)
			r.g.mu.Unlock()
		}
	}()
}

// relistAnswer consumes the server's answer to the relay's own tools/list:
// the tools it lists count as seen with their current definitions (the
// pins decide at each call, as after a host's list). It reports whether m
// was such an answer.
func (r *Relay) relistAnswer(upstream Conn, m *message) bool {
	key, ok := idKey(m.id)
	if !ok {
		return false
	}
	r.g.mu.Lock()
	ps := r.g.pins
	if ps == nil {
		r.g.mu.Unlock()
		return false
	}
	gen, mine := ps.asked[key]
	if !mine {
		r.g.mu.Unlock()
		return false
	}
	delete(ps.asked, key)
	if gen != ps.gen {
		// Another list_changed came after this list was asked for; its
		// own list decides.
		r.g.mu.Unlock()
		return true
	}
	list := member(m.result, "tools")
	if m.err != nil || list == nil {
		r.relistDoneLocked(ps, gen)
		r.g.mu.Unlock()
		r.log.Warn().Msg("the server did not list its tools after list_changed; its tools wait for the host to list them")
		return true
	}
	eachElement(list, func(elem []byte) {
		if name, def, err := pins.Canonical(elem); err == nil {
			ps.seen[name] = pins.Digest(def)
		}
	})
	cursor, _ := stringMember(m.result, "nextCursor")
	if cursor == "" {
		r.relistDoneLocked(ps, gen)
	}
	r.g.mu.Unlock()
	if cursor != "" {
		r.relistTools(upstream, gen, cursor)
	}
	return true
}

// relistDoneLocked releases the calls waiting for gen's re-check.
// r.g.mu must be held.
func (r *Relay) relistDoneLocked(ps *pinState, gen int) {
	if gen == ps.gen && ps.relist != nil {
		close(ps.relist)
		ps.relist = nil
	}
}
