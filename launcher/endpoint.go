package launcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	"github.com/docker/docker/client"
)

// Where an Endpoint came from, as Endpoint.Source reports it.
const (
	SourceDockerHost = "DOCKER_HOST"
	SourceContext    = "context"
	SourceWellKnown  = "well-known socket"
	SourceDefault    = "default"
)

// An Endpoint is the Docker engine address the launcher talks to and how it
// was found. ResolveEndpoint finds it the way the Docker CLI does, so that
// mcp-sandbox talks to the engine `docker` talks to.
type Endpoint struct {
	// Host is the engine address: unix:///path, npipe:////./pipe/name,
	// tcp://host:port or ssh://user@host.
	Host string
	// Source is one of the Source* constants.
	Source string
	// Context is the name of the Docker context when Source is
	// SourceContext.
	Context string
	// ContextVia says what selected the context: "DOCKER_CONTEXT" or the
	// config file's path.
	ContextVia string
	// Tried lists, in order, what the resolution looked at before it chose
	// Host; error messages show it.
	Tried []string

	opts []client.Opt // how to reach Host (TLS, ssh helper); nil means WithHost(Host)
}

// From says where the endpoint came from in the words `doctor` prints:
// `from DOCKER_HOST`, `from context "colima"`, `well-known socket`.
func (e Endpoint) From() string {
	switch e.Source {
	case SourceDockerHost:
		return "from DOCKER_HOST"
	case SourceContext:
		return fmt.Sprintf("from context %q (%s)", e.Context, e.ContextVia)
	case SourceWellKnown:
		return "well-known socket"
	default:
		return "default socket; none of the well-known sockets exists"
	}
}

// socketPath returns the file of a unix socket endpoint, or "".
func (e Endpoint) socketPath() string {
	if p, ok := strings.CutPrefix(e.Host, "unix://"); ok {
		return p
	}
	return ""
}

// System is what endpoint resolution reads of the machine. Tests pass a fake
// one; HostSystem returns the real one.
type System struct {
	// GOOS is the operating system, as runtime.GOOS names it.
	GOOS string
	// Getenv reads an environment variable.
	Getenv func(string) string
	// Home is the user's home directory; empty when unknown.
	Home string
	// Exists reports whether a socket (or pipe) file exists at path.
	Exists func(path string) bool
}

// HostSystem returns this machine's System.
func HostSystem() System {
	home, _ := os.UserHomeDir()
	return System{
		GOOS:   runtime.GOOS,
		Getenv: os.Getenv,
		Home:   home,
		Exists: func(p string) bool {
			fi, err := os.Stat(p)
			return err == nil && !fi.IsDir()
		},
	}
}

// join joins path elements with the separator of sys.GOOS, so that tests of
// one platform's paths run on another.
func (sys System) join(elem ...string) string {
	if sys.GOOS == "windows" {
		return strings.Join(elem, `\`)
	}
	return path.Join(elem...)
}

// configDir is the Docker CLI's configuration directory: $DOCKER_CONFIG, or
// ~/.docker.
func (sys System) configDir() string {
	if d := sys.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	if sys.Home == "" {
		return ""
	}
	return sys.join(sys.Home, ".docker")
}

// ResolveEndpoint finds the Docker engine in the order the Docker CLI uses:
//
//  1. DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH);
//  2. the context DOCKER_CONTEXT names;
//  3. the context "currentContext" in $DOCKER_CONFIG/config.json (default
//     ~/.docker/config.json) names;
//  4. the first well-known socket that exists (see WellKnownSockets), else
//     the platform's default socket.
//
// A context is read from the CLI's context store ($DOCKER_CONFIG/contexts),
// its docker endpoint's host and TLS material included. The context
// "default" means steps 4. An error means the configuration names a context
// that does not exist or cannot be read: the CLI refuses those too.
func ResolveEndpoint(sys System) (Endpoint, error) {
	var tried []string
	if h := sys.Getenv("DOCKER_HOST"); h != "" {
		return Endpoint{Host: h, Source: SourceDockerHost}, nil
	}
	tried = append(tried, "DOCKER_HOST (not set)")
	cfgDir := sys.configDir()
	name, via := sys.Getenv("DOCKER_CONTEXT"), "DOCKER_CONTEXT"
	if name == "" {
		tried = append(tried, "DOCKER_CONTEXT (not set)")
		cfgFile := sys.join(cfgDir, "config.json")
		cur, err := currentContext(cfgFile)
		if err != nil {
			return Endpoint{Tried: tried}, err
		}
		if cur == "" {
			tried = append(tried, "currentContext in "+cfgFile+" (not set)")
		}
		name, via = cur, cfgFile
	}
	if name != "" && name != "default" {
		ep, err := contextEndpoint(filepath.FromSlash(sys.join(cfgDir, "contexts")), name)
		if err != nil {
			return Endpoint{Tried: tried}, fmt.Errorf("docker context %q (from %s): %w", name, via, err)
		}
		ep.ContextVia, ep.Tried = via, tried
		return ep, nil
	}
	if name == "default" {
		tried = append(tried, fmt.Sprintf("context \"default\" (from %s)", via))
	}
	socks := WellKnownSockets(sys)
	for _, s := range socks {
		if s.Path == "" || sys.Exists(s.Path) {
			return Endpoint{Host: s.Host(), Source: SourceWellKnown, Tried: tried}, nil
		}
		tried = append(tried, s.Path+" ("+s.Name+": no socket)")
	}
	return Endpoint{Host: defaultHost(sys.GOOS), Source: SourceDefault, Tried: tried}, nil
}

func defaultHost(goos string) string {
	if goos == "windows" {
		return "npipe:////./pipe/docker_engine"
	}
	return "unix:///var/run/docker.sock"
}

// currentContext reads "currentContext" from the CLI's config.json; a
// missing file means none.
func currentContext(file string) (string, error) {
	b, err := os.ReadFile(filepath.FromSlash(file))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("docker config: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("docker config %s: %w", file, err)
	}
	return cfg.CurrentContext, nil
}

// contextEndpoint reads context name's docker endpoint from the context
// store in dir, with its TLS material.
func contextEndpoint(dir, name string) (Endpoint, error) {
	s := store.New(dir, store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter(docker.DockerEndpoint, func() any { return &docker.EndpointMeta{} }),
	))
	meta, err := s.GetMetadata(name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return Endpoint{}, fmt.Errorf("no such context in %s (docker context ls lists them)", dir)
		}
		return Endpoint{}, err
	}
	em, err := docker.EndpointFromContext(meta)
	if err != nil {
		return Endpoint{}, err
	}
	ep, err := docker.WithTLSData(s, name, em)
	if err != nil {
		return Endpoint{}, err
	}
	if ep.Host == "" {
		return Endpoint{}, errors.New("its docker endpoint has no host")
	}
	opts, err := ep.ClientOpts()
	if err != nil {
		return Endpoint{}, err
	}
	return Endpoint{Host: ep.Host, Source: SourceContext, Context: name, opts: opts}, nil
}

// A KnownSocket is a place where a Docker-compatible engine listens by
// default.
type KnownSocket struct {
	Name string // who puts it there: "Docker Desktop", "Colima (default)", …
	Path string // the socket file; empty for a Windows named pipe
	Pipe string // the pipe, npipe:////./pipe/…, on Windows
}

// Host returns the engine address of the socket.
func (k KnownSocket) Host() string {
	if k.Pipe != "" {
		return k.Pipe
	}
	return "unix://" + k.Path
}

// WellKnownSockets lists, in the order they are tried, the sockets where the
// engines users run listen by default on sys.GOOS.
//
// On Linux the system socket /var/run/docker.sock comes first: it is what
// the Docker CLI uses without a context, and a desktop engine or Podman
// socket left beside a system Docker must not take its place. On macOS the
// per-user sockets of Docker Desktop, Colima, OrbStack, Rancher Desktop and
// Podman come first, and /var/run/docker.sock (a symlink Docker Desktop
// creates only when allowed to) last. On Windows there is only the pipe.
func WellKnownSockets(sys System) []KnownSocket {
	if sys.GOOS == "windows" {
		return []KnownSocket{{Name: "Docker Desktop / Docker Engine", Pipe: "npipe:////./pipe/docker_engine"}}
	}
	home := func(elem ...string) string {
		if sys.Home == "" {
			return ""
		}
		return sys.join(append([]string{sys.Home}, elem...)...)
	}
	var user []KnownSocket
	add := func(name, p string) {
		if p != "" {
			user = append(user, KnownSocket{Name: name, Path: p})
		}
	}
	add("Docker Desktop", home(".docker", "run", "docker.sock"))
	if sys.GOOS == "linux" {
		add("Docker Desktop for Linux", home(".docker", "desktop", "docker.sock"))
	}
	add("Colima (default)", home(".colima", "default", "docker.sock"))
	for _, p := range colimaProfiles(sys) {
		add("Colima ("+p+")", home(".colima", p, "docker.sock"))
	}
	add("OrbStack", home(".orbstack", "run", "docker.sock"))
	add("Rancher Desktop", home(".rd", "docker.sock"))
	if rt := sys.Getenv("XDG_RUNTIME_DIR"); rt != "" && sys.GOOS == "linux" {
		add("rootless Docker", sys.join(rt, "docker.sock"))
		add("Podman (rootless)", sys.join(rt, "podman", "podman.sock"))
	}
	if sys.GOOS == "darwin" {
		add("Podman machine", home(".local", "share", "containers", "podman", "machine", "podman.sock"))
	}
	system := KnownSocket{Name: "Docker Engine", Path: "/var/run/docker.sock"}
	rootfulPodman := KnownSocket{Name: "Podman (rootful)", Path: "/run/podman/podman.sock"}
	if sys.GOOS == "linux" {
		return append(append([]KnownSocket{system}, user...), rootfulPodman)
	}
	return append(user, system)
}

// colimaProfiles lists the Colima profiles other than "default" that have a
// directory under ~/.colima, sorted. It reads the real file system only
// when sys is the host's (tests give Home a real temporary directory).
func colimaProfiles(sys System) []string {
	if sys.Home == "" {
		return nil
	}
	entries, err := os.ReadDir(filepath.FromSlash(sys.join(sys.Home, ".colima")))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "default" && !strings.HasPrefix(e.Name(), "_") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// newClient builds an Engine API client for ep, with API version
// negotiation.
func newClient(ep Endpoint) (*client.Client, error) {
	var opts []client.Opt
	switch {
	case ep.opts != nil:
		opts = ep.opts
	case ep.Source == SourceDockerHost:
		// An ssh:// DOCKER_HOST goes through the CLI's ssh connection
		// helper, as `docker` does; the bare client cannot dial it.
		helper, err := connhelper.GetConnectionHelper(ep.Host)
		if err != nil {
			return nil, err
		}
		if helper != nil {
			opts = []client.Opt{client.WithHost(helper.Host), client.WithDialContext(helper.Dialer), client.WithVersionFromEnv()}
		} else {
			opts = []client.Opt{client.FromEnv}
		}
	default:
		opts = []client.Opt{client.WithHost(ep.Host), client.WithVersionFromEnv()}
	}
	opts = append(opts, client.WithAPIVersionNegotiation())
	return client.NewClientWithOpts(opts...)
}
