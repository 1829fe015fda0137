package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
	"github.com/mcp-sandbox/mcp-sandbox/shim/remote"
)

// Both kinds of server are a shim.Upstream: the rest of a session does not
// branch on which one it has.
var (
	_ shim.Upstream = (*remote.Conn)(nil)
	_ shim.Process  = (*launcher.Container)(nil)
)

func cmdRun(ctx context.Context, s Streams, args []string) error {
	var profile string
	var rebuild, noWatch bool
	name, cf, err := parseName("run", s, args, func(fs *flag.FlagSet) {
		fs.StringVar(&profile, "profile", "", "use profile `NAME` instead of the server's own")
		fs.BoolVar(&rebuild, "rebuild", false, "rebuild the server's image from its build context first")
		fs.BoolVar(&noWatch, "no-watch", false, "do not reload the profile when the configuration changes")
	})
	if err != nil {
		return err
	}
	log, sink, closeLog, err := newLogger(s, cf)
	if err != nil {
		return err
	}
	defer closeLog()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	sess, err := openSession(ctx, s, log, cf.config, name, sessionOptions{profile: profile, rebuild: rebuild, interactive: true})
	if err != nil {
		return err
	}
	sink.red.Store(sess.red)
	defer sess.close()
	log = sess.log
	logStatsOnSignal(ctx, log)

	audits := &auditLogs{log: log}
	audit, err := audits.use(sess.cfg)
	if err != nil {
		return err
	}
	sess.egressAudit.logs.Store(audits)
	defer func() {
		if err := audits.close(); err != nil {
			log.Error().Err(err).Msg("audit log")
		}
	}()
	guard, err := guardOptions(s, log, sess)
	if err != nil {
		return err
	}
	defer guard.close()
	relay := shim.New(shim.Options{
		Server:         name,
		Logger:         log,
		Policy:         sess.policy,
		Redactor:       sess.red,
		Audit:          audit,
		AuditArguments: sess.srv.AuditArguments,
		Approver:       guard.page,
		Roots:          guard.roots,
		Pins:           guard.pins,
	})

	if !noWatch {
		watchCtx, cancelWatch := context.WithCancel(ctx)
		// The watcher must be gone before the audit files close.
		watched := make(chan struct{})
		defer func() { cancelWatch(); <-watched }()
		go func() {
			defer close(watched)
			watchConfig(watchCtx, log, sess, profile, relay, audits)
		}()
	}

	log.Info().Str("profile", sess.policy.Name()).Msg("relaying")
	host := shim.NewStreamConn(s.In, s.Out)
	err = relay.Serve(ctx, host, sess.upstream)
	switch {
	case err == nil:
		log.Info().Msg("host closed the connection")
		return nil
	case errors.Is(err, context.Canceled):
		log.Info().Msg("stopped by signal")
		return nil
	case errors.Is(err, shim.ErrUpstreamClosed):
		return upstreamFailed(sess.upstream.ExitReason(err))
	default:
		return err
	}
}

// watchConfig re-reads the configuration when it changes and applies the
// live settings (policy, audit_arguments, [audit]) to the relay together. A
// change that needs a new container or connection is reported and nothing of
// it is applied, the policy included.
func watchConfig(ctx context.Context, log zerolog.Logger, sess *session, override string, relay *shim.Relay, audits *auditLogs) {
	cur := sess.cfg
	err := profiles.Watch(ctx, sess.cfg.Path, profiles.WatchOptions{Current: sess.cfg}, func(cfg *profiles.Config) {
		set, restart, err := reloadSettings(cur, cfg, sess.srv.Name, override, audits)
		switch {
		case err != nil:
			log.Error().Err(err).Msg("configuration reloaded but cannot be applied; keeping the last good settings")
		case len(restart) > 0:
			log.Warn().Msg(restartMessage(restart))
		default:
			relay.Apply(set)
			log.Info().Str("profile", set.Policy.Name()).Bool("audit_arguments", set.AuditArguments).Msg("configuration reloaded")
		}
	}, func(err error) {
		log.Error().Err(err).Msg("configuration has an error; keeping the last good policy")
	})
	if err != nil && ctx.Err() == nil {
		log.Error().Err(err).Msg("cannot watch the configuration; edits need a restart")
	}
}

type sessionOptions struct {
	profile string
	rebuild bool
	// interactive allows an OAuth login in the browser when one is needed.
	interactive bool
}

// A session is a started server: its configuration, policy, secrets and the
// connection to it.
type session struct {
	cfg      *profiles.Config
	srv      *profiles.Server
	policy   *profiles.Policy
	red      *redact.Redactor
	upstream shim.Upstream
	launcher *launcher.Launcher // nil for a remote server
	spec     launcher.Spec      // of a local server
	log      zerolog.Logger
	// container is the local server's container (nil for a remote one),
	// and egressAudit receives the refusals of its filtered egress.
	container   *launcher.Container
	egressAudit egressAudit
}

// openSession loads the configuration, resolves the server's secrets and
// starts it: a container for a local server, a connection for a remote one.
func openSession(ctx context.Context, s Streams, log zerolog.Logger, configFlag, name string, opts sessionOptions) (*session, error) {
	cfg, err := loadConfig(configFlag)
	if err != nil {
		return nil, err
	}
	srv, err := cfg.Server(name)
	if err != nil {
		return nil, err
	}
	pol, err := cfg.Policy(name, opts.profile)
	if err != nil {
		return nil, &configError{err}
	}
	store := keychainStore(cfg)
	secrets, err := keychain.Resolve(ctx, store, srv.SecretRefs())
	if err != nil {
		return nil, err
	}
	red, err := redact.New(secrets.Secrets)
	if err != nil {
		return nil, err
	}
	base := log
	log = log.With().Str("server", name).Logger()
	sess := &session{cfg: cfg, srv: srv, policy: pol, red: red, log: log}
	sess.egressAudit.server = name
	if srv.Remote() {
		ro := remoteOptions(s, log, store, srv, secrets, red)
		ro.Interactive = opts.interactive
		conn, err := remote.Dial(ctx, ro)
		if err != nil {
			return nil, upstreamFailed(fmt.Errorf("connect to %s: %w", srv.URL, err))
		}
		sess.upstream = conn
		return sess, nil
	}

	// The launcher tags its lines with the server's name itself.
	l, err := launcher.New(launcher.Options{Logger: base, Progress: s.ErrOut})
	if err != nil {
		return nil, upstreamFailed(err)
	}
	sess.launcher = l
	spec := containerSpec(srv, secrets, opts.rebuild)
	spec.Redact = red.String
	spec.Egress = egressSpec(srv.Sandbox, sess.egressAudit.record)
	sess.spec = spec
	c, err := l.Start(ctx, spec)
	if err != nil {
		l.Close()
		return nil, upstreamFailed(err) // Start names the server
	}
	sess.container = c
	sess.upstream = shim.ProcessUpstream(name, c)
	return sess, nil
}

// containerSpec turns a server's configuration into the launcher's spec.
func containerSpec(srv *profiles.Server, secrets *keychain.Resolved, rebuild bool) launcher.Spec {
	env := make(map[string]string, len(srv.Env)+len(secrets.Env))
	for k, v := range srv.Env {
		env[k] = v
	}
	for k, v := range secrets.Env {
		env[k] = v
	}
	sb := srv.Sandbox
	mounts := make([]launcher.Mount, 0, len(sb.Mounts))
	for _, m := range sb.Mounts {
		mounts = append(mounts, launcher.Mount{Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return launcher.Spec{
		Name:         srv.Name,
		Image:        srv.Image,
		BuildContext: srv.Build,
		Dockerfile:   srv.Dockerfile,
		Rebuild:      rebuild,
		Args:         srv.Args,
		Env:          env,
		Files:        secrets.Files,
		Network:      sb.Network,
		ReadOnly:     sb.ReadOnly,
		Memory:       sb.Memory,
		NanoCPUs:     int64(sb.CPUs * 1e9),
		PidsLimit:    sb.Pids,
		User:         sb.User,
		TmpfsSize:    sb.Tmpfs,
		Mounts:       mounts,
		Workdir:      sb.Workdir,
		Package:      launcherPackage(srv.Package),
		State:        srv.State,
	}
}

// close tears the server down. It always runs, also after a signal.
func (s *session) close() {
	if s.upstream != nil {
		if err := s.upstream.Close(); err != nil {
			s.log.Error().Err(err).Msg("closing the server")
		}
		if s.container != nil && s.srv.Sandbox.Network == profiles.NetworkFiltered {
			s.log.Info().Int64("refused", s.container.EgressRefused()).Msg("egress: connections refused this session")
		}
	}
	if s.launcher != nil {
		s.launcher.Close()
	}
}
