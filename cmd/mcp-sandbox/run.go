package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
	"github.com/mcp-sandbox/mcp-sandbox/shim/remote"
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

	audit, err := openAudit(sess.cfg, log)
	if err != nil {
		return err
	}
	relay := shim.New(shim.Options{
		Server:         name,
		Logger:         log,
		Policy:         sess.policy,
		Redactor:       sess.red,
		Audit:          audit,
		AuditArguments: sess.srv.AuditArguments,
	})
	defer func() {
		if err := audit.Close(); err != nil {
			log.Error().Err(err).Msg("audit log")
		}
	}()

	if !noWatch {
		watchCtx, cancelWatch := context.WithCancel(ctx)
		defer cancelWatch()
		go watchConfig(watchCtx, log, sess, profile, relay)
	}

	log.Info().Str("profile", sess.policy.Name()).Msg("relaying")
	host := shim.NewStreamConn(s.In, s.Out)
	err = relay.Serve(ctx, host, sess.conn)
	switch {
	case err == nil:
		log.Info().Msg("host closed the connection")
		return nil
	case errors.Is(err, context.Canceled):
		log.Info().Msg("stopped by signal")
		return nil
	case errors.Is(err, shim.ErrUpstreamClosed):
		return withCode(exitUpstream, sess.exitReason(err))
	default:
		return err
	}
}

// watchConfig re-reads the configuration when it changes and swaps the
// server's policy in the relay. A change that needs a new container (or
// connection) is reported and nothing of it is applied, the policy included.
func watchConfig(ctx context.Context, log zerolog.Logger, sess *session, override string, relay *shim.Relay) {
	err := profiles.Watch(ctx, sess.cfg.Path, profiles.WatchOptions{Current: sess.cfg}, func(cfg *profiles.Config) {
		srv, err := cfg.Server(sess.srv.Name)
		if err != nil {
			log.Error().Err(err).Msg("configuration reloaded without this server; keeping the last good policy")
			return
		}
		pol, err := cfg.Policy(sess.srv.Name, override)
		if err != nil {
			log.Error().Err(err).Msg("configuration reloaded with an invalid policy; keeping the last good one")
			return
		}
		if sess.srv.NeedsRestart(srv) {
			// Nothing is applied half-way: a profile written for the new
			// container must not govern the old one.
			log.Warn().Msg("the configuration changed the server's container or connection; restart the server in the host to apply it (the policy stays as it was until then)")
			return
		}
		relay.SetPolicy(pol)
		log.Info().Str("profile", pol.Name()).Msg("configuration reloaded")
	}, func(err error) {
		log.Error().Err(err).Msg("configuration has an error; keeping the last good policy")
	})
	if err != nil && ctx.Err() == nil {
		log.Error().Err(err).Msg("cannot watch the configuration; edits need a restart")
	}
}

func openAudit(cfg *profiles.Config, log zerolog.Logger) (*shim.Auditor, error) {
	path, err := auditPath(cfg)
	if err != nil || path == "" {
		return nil, err
	}
	a, err := shim.OpenAudit(path)
	if err != nil {
		return nil, err
	}
	log.Debug().Str("path", path).Msg("audit log")
	return a, nil
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
	cfg       *profiles.Config
	srv       *profiles.Server
	policy    *profiles.Policy
	red       *redact.Redactor
	conn      shim.Conn
	container *launcher.Container
	launcher  *launcher.Launcher
	spec      launcher.Spec // of a local server
	log       zerolog.Logger
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
		return nil, withCode(exitConfig, err)
	}
	pol, err := cfg.Policy(name, opts.profile)
	if err != nil {
		return nil, withCode(exitConfig, err)
	}
	store := keychainStore(cfg)
	secrets, err := resolveSecrets(ctx, store, srv)
	if err != nil {
		return nil, err
	}
	red, err := redact.New(secrets.secret)
	if err != nil {
		return nil, withCode(exitConfig, err)
	}
	base := log
	log = log.With().Str("server", name).Logger()
	sess := &session{cfg: cfg, srv: srv, policy: pol, red: red, log: log}
	if srv.Remote() {
		ro, err := remoteOptions(ctx, s, log, store, srv, secrets)
		if err != nil {
			return nil, err
		}
		ro.Interactive = opts.interactive
		conn, err := remote.Dial(ctx, ro)
		if err != nil {
			return nil, withCode(exitUpstream, fmt.Errorf("connect to %s: %w", srv.URL, err))
		}
		sess.conn = conn
		return sess, nil
	}

	// The launcher tags its lines with the server's name itself.
	l, err := launcher.New(launcher.Options{Logger: base, Progress: s.ErrOut})
	if err != nil {
		return nil, withCode(exitUpstream, err)
	}
	sess.launcher = l
	spec := containerSpec(srv, secrets, opts.rebuild)
	spec.Redact = red.String
	sess.spec = spec
	c, err := l.Start(ctx, spec)
	if err != nil {
		l.Close()
		return nil, withCode(exitUpstream, fmt.Errorf("start %s: %w", name, err))
	}
	sess.container = c
	sess.conn = shim.NewStreamConn(c.Stdout(), c.Stdin())
	return sess, nil
}

// containerSpec turns a server's configuration into the launcher's spec.
func containerSpec(srv *profiles.Server, secrets *resolvedSecrets, rebuild bool) launcher.Spec {
	env := make(map[string]string, len(srv.Env)+len(secrets.env))
	for k, v := range srv.Env {
		env[k] = v
	}
	for k, v := range secrets.env {
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
		Files:        secrets.files,
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

// exitReason explains why the upstream ended, with the container's exit code
// when there is one.
func (s *session) exitReason(err error) error {
	if s.container == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	code, werr := s.container.Wait(ctx)
	if werr != nil {
		return err
	}
	return fmt.Errorf("server %s exited with status %d before the host closed the connection", s.srv.Name, code)
}

// close tears the server down. It always runs, also after a signal.
func (s *session) close() {
	if s.conn != nil && s.container == nil {
		s.conn.Close()
	}
	if s.container != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := s.container.Close(ctx); err != nil {
			s.log.Error().Err(err).Msg("removing the container")
		}
	}
	if s.launcher != nil {
		s.launcher.Close()
	}
}
