package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/launcher/egress"
	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim"
)

// egressProxyCommand is the hidden command the egress sidecar container runs
// (the launcher builds that image from this very binary). It is not listed
// in the usage: nobody runs it by hand.
const egressProxyCommand = launcher.EgressCommand

// cmdEgressProxy serves a server's egress allow-list until SIGTERM: its
// configuration comes from the environment, its events go to stdout (which
// here is the launcher's pipe, not an MCP channel).
func cmdEgressProxy(ctx context.Context, s Streams, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments", egressProxyCommand)
	}
	var cfg egress.Config
	if err := json.Unmarshal([]byte(os.Getenv(launcher.EgressConfigEnv)), &cfg); err != nil {
		return &configError{fmt.Errorf("%s: %w", launcher.EgressConfigEnv, err)}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return egress.Run(ctx, cfg, s.Out)
}

// describeEgress says in one line where a local server's traffic may go.
func describeEgress(sb profiles.Sandbox) string {
	switch sb.Network {
	case "bridge":
		return `UNRESTRICTED (network = "bridge"): the server can reach any address`
	case profiles.NetworkFiltered:
		rules := make([]string, 0, len(sb.AllowHosts))
		for _, s := range sb.AllowHosts {
			if r, err := egress.ParseRule(s); err == nil {
				rules = append(rules, r.String())
			}
		}
		d := "filtered: only " + strings.Join(rules, ", ")
		if len(sb.Hosts) > 0 {
			names := slices.Sorted(maps.Keys(sb.Hosts))
			pairs := make([]string, 0, len(names))
			for _, n := range names {
				pairs = append(pairs, n+"="+sb.Hosts[n])
			}
			d += " (hosts " + strings.Join(pairs, ", ") + ")"
		}
		return d
	default:
		return "none (no network)"
	}
}

// egressWarning is what check warns about a server's egress, or "".
func egressWarning(sb profiles.Sandbox) string {
	if sb.Network == "bridge" {
		return `network = "bridge" lets the server reach the whole internet and your LAN; list what it needs in allow_hosts instead`
	}
	return ""
}

// egressSpec turns a server's allow-list into the launcher's, with refusals
// sent to record (the audit).
func egressSpec(sb profiles.Sandbox, record func(egress.Event)) *launcher.Egress {
	if sb.Network != profiles.NetworkFiltered {
		return nil
	}
	return &launcher.Egress{Allow: sb.AllowHosts, Hosts: sb.Hosts, OnRefused: record}
}

// egressAudit holds the audit log once it is open, for refusals that the
// sidecar reports from the start of the session.
type egressAudit struct {
	server string
	logs   atomic.Pointer[auditLogs]
}

// record writes one refused connection as an audit record: method
// "egress/refused", name the destination, decision "blocked".
func (e *egressAudit) record(ev egress.Event) {
	dest := ev.Host
	if ev.Port != 0 {
		dest = net.JoinHostPort(ev.Host, strconv.Itoa(ev.Port))
	}
	logs := e.logs.Load()
	if logs == nil {
		return // before the audit opened: the log has it
	}
	logs.current().Record(shim.AuditRecord{
		Time:     time.Now().UTC(),
		Server:   e.server,
		Method:   "egress/refused",
		Name:     dest,
		Decision: "blocked",
		Rule:     "allow_hosts",
		Error:    ev.Via + ": " + ev.Reason,
	})
}

// sessionEgress is the egress line tools shows; "" for remote servers.
func sessionEgress(srv *profiles.Server) string {
	if srv.Remote() {
		return ""
	}
	return describeEgress(srv.Sandbox)
}

// egressState is doctor's verdict on a local server's egress.
func egressState(sb profiles.Sandbox) string {
	if sb.Network == "bridge" {
		return "warn"
	}
	return "ok"
}

// current returns the audit log in use (nil when auditing is off).
func (a *auditLogs) current() *shim.Auditor {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cur
}

// doctorEgressImage reports on the egress sidecar's image.
func doctorEgressImage(ctx context.Context, report func(state, what, detail string), what string, l *launcher.Launcher) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tag, present, err := l.EgressImage(ctx)
	switch {
	case err != nil:
		report("FAIL", what, fmt.Sprintf("egress sidecar image: %v", err))
	case present:
		report("ok", what, "egress sidecar image "+tag+" present")
	default:
		report("note", what, "egress sidecar image "+tag+" will be built from this binary on first run")
	}
}
