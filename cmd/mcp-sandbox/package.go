package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
)

// launcherPackage maps a configured package to the launcher's.
func launcherPackage(p *profiles.Package) *launcher.Package {
	if p == nil {
		return nil
	}
	return &launcher.Package{
		Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version, Command: p.Command,
		BaseImage: p.BaseImage, Registry: p.Registry, CAFile: p.CAFile, BuildNetwork: p.BuildNetwork,
	}
}

// serverImage is the image a local server runs.
func serverImage(srv *profiles.Server) string {
	return containerSpec(srv, &keychain.Resolved{}, false).ImageRef()
}

// describePackage is check's view of a package server: the package, its
// image, and the exact version installed when the image exists.
func describePackage(w io.Writer, srv *profiles.Server) {
	p := srv.Package
	fmt.Fprintf(w, "  package:  %s (base %s", p.Spec, p.BaseImage)
	if p.Registry != "" {
		fmt.Fprintf(w, ", registry %s", p.Registry)
	}
	if p.CAFile != "" {
		fmt.Fprintf(w, ", CA %s", p.CAFile)
	}
	fmt.Fprintln(w, ")")
	image := serverImage(srv)
	l, err := launcher.New(launcher.Options{})
	if err != nil {
		fmt.Fprintf(w, "  image:    %s (engine unavailable: %v)\n", image, err)
		return
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pr, present, err := l.Inspect(ctx, containerSpec(srv, &keychain.Resolved{}, false))
	switch {
	case err != nil:
		fmt.Fprintf(w, "  image:    %s (cannot inspect: %v)\n", image, err)
	case !present:
		fmt.Fprintf(w, "  image:    %s, not built yet (mcp-sandbox prepare %s)\n", image, srv.Name)
	default:
		fmt.Fprintf(w, "  image:    %s, version %s, runs %s\n", image, pr.Version, pr.Command)
	}
	if srv.State != "" {
		fmt.Fprintf(w, "  state:    volume %s at %s (kept across runs; mcp-sandbox clean %s --state removes it)\n", launcher.StateVolume(srv.Name), srv.State, srv.Name)
	}
}

func cmdClean(ctx context.Context, s Streams, args []string) error {
	var all, state bool
	name, cf, err := parseName("clean", s, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&all, "all", false, "remove the current image too, not only old ones")
		fs.BoolVar(&state, "state", false, "remove the server's state volume too (its data is lost)")
	})
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cf.config)
	if err != nil {
		return err
	}
	srv, err := cfg.Server(name)
	if err != nil {
		return err
	}
	if srv.Remote() {
		return usagef("server %s is remote: it has no images", name)
	}
	l, err := launcher.New(launcher.Options{})
	if err != nil {
		return err
	}
	defer l.Close()
	keep := ""
	if !all {
		keep = serverImage(srv)
	}
	removed, err := l.RemoveImages(ctx, name, keep)
	for _, r := range removed {
		fmt.Fprintf(s.Out, "removed image %s\n", r)
	}
	if err != nil {
		return err
	}
	if len(removed) == 0 {
		fmt.Fprintf(s.Out, "no old images of %s\n", name)
	}
	if state {
		gone, err := l.RemoveState(ctx, name)
		if err != nil {
			return err
		}
		if gone {
			fmt.Fprintf(s.Out, "removed state volume %s\n", launcher.StateVolume(name))
		} else {
			fmt.Fprintf(s.Out, "no state volume %s\n", launcher.StateVolume(name))
		}
	}
	return nil
}

// packageLine is what tools shows about a package server's image.
func packageLine(pr launcher.Prepared) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s, version %s", pr.Package, pr.Version)
	if pr.Command != "" {
		fmt.Fprintf(&b, ", runs %s", pr.Command)
	}
	return b.String()
}

// packageDetails says which version of a package server's package its
// image holds and what it runs.
func packageDetails(ctx context.Context, l *launcher.Launcher, spec launcher.Spec) string {
	pr, _, err := l.Inspect(ctx, spec)
	if err != nil {
		return fmt.Sprintf("%s, version unknown: %v", spec.Package, err)
	}
	return fmt.Sprintf("%s, version %s, runs %s", pr.Package, pr.Version, pr.Command)
}
