package profiles

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
)

// Defaults of the [packages] table.
const (
	DefaultNodeImage   = "node:24-slim"
	DefaultPythonImage = "python:3.13-slim"
)

// PackageSettings is the [packages] table: how package servers are built.
// Each setting can be overridden per server.
type PackageSettings struct {
	// NodeImage is the base image of npm package servers; default
	// DefaultNodeImage.
	NodeImage string
	// PythonImage is the base image of PyPI package servers; default
	// DefaultPythonImage.
	PythonImage string
	// NPMRegistry is the npm registry URL; "" means npm's default.
	NPMRegistry string
	// PyPIIndex is the PyPI simple index URL; "" means pip's default.
	PyPIIndex string
	// CAFile is the absolute path of a PEM CA bundle the build trusts
	// (for networks that intercept TLS); "" means the base image's.
	CAFile string
	// BuildNetwork is the network of the install step: "bridge" (the
	// default) or "host" (for a registry on the host's loopback).
	BuildNetwork string
}

// Package is a server's `package = "npm:NAME@VERSION"` or
// `"pypi:NAME==VERSION"`, with the settings that apply to it resolved (the
// server's own, else [packages], else the defaults).
type Package struct {
	// Spec is the package as written, e.g. "npm:@scope/name@1.2.3".
	Spec string
	// Ecosystem is "npm" or "pypi".
	Ecosystem string
	// Name is the package name.
	Name string
	// Version is what follows the name: for npm the version or range after
	// "@", for PyPI the specifier with its operator ("==1.0", ">=2");
	// "" means the latest.
	Version string
	// Command is the executable to run; "" lets the build pick the
	// package's own (its only one, or the one named like the package).
	Command string
	// BaseImage is the node or python image the package is installed into.
	BaseImage string
	// Registry is the npm registry or PyPI index URL; "" for the default.
	Registry string
	// CAFile is a CA bundle for the build; "" for none.
	CAFile string
	// BuildNetwork is the install step's network: "bridge" or "host".
	BuildNetwork string
}

func (p *Package) equal(o *Package) bool {
	if p == nil || o == nil {
		return p == o
	}
	return *p == *o
}

var packageKeys = []string{"node_image", "python_image", "npm_registry", "pypi_index", "ca_file", "build_network"}

// packages decodes the [packages] table.
func (d *decoder) packages(p []string, v any) PackageSettings {
	ps := PackageSettings{NodeImage: DefaultNodeImage, PythonImage: DefaultPythonImage, BuildNetwork: "bridge"}
	if v == nil {
		return ps
	}
	t, ok := d.table(p, v)
	if !ok {
		return ps
	}
	for _, k := range sortedKeys(t) {
		kp := sub(p, k)
		if !d.packageSetting(kp, k, t[k], &ps) {
			d.unknown(kp, "[packages] (want "+strings.Join(packageKeys, ", ")+")")
		}
	}
	return ps
}

// packageSetting decodes one of packageKeys into ps; it reports false for
// other keys.
func (d *decoder) packageSetting(p []string, k string, v any, ps *PackageSettings) bool {
	switch k {
	case "node_image", "python_image":
		s, ok := d.str(p, v)
		if !ok {
			return true
		}
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			d.valuef(p, "invalid image reference %q", s)
		}
		if k == "node_image" {
			ps.NodeImage = s
		} else {
			ps.PythonImage = s
		}
	case "npm_registry", "pypi_index":
		s, ok := d.str(p, v)
		if !ok {
			return true
		}
		if u, err := url.Parse(s); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			d.valuef(p, "%s %q must be an http:// or https:// URL", k, s)
		}
		if k == "npm_registry" {
			ps.NPMRegistry = s
		} else {
			ps.PyPIIndex = s
		}
	case "build_network":
		if s, ok := d.str(p, v); ok {
			ps.BuildNetwork = s
			if s != "bridge" && s != "host" {
				d.valuef(p, "invalid build_network %q (want bridge or host)", s)
			}
		}
	case "ca_file":
		s, ok := d.str(p, v)
		if !ok {
			return true
		}
		abs := d.path(p, s)
		if abs != "" {
			if fi, err := os.Stat(abs); err != nil {
				d.valuef(p, "ca_file %s: %v", s, err)
			} else if fi.IsDir() {
				d.valuef(p, "ca_file %s is a directory; want a PEM bundle", s)
			}
		}
		ps.CAFile = abs
	default:
		return false
	}
	return true
}

var (
	npmName  = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)
	pypiName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	pypiOp   = regexp.MustCompile(`^(===|==|>=|<=|~=|!=|<|>)\s*[A-Za-z0-9.*+!_-]+(\s*,\s*(===|==|>=|<=|~=|!=|<|>)\s*[A-Za-z0-9.*+!_-]+)*$`)
)

// parsePackage parses "npm:NAME[@VERSION]" or "pypi:NAME[SPECIFIER]".
func parsePackage(s string) (*Package, error) {
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\'' || r == '"' || r == '\\' }) {
		return nil, fmt.Errorf("invalid package %q: control characters, quotes and backslashes are not allowed", s)
	}
	eco, rest, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("invalid package %q: want \"npm:NAME@VERSION\" or \"pypi:NAME==VERSION\"", s)
	}
	p := &Package{Spec: s, Ecosystem: eco}
	switch eco {
	case "npm":
		name, version := rest, ""
		// A scoped name starts with "@"; the version follows the next "@".
		if i := strings.LastIndex(rest, "@"); i > 0 {
			name, version = rest[:i], rest[i+1:]
			if version == "" {
				return nil, fmt.Errorf("invalid package %q: empty version after @ (leave out @ for the latest)", s)
			}
		}
		if name == "" {
			return nil, fmt.Errorf("invalid package %q: npm: needs a package name", s)
		}
		if !npmName.MatchString(name) {
			return nil, fmt.Errorf("invalid package %q: %q is not an npm package name", s, name)
		}
		p.Name, p.Version = name, strings.TrimSpace(version)
	case "pypi":
		if strings.Contains(rest, "@") {
			return nil, fmt.Errorf("invalid package %q: PyPI versions are written NAME==VERSION, not NAME@VERSION", s)
		}
		i := strings.IndexAny(rest, "=<>!~ ")
		name, spec := rest, ""
		if i >= 0 {
			name, spec = rest[:i], strings.TrimSpace(rest[i:])
		}
		if name == "" {
			return nil, fmt.Errorf("invalid package %q: pypi: needs a package name", s)
		}
		if !pypiName.MatchString(name) {
			return nil, fmt.Errorf("invalid package %q: %q is not a PyPI project name", s, name)
		}
		if spec != "" && !pypiOp.MatchString(spec) {
			return nil, fmt.Errorf("invalid package %q: version %q: want ==VERSION or another PEP 440 specifier", s, spec)
		}
		p.Name, p.Version = name, spec
	default:
		return nil, fmt.Errorf("invalid package %q: unknown ecosystem %q (want npm or pypi)", s, eco)
	}
	return p, nil
}

// packageServer completes a package server after its keys were read:
// resolves settings and checks what does not go with a package.
func (d *decoder) packageServer(p []string, s *Server, t map[string]any, own PackageSettings, set map[string]bool) {
	if t["package"] == nil {
		for _, k := range append([]string{"command"}, packageKeys...) {
			if set[k] {
				d.errorf(sub(p, k), "%s is for package servers (with package)", k)
			}
		}
		return
	}
	for _, k := range []string{"image", "build"} {
		if t[k] != nil {
			d.errorf(sub(p, k), "%s and package cannot both be set: package builds the image", k)
		}
	}
	if s.Package == nil {
		return
	}
	pk := s.Package
	pk.CAFile, pk.BuildNetwork = own.CAFile, own.BuildNetwork
	switch pk.Ecosystem {
	case "npm":
		pk.BaseImage, pk.Registry = own.NodeImage, own.NPMRegistry
		for _, k := range []string{"python_image", "pypi_index"} {
			if set[k] {
				d.errorf(sub(p, k), "%s is for pypi: packages; %s is an npm package", k, pk.Name)
			}
		}
	case "pypi":
		pk.BaseImage, pk.Registry = own.PythonImage, own.PyPIIndex
		for _, k := range []string{"node_image", "npm_registry"} {
			if set[k] {
				d.errorf(sub(p, k), "%s is for npm: packages; %s is a PyPI package", k, pk.Name)
			}
		}
	}
}

// state checks a server's state = "/path".
func (d *decoder) state(p []string, v any) string {
	s, ok := d.str(p, v)
	if !ok {
		return ""
	}
	if !path.IsAbs(s) || path.Clean(s) != s || s == "/" {
		d.valuef(p, "state %q must be a clean absolute container path below /", s)
	}
	return s
}

// command checks a package server's command = "NAME".
func (d *decoder) command(p []string, v any) string {
	s, ok := d.str(p, v)
	if !ok {
		return ""
	}
	if s == "" || strings.ContainsAny(s, "/\\ \t\n'\"") || s == "." || s == ".." {
		d.valuef(p, "command %q must be the name of one of the package's executables", s)
	}
	return s
}
