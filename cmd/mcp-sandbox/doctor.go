package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
	"github.com/mcp-sandbox/mcp-sandbox/shim/remote"
)

// cmdDoctor checks what `run` depends on, one line each, so that a server
// that fails in the host can be diagnosed from a terminal: the
// configuration, the Docker engine, the keychain, and per server its image,
// secrets and login.
func cmdDoctor(ctx context.Context, s Streams, args []string) error {
	var cf commonFlags
	fs := newFlagSet("doctor", "[flags]", s, &cf)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("doctor takes no arguments, got %s", strings.Join(pos, " "))
	}
	failures := 0
	report := func(state, what, detail string) {
		if state == "FAIL" {
			failures++
		}
		fmt.Fprintf(s.Out, "%-4s  %-9s %s\n", state, what, detail)
	}
	check := func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, 10*time.Second)
	}

	cfg, cfgErr := loadConfig(cf.config)
	if cfgErr != nil {
		report("FAIL", "config", cfgErr.Error())
	} else {
		report("ok", "config", fmt.Sprintf("%s (%d servers)", cfg.Path, len(cfg.Servers)))
	}

	// The engine matters only for local servers, but is worth knowing
	// about when there is no configuration yet.
	var l *launcher.Launcher
	if cfg == nil || hasLocal(cfg) {
		l = doctorEngine(ctx, report)
		if l != nil {
			defer l.Close()
		}
	}

	store := keychainStore(cfg)
	cctx, cancel := check(ctx)
	names, err := store.List(cctx)
	cancel()
	if err != nil {
		// Only secrets and remote logins need the keychain.
		state := "note"
		if cfg == nil || needsKeychain(cfg) {
			state = "FAIL"
		}
		report(state, "keychain", fmt.Sprintf("service %q: %v (on Linux a Secret Service such as gnome-keyring must run, unlocked)", store.Service(), err))
		store = nil
	} else {
		report("ok", "keychain", fmt.Sprintf("service %q, %d secrets stored", store.Service(), len(names)))
	}
	if cfg == nil {
		// The configuration's own error decides the exit code, as for
		// check and run.
		return fmt.Errorf("%d problem(s) found: %w", failures, cfgErr)
	}

	servers := make([]string, 0, len(cfg.Servers))
	for n := range cfg.Servers {
		servers = append(servers, n)
	}
	sort.Strings(servers)
	for _, n := range servers {
		srv := cfg.Servers[n]
		what := "[" + n + "]"
		doctorDangerousMounts(report, what, srv)
		if srv.Remote() {
			doctorRemote(ctx, report, what, store, srv)
		} else if l != nil {
			doctorImage(ctx, report, what, l, srv)
		}
		if !srv.Remote() {
			report(egressState(srv.Sandbox), what, "egress "+describeEgress(srv.Sandbox))
			if l != nil && srv.Sandbox.Network == profiles.NetworkFiltered {
				doctorEgressImage(ctx, report, what, l)
			}
		}
		if store == nil {
			continue
		}
		var missing []string
		seen := map[string]bool{}
		for _, p := range keychain.Probe(ctx, store, srv.SecretRefs()) {
			if seen[p.Ref.Item] {
				continue
			}
			seen[p.Ref.Item] = true
			switch {
			case errors.Is(p.Err, keychain.ErrNotFound):
				missing = append(missing, p.Ref.Item)
			case p.Err != nil:
				report("FAIL", what, fmt.Sprintf("secret %q: %v", p.Ref.Item, p.Err))
			}
		}
		slices.Sort(missing)
		for _, item := range missing {
			report("FAIL", what, fmt.Sprintf("secret %q is missing: mcp-sandbox secret set %s", item, item))
		}
	}
	return doctorResult(failures)
}

// doctorEngine reports the Docker engine: where it is and how it was found
// (DOCKER_HOST, a context, a well-known socket), or why none answers. A
// starting engine is not waited for: doctor reports what it sees now.
func doctorEngine(ctx context.Context, report func(state, what, detail string)) *launcher.Launcher {
	ep, err := launcher.ResolveEndpoint(launcher.HostSystem())
	if err != nil {
		report("FAIL", "docker", fmt.Sprintf("%v (fix or remove it, or set DOCKER_HOST)", err))
		return nil
	}
	l, err := launcher.New(launcher.Options{Endpoint: &ep, EngineWait: -1})
	if err != nil {
		report("FAIL", "docker", err.Error())
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := l.EngineInfo(cctx)
	if err != nil {
		l.Close()
		report("FAIL", "docker", err.Error())
		return nil
	}
	report("ok", "docker", fmt.Sprintf("%s at %s (%s)", info, ep.Host, ep.From()))
	if note := info.Note(); note != "" {
		report("note", "docker", note)
	}
	return l
}

func doctorResult(failures int) error {
	if failures > 0 {
		return fmt.Errorf("%d problem(s) found", failures)
	}
	return nil
}

func needsKeychain(cfg *profiles.Config) bool {
	for _, srv := range cfg.Servers {
		if srv.Remote() || len(srv.SecretRefs()) > 0 {
			return true
		}
	}
	return false
}

func hasLocal(cfg *profiles.Config) bool {
	for _, srv := range cfg.Servers {
		if !srv.Remote() {
			return true
		}
	}
	return false
}

func doctorImage(ctx context.Context, report func(state, what, detail string), what string, l *launcher.Launcher, srv *profiles.Server) {
	image := serverImage(srv)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	present, err := l.ImagePresent(cctx, image)
	switch {
	case err != nil:
		report("FAIL", what, fmt.Sprintf("image %s: %v", image, err))
	case present:
		report("ok", what, "image "+image+" present")
	case srv.Package != nil:
		report("note", what, fmt.Sprintf("image %s will be built from %s on first run (or now: mcp-sandbox prepare %s)", image, srv.Package.Spec, srv.Name))
	case srv.Build != "":
		report("note", what, fmt.Sprintf("image %s is missing: the first run builds it from %s while the host waits; build it now with mcp-sandbox prepare %s", image, srv.Build, srv.Name))
	default:
		report("note", what, fmt.Sprintf("image %s is missing: the first run pulls it while the host waits; pull it now with mcp-sandbox prepare %s", image, srv.Name))
	}
}

func doctorRemote(ctx context.Context, report func(state, what, detail string), what string, store *keychain.Store, srv *profiles.Server) {
	if store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := remote.GetStatus(ctx, remote.Options{Server: srv.Name, URL: srv.URL, Secrets: store, NotFound: keychain.ErrNotFound})
	switch {
	case err != nil:
		report("FAIL", what, fmt.Sprintf("%s: %v", srv.URL, err))
	case st.LoggedIn:
		report("ok", what, fmt.Sprintf("%s, logged in", srv.URL))
	default:
		report("note", what, fmt.Sprintf("%s, not logged in: the first run opens the browser, or run mcp-sandbox login %s now", srv.URL, srv.Name))
	}
}
