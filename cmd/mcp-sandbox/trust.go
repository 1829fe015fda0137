package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-sandbox/mcp-sandbox/shim"
	"github.com/mcp-sandbox/mcp-sandbox/shim/pins"
)

// rawTools collects the tool definitions exactly as the server sent them
// (the SDK's types drop fields a pin covers), in canonical form.
type rawTools struct {
	mu    sync.Mutex
	defs  map[string]json.RawMessage
	order []string
}

func (rt *rawTools) capture(msg []byte) {
	var env struct {
		Result *struct {
			Tools []json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if json.Unmarshal(msg, &env) != nil || env.Result == nil {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.defs == nil {
		rt.defs = map[string]json.RawMessage{}
	}
	for _, t := range env.Result.Tools {
		name, def, err := pins.Canonical(t)
		if err != nil {
			continue
		}
		if _, ok := rt.defs[name]; !ok {
			rt.order = append(rt.order, name)
		}
		rt.defs[name] = def
	}
}

func loadPins(server string) (map[string]string, error) {
	store, err := pinStore()
	if err != nil {
		return nil, err
	}
	return store.Pinned(server)
}

// pinState is the PIN column of `tools`: pinned, changed, new, or "not
// pinned yet" before the first run.
func pinState(pinned map[string]string, name string, def json.RawMessage) string {
	switch d, ok := pinned[name]; {
	case pinned == nil:
		return "not pinned yet"
	case !ok:
		return "new"
	case def == nil || d != pins.Digest(def):
		return "changed"
	}
	return "pinned"
}

func cmdTrust(ctx context.Context, s Streams, args []string) error {
	var timeout time.Duration
	var rebuild bool
	name, cf, err := parseName("trust", s, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&rebuild, "rebuild", false, "rebuild the server's image from its build context first")
		fs.DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	})
	if err != nil {
		return err
	}
	log, sink, closeLog, err := newLogger(s, cf)
	if err != nil {
		return err
	}
	defer closeLog()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sess, err := openSession(ctx, s, log, cf.config, name, sessionOptions{rebuild: rebuild, interactive: s.InTTY})
	if err != nil {
		return err
	}
	sink.red.Store(sess.red)
	defer sess.close()

	raw := &rawTools{}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcp-sandbox-trust", Version: version}, nil)
	cs, err := client.Connect(ctx, &connTransport{conn: sess.upstream, capture: raw.capture}, &mcp.ClientSessionOptions{ProtocolVersion: shim.LatestProtocolVersion})
	if err != nil {
		return upstreamFailed(fmt.Errorf("initialize %s: %w", name, err))
	}
	defer cs.Close()
	for _, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return upstreamFailed(fmt.Errorf("tools/list: %w", err))
		}
	}
	store, err := pinStore()
	if err != nil {
		return err
	}
	trusted, err := store.Load(name)
	if err != nil {
		return err
	}
	changed := map[string]json.RawMessage{}
	for _, tool := range raw.order {
		def := raw.defs[tool]
		old, ok := trusted[tool]
		switch {
		case !ok:
			fmt.Fprintf(s.Out, "new tool %s:\n%s\n", sess.red.String(tool), sess.red.String(pins.Diff(nil, def)))
		case old.SHA256 != pins.Digest(def):
			fmt.Fprintf(s.Out, "changed tool %s (trusted %s):\n%s\n", sess.red.String(tool), old.Trusted.Format(time.RFC3339), sess.red.String(pins.Diff(old.Definition, def)))
		default:
			continue
		}
		changed[tool] = def
	}
	for _, tool := range slices.Sorted(maps.Keys(trusted)) {
		if _, ok := raw.defs[tool]; !ok {
			fmt.Fprintf(s.Out, "tool %s is no longer offered (its pin is kept)\n", sess.red.String(tool))
		}
	}
	if len(changed) == 0 {
		fmt.Fprintf(s.Out, "server %s: all %d tools match their pinned definitions; nothing to trust\n", name, len(raw.order))
		return nil
	}
	if err := store.Pin(name, changed); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "server %s: trusted %d tool definitions; they show from the next start of the server\n", name, len(changed))
	return nil
}
