package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/docker/go-units"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
)

func cmdCheck(ctx context.Context, s Streams, args []string) error {
	var cf commonFlags
	fs := newFlagSet("check", "[flags]", s, &cf)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("check takes no arguments, got %s", strings.Join(pos, " "))
	}
	cfg, err := loadConfig(cf.config)
	if err != nil {
		return err
	}
	store := keychainStore(cfg)
	fmt.Fprintf(s.Out, "%s: valid\n", cfg.Path)
	names := make([]string, 0, len(cfg.Servers))
	for n := range cfg.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	missing := 0
	for _, n := range names {
		srv := cfg.Servers[n]
		pol, err := cfg.Policy(n, "")
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "\n[%s]\n", n)
		describeServer(s.Out, srv)
		warnDangerousMounts(s.Out, srv)
		missing += describeSecrets(ctx, s.Out, store, srv)
		if pol == nil {
			fmt.Fprintln(s.Out, "  policy:   no profile: every tool, prompt and resource passes")
		} else {
			for i, line := range strings.Split(strings.TrimRight(pol.Describe(), "\n"), "\n") {
				label := ""
				if i == 0 {
					label = "policy:"
				}
				fmt.Fprintf(s.Out, "  %-9s %s\n", label, strings.TrimSpace(line))
			}
		}
	}
	if missing > 0 {
		return configErrorf("%d secret(s) missing from the keychain (service %q)", missing, store.Service())
	}
	return nil
}

func describeServer(w io.Writer, srv *profiles.Server) {
	if srv.Remote() {
		transport := srv.Transport
		if transport == "" {
			transport = "auto"
		}
		fmt.Fprintf(w, "  remote:   %s (transport %s)\n", srv.URL, transport)
		if o := srv.OAuth; o != nil {
			client := "dynamic registration"
			if o.ClientID != "" {
				client = "client " + o.ClientID
			}
			fmt.Fprintf(w, "  oauth:    %s, scopes %v\n", client, o.Scopes)
		}
		return
	}
	if srv.Package != nil {
		describePackage(w, srv)
	} else if srv.Build != "" {
		fmt.Fprintf(w, "  image:    %s (built from %s)\n", orDefault(srv.Image, launcher.DefaultImage(srv.Name)), srv.Build)
	} else {
		fmt.Fprintf(w, "  image:    %s\n", srv.Image)
	}
	if len(srv.Args) > 0 {
		fmt.Fprintf(w, "  args:     %q\n", srv.Args)
	}
	sb := srv.Sandbox
	ro := "read-only root"
	if !sb.ReadOnly {
		ro = "WRITABLE root"
	}
	network := "no network"
	if sb.Network != "none" {
		network = "network " + sb.Network
	}
	fmt.Fprintf(w, "  sandbox:  %s, %s, user %s, memory %s, cpus %g, pids %d, /tmp %s, all capabilities dropped, no-new-privileges\n",
		network, ro, sb.User, units.BytesSize(float64(sb.Memory)), sb.CPUs, sb.Pids, units.BytesSize(float64(sb.Tmpfs)))
	fmt.Fprintf(w, "  egress:   %s\n", describeEgress(sb))
	if warn := egressWarning(sb); warn != "" {
		fmt.Fprintf(w, "  warning:  %s\n", warn)
	}
	for _, m := range sb.Mounts {
		mode := "ro"
		if !m.ReadOnly {
			mode = "rw"
		}
		fmt.Fprintf(w, "  mount:    %s -> %s (%s)\n", m.Source, m.Target, mode)
	}
	if len(srv.Env) > 0 {
		keys := make([]string, 0, len(srv.Env))
		for k := range srv.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "  env:      %s\n", strings.Join(keys, ", "))
	}
}

// describeSecrets lists the server's secrets and whether the keychain has
// each; it returns how many are missing.
func describeSecrets(ctx context.Context, w io.Writer, store *keychain.Store, srv *profiles.Server) int {
	missing := 0
	for _, p := range keychain.Probe(ctx, store, srv.SecretRefs()) {
		state := "in keychain"
		switch {
		case errors.Is(p.Err, keychain.ErrNotFound):
			state = "MISSING: mcp-sandbox secret set " + p.Ref.Item
			missing++
		case p.Err != nil:
			state = "keychain unavailable: " + p.Err.Error()
		}
		fmt.Fprintf(w, "  secret:   %s <- %s (%s)\n", p.Ref, p.Ref.Item, state)
	}
	return missing
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
