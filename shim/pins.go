package shim

import (
	"encoding/json"

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
}

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

// toolsChanged is called when the server says its tool list changed: until
// the host lists again, no tool counts as seen, so a changed definition is
// never called under its old trust.
func (r *Relay) toolsChanged(Conn) {
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	if r.g.pins != nil {
		r.g.pins.seen = map[string]string{}
	}
}
