package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
)

// cmdPrepare builds or pulls the images of the named servers (all of them
// when none is named) ahead of time, so that the first `run` from a host,
// which waits for its initialize answer, does not wait for a build or a
// pull. Progress goes to stderr; one line per server to stdout.
func cmdPrepare(ctx context.Context, s Streams, args []string) error {
	var cf commonFlags
	var rebuild bool
	fs := newFlagSet("prepare", "[NAME...] [flags]", s, &cf)
	fs.BoolVar(&rebuild, "rebuild", false, "build (or pull) images again even when they are present")
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	log, _, closeLog, err := newLogger(s, cf)
	if err != nil {
		return err
	}
	defer closeLog()
	cfg, err := loadConfig(cf.config)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		for n := range cfg.Servers {
			names = append(names, n)
		}
		slices.Sort(names)
	}
	for _, n := range names {
		if _, err := cfg.Server(n); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := launcher.New(launcher.Options{Logger: log, Progress: s.ErrOut})
	if err != nil {
		return err
	}
	defer l.Close()
	failed := 0
	for _, n := range names {
		srv, _ := cfg.Server(n)
		if srv.Remote() {
			fmt.Fprintf(s.Out, "%s: remote (%s), no image\n", n, srv.URL)
			continue
		}
		// Secrets do not go into images: an empty set is enough here.
		spec := containerSpec(srv, &keychain.Resolved{}, rebuild)
		provided, err := l.Prepare(ctx, spec)
		switch {
		case ctx.Err() != nil:
			return errors.New("interrupted")
		case err != nil:
			failed++
			fmt.Fprintf(s.ErrOut, "%s: %v\n", n, err)
		case spec.Package != nil:
			fmt.Fprintf(s.Out, "%s: image %s %s (%s)\n", n, spec.ImageRef(), map[bool]string{true: "built", false: "present"}[provided], packageDetails(ctx, l, spec))
		case !provided:
			fmt.Fprintf(s.Out, "%s: image %s present\n", n, spec.ImageRef())
		case spec.BuildContext != "":
			fmt.Fprintf(s.Out, "%s: image %s built from %s\n", n, spec.ImageRef(), spec.BuildContext)
		default:
			fmt.Fprintf(s.Out, "%s: image %s pulled\n", n, spec.ImageRef())
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d image(s) could not be prepared", failed, len(names))
	}
	return nil
}
