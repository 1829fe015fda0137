package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
	"github.com/mcp-sandbox/mcp-sandbox/shim/remote"
)

// remoteOptions builds the remote bridge's options for srv. red is the
// session's redactor; the bridge adds its OAuth tokens to it.
func remoteOptions(s Streams, log zerolog.Logger, store *keychain.Store, srv *profiles.Server, secrets *keychain.Resolved, red *redact.Redactor) remote.Options {
	headers := srv.LiteralHeaders()
	for h, v := range secrets.Headers {
		headers[h] = v
	}
	ro := remote.Options{
		Server:    srv.Name,
		URL:       srv.URL,
		Transport: srv.Transport,
		Headers:   headers,
		Secrets:   store,
		NotFound:  keychain.ErrNotFound,
		ErrOut:    s.ErrOut,
		Logger:    log,
		Redactor:  red,
	}
	if o := srv.OAuth; o != nil {
		ro.OAuth = &remote.OAuthOptions{ClientID: o.ClientID, ClientSecret: secrets.OAuthClientSecret, Scopes: o.Scopes, RedirectPort: o.RedirectPort, ClientMetadataURL: o.ClientMetadataURL}
	}
	return ro
}

// remoteCommand loads the configuration and the remote server NAME for
// login, logout and status. done closes the log file, if any.
func remoteCommand(ctx context.Context, s Streams, cf commonFlags, name string) (_ remote.Options, done func(), err error) {
	log, sink, closeLog, err := newLogger(s, cf)
	if err != nil {
		return remote.Options{}, nil, err
	}
	defer func() {
		if err != nil {
			closeLog()
		}
	}()
	cfg, err := loadConfig(cf.config)
	if err != nil {
		return remote.Options{}, nil, err
	}
	srv, err := cfg.Server(name)
	if err != nil {
		return remote.Options{}, nil, err
	}
	if !srv.Remote() {
		return remote.Options{}, nil, configErrorf("server %q is local (image or build); only remote servers (url) log in", name)
	}
	store := keychainStore(cfg)
	secrets, err := keychain.Resolve(ctx, store, srv.SecretRefs())
	if err != nil {
		return remote.Options{}, nil, err
	}
	red, err := redact.New(secrets.Secrets)
	if err != nil {
		return remote.Options{}, nil, err
	}
	sink.red.Store(red)
	return remoteOptions(s, log.With().Str("server", name).Logger(), store, srv, secrets, red), closeLog, nil
}

func cmdLogin(ctx context.Context, s Streams, args []string) error {
	name, cf, err := parseName("login", s, args, nil)
	if err != nil {
		return err
	}
	ro, done, err := remoteCommand(ctx, s, cf, name)
	if err != nil {
		return err
	}
	defer done()
	ro.Interactive = true
	if err := remote.Login(ctx, ro); err != nil {
		return err
	}
	fmt.Fprintf(s.ErrOut, "logged in to %s\n", name)
	return nil
}

func cmdLogout(ctx context.Context, s Streams, args []string) error {
	name, cf, err := parseName("logout", s, args, nil)
	if err != nil {
		return err
	}
	ro, done, err := remoteCommand(ctx, s, cf, name)
	if err != nil {
		return err
	}
	defer done()
	if err := remote.Logout(ctx, ro); err != nil {
		return err
	}
	fmt.Fprintf(s.ErrOut, "logged out of %s\n", name)
	return nil
}

func cmdStatus(ctx context.Context, s Streams, args []string) error {
	var cf commonFlags
	fs := newFlagSet("status", "[flags]", s, &cf)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("status takes no arguments")
	}
	cfg, err := loadConfig(cf.config)
	if err != nil {
		return err
	}
	var names []string
	for n, srv := range cfg.Servers {
		if srv.Remote() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		fmt.Fprintln(s.Out, "no remote servers configured")
		return nil
	}
	log, _, closeLog, err := newLogger(s, cf)
	if err != nil {
		return err
	}
	defer closeLog()
	// The login state is the stored tokens: no secret of the servers' own
	// is read, and the configuration is read once.
	store := keychainStore(cfg)
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTATE\tEXPIRES\tSCOPES")
	for _, n := range names {
		srv := cfg.Servers[n]
		st, err := remote.GetStatus(ctx, remote.Options{Server: n, URL: srv.URL, Transport: srv.Transport, Secrets: store, NotFound: keychain.ErrNotFound, Logger: log.With().Str("server", n).Logger()})
		if err != nil {
			fmt.Fprintf(tw, "%s\terror: %v\t\t\n", n, err)
			continue
		}
		state, expires := "not logged in", ""
		if st.LoggedIn {
			state = "logged in"
			if !st.Expiry.IsZero() {
				expires = st.Expiry.Local().Format(time.DateTime)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n, state, expires, strings.Join(st.Scopes, " "))
	}
	return tw.Flush()
}
