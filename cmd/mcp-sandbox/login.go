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

// remoteOptions builds the remote bridge's options for srv.
func remoteOptions(ctx context.Context, s Streams, log zerolog.Logger, store *keychain.Store, srv *profiles.Server, secrets *resolvedSecrets) (remote.Options, error) {
	ro := remote.Options{
		Server:    srv.Name,
		URL:       srv.URL,
		Transport: srv.Transport,
		Headers:   secrets.headers,
		Secrets:   store,
		NotFound:  keychain.ErrNotFound,
		ErrOut:    s.ErrOut,
		Logger:    log,
	}
	if o := srv.OAuth; o != nil {
		ro.OAuth = &remote.OAuthOptions{ClientID: o.ClientID, ClientSecret: secrets.oauthSecret, Scopes: o.Scopes, RedirectPort: o.RedirectPort, ClientMetadataURL: o.ClientMetadataURL}
	}
	return ro, nil
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
	secrets, err := resolveSecrets(ctx, store, srv)
	if err != nil {
		return remote.Options{}, nil, err
	}
	red, err := redact.New(secrets.secret)
	if err != nil {
		return remote.Options{}, nil, err
	}
	sink.red.Store(red)
	ro, err := remoteOptions(ctx, s, log.With().Str("server", name).Logger(), store, srv, secrets)
	return ro, closeLog, err
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
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTATE\tEXPIRES\tSCOPES")
	for _, n := range names {
		ro, done, err := remoteCommand(ctx, s, cf, n)
		if err != nil {
			fmt.Fprintf(tw, "%s\terror: %v\t\t\n", n, err)
			continue
		}
		st, err := remote.GetStatus(ctx, ro)
		done()
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
