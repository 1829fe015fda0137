package main

import (
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/shim"
	"github.com/mcp-sandbox/mcp-sandbox/shim/approvalpage"
	"github.com/mcp-sandbox/mcp-sandbox/shim/pins"
)

// guard is what the relay needs for approvals, pins and roots.
type guard struct {
	page  *approvalpage.Page
	pins  *pins.Store
	roots []shim.Mount
}

func (g *guard) close() {
	if g.page != nil {
		g.page.Close()
	}
}

// pinStore is where the trusted tool definitions live: STATE_DIR/pins.
func pinStore() (*pins.Store, error) {
	dir, err := stateDir()
	if err != nil {
		return nil, err
	}
	return &pins.Store{Dir: filepath.Join(dir, "pins")}, nil
}

func guardOptions(s Streams, log zerolog.Logger, sess *session) (*guard, error) {
	store, err := pinStore()
	if err != nil {
		return nil, err
	}
	g := &guard{
		page: approvalpage.New(approvalpage.Options{Logger: log, Output: s.ErrOut}),
		pins: store,
	}
	if !sess.srv.Remote() {
		// A local server reaches only its mounts; roots are cut to
		// them. The slice is non-nil even without mounts: then no root
		// is reachable.
		g.roots = []shim.Mount{}
		for _, m := range sess.srv.Sandbox.Mounts {
			g.roots = append(g.roots, shim.Mount{Source: m.Source, Target: m.Target})
		}
	}
	return g, nil
}
