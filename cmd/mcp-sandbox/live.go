package main

import (
	"errors"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim"
)

// auditLogs are the audit files a session has written to: the one in force
// and those a reload replaced, which calls decided before the reload still
// write to. All are closed when the session ends.
type auditLogs struct {
	log  zerolog.Logger
	mu   sync.Mutex
	path string // of the current one; "" when auditing is off
	cur  *shim.Auditor
	all  []*shim.Auditor
}

// use returns the Auditor for cfg's [audit] table, opening a new file only
// when the destination changed.
func (a *auditLogs) use(cfg *profiles.Config) (*shim.Auditor, error) {
	path, err := auditPath(cfg)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if path == a.path && (a.cur != nil || path == "") {
		return a.cur, nil
	}
	var aud *shim.Auditor
	if path != "" {
		if aud, err = shim.OpenAudit(path); err != nil {
			return nil, err
		}
		a.all = append(a.all, aud)
		a.log.Debug().Str("path", path).Msg("audit log")
	}
	a.path, a.cur = path, aud
	return aud, nil
}

// close closes every audit file, writing what is queued.
func (a *auditLogs) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for _, aud := range a.all {
		errs = append(errs, aud.Close())
		if n := aud.Dropped(); n > 0 {
			a.log.Warn().Int64("dropped", n).Msg("audit records were dropped: the audit file could not keep up")
		}
	}
	a.all = nil
	return errors.Join(errs...)
}

// reloadSettings decides what a reload of the configuration means for the
// running session: the live settings to apply, or, when something changed
// that only a restart applies, why nothing is applied (a profile written for
// a new container must not govern the old one).
func reloadSettings(cur, next *profiles.Config, server, override string, audits *auditLogs) (shim.Settings, []string, error) {
	if why := cur.RestartNeeded(next, server); len(why) > 0 {
		return shim.Settings{}, why, nil
	}
	srv, err := next.Server(server)
	if err != nil {
		return shim.Settings{}, nil, err
	}
	pol, err := next.Policy(server, override)
	if err != nil {
		return shim.Settings{}, nil, err
	}
	aud, err := audits.use(next)
	if err != nil {
		return shim.Settings{}, nil, err
	}
	return shim.Settings{Policy: pol, AuditArguments: srv.AuditArguments, Audit: aud}, nil, nil
}

// restartMessage says what a reload left unapplied.
func restartMessage(why []string) string {
	return "the configuration changed " + strings.Join(why, " and ") + "; restart the server in the host to apply it (nothing of the edit applies until then, the policy included)"
}
