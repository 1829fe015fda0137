package profiles

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
)

// Config is one validated snapshot of mcp-sandbox.toml. Treat it as
// immutable: the [Watch]er hands out a new Config on every change instead of
// modifying the old one, so a Config can be shared between goroutines.
type Config struct {
	// Path is the absolute path of the file.
	Path string
	// KeychainService is the keychain service name; "" if unset (the
	// caller picks its default and applies MCP_SANDBOX_KEYCHAIN_SERVICE).
	KeychainService string
	// Audit configures the audit log.
	Audit Audit
	// Servers by name; never nil after Parse.
	Servers map[string]*Server
	// Profiles by name; never nil after Parse.
	Profiles map[string]*Profile
	// Packages is the [packages] table, defaults filled in.
	Packages PackageSettings

	sum [sha256.Size]byte // of the bytes parsed, to skip no-op reloads
}

// Audit configures the audit log.
type Audit struct {
	// Path of the JSONL audit file, absolute, with ~ and $VAR expanded
	// (a relative path is taken relative to the config file's directory).
	// "" means the caller chooses its default location.
	Path string
	// Disabled is set by path = "off": no audit log at all. Path is then "".
	Disabled bool
}

// Server is one [servers.NAME] table. A server is either local (Image
// and/or Build, or Package set: it runs in a container) or remote (URL set).
type Server struct {
	Name string
	// Image is the image to run; with Build it is the tag to give the
	// built image ("" lets the caller choose one).
	Image string
	// Build is the absolute path of a local build context directory.
	Build string
	// Dockerfile is relative to Build; "" means Docker's default.
	Dockerfile string
	// URL of a remote server (http:// only to loopback hosts).
	URL string
	// Transport of a remote server: "auto" (default), "streamable-http" or
	// "sse". "" for local servers.
	Transport string
	// Profile names the [profiles.X] that filters this server; "" means no
	// filtering.
	Profile string
	// Args are appended after the image's entrypoint.
	Args []string
	// Env holds literal environment variables for the container.
	Env map[string]string
	// Secrets maps container environment variable -> keychain item name.
	Secrets map[string]string
	// SecretFiles maps absolute container path -> keychain item name.
	SecretFiles map[string]string
	// Headers are sent to a remote server. A value "secret:NAME" is a
	// keychain reference and is kept verbatim here for the caller to
	// resolve; anything else is literal.
	Headers map[string]string
	// AuditArguments opts in to logging tool-call argument values.
	AuditArguments bool
	// OAuth is nil unless [servers.NAME.oauth] is present (remote only).
	OAuth *OAuth
	// Sandbox holds the container limits, defaults filled in for local
	// servers; the zero Sandbox for remote ones.
	Sandbox Sandbox
	// Package is set for a server installed from a package registry
	// (package = "npm:…" or "pypi:…"); its image is built from it.
	Package *Package
	// State is the container path of the server's named state volume,
	// kept across runs; "" for none.
	State string
}

// Remote reports whether the server is reached over HTTP rather than run in
// a container.
func (s *Server) Remote() bool { return s.URL != "" }

// OAuth configures the OAuth flow against a remote server.
type OAuth struct {
	// ClientID is a pre-registered client id; "" means dynamic registration
	// or a client ID metadata document.
	ClientID string
	// ClientSecret is the keychain item name holding the client secret
	// (the config's "secret:" prefix stripped); "" for public clients.
	ClientSecret string
	// Scopes to request; nil means the server's defaults.
	Scopes []string
	// RedirectPort is the loopback port for the redirect; 0 means random.
	RedirectPort int
	// ClientMetadataURL is the URL of a client ID metadata document.
	ClientMetadataURL string
}

// Sandbox holds the container restrictions of a local server.
type Sandbox struct {
	// Network is "none" (default), "bridge", or "filtered" when AllowHosts
	// is set (the config never writes "filtered").
	Network string
	// AllowHosts is the egress allow-list as written (see
	// launcher/egress.ParseRule); non-empty means filtered egress.
	AllowHosts []string
	// Hosts maps names to addresses for the egress filter and the
	// server's resolver; keys are lower-case.
	Hosts map[string]string
	// ReadOnly root filesystem; default true.
	ReadOnly bool
	// Memory limit in bytes; default 512 MiB.
	Memory int64
	// CPUs limit; default 1.0.
	CPUs float64
	// Pids limit; default 256.
	Pids int64
	// User as "uid[:gid]" or a name; default "65534:65534". Root only with
	// AllowRoot.
	User string
	// Tmpfs is the size in bytes of the tmpfs on /tmp; default 64 MiB.
	Tmpfs int64
	// Mounts are host bind mounts; none by default.
	Mounts []Mount
	// Workdir is the container working directory; "" keeps the image's.
	Workdir string
	// AllowRoot permits running as root.
	AllowRoot bool
	// AllowDangerousMounts permits mounts that hand the server the machine
	// or the user's credentials (the engine socket, /, the home directory,
	// credential directories; see danger.go). Without it they are errors.
	AllowDangerousMounts bool
	// DangerousMounts are the warnings for the dangerous mounts that
	// AllowDangerousMounts let through, positioned like errors.
	DangerousMounts []*Error
}

// Mount is one host bind mount.
type Mount struct {
	// Source is the absolute, expanded host path.
	Source string
	// Target is the absolute, cleaned container path.
	Target string
	// ReadOnly unless the mount said ":rw".
	ReadOnly bool
}

// Defaults of [Sandbox] fields that a config leaves out.
const (
	DefaultNetwork = launcher.NetworkNone
	DefaultMemory  = 512 << 20
	DefaultCPUs    = 1.0
	DefaultPids    = 256
	DefaultUser    = "65534:65534"
	DefaultTmpfs   = 64 << 20
)

// DefaultSandbox returns the restrictive sandbox a local server gets when
// its config says nothing.
func DefaultSandbox() Sandbox {
	return Sandbox{
		Network:  DefaultNetwork,
		ReadOnly: true,
		Memory:   DefaultMemory,
		CPUs:     DefaultCPUs,
		Pids:     DefaultPids,
		User:     DefaultUser,
		Tmpfs:    DefaultTmpfs,
	}
}

// Equal reports whether s and o describe the same sandbox.
func (s Sandbox) Equal(o Sandbox) bool {
	return s.Network == o.Network && s.ReadOnly == o.ReadOnly && s.Memory == o.Memory &&
		s.CPUs == o.CPUs && s.Pids == o.Pids && s.User == o.User && s.Tmpfs == o.Tmpfs &&
		s.Workdir == o.Workdir && s.AllowRoot == o.AllowRoot && slices.Equal(s.Mounts, o.Mounts) &&
		slices.Equal(s.AllowHosts, o.AllowHosts) && maps.Equal(s.Hosts, o.Hosts)
}

// NeedsRestart reports whether switching from s to o needs a new container
// or connection: true when anything differs but Profile and AuditArguments,
// which the relay applies live. A nil on either side needs a restart unless
// both are nil.
func (s *Server) NeedsRestart(o *Server) bool {
	if s == nil || o == nil {
		return s != o
	}
	return s.Name != o.Name || s.Image != o.Image || s.Build != o.Build ||
		s.Dockerfile != o.Dockerfile || s.URL != o.URL || s.Transport != o.Transport ||
		!slices.Equal(s.Args, o.Args) ||
		!maps.Equal(s.Env, o.Env) || !maps.Equal(s.Secrets, o.Secrets) ||
		!maps.Equal(s.SecretFiles, o.SecretFiles) || !maps.Equal(s.Headers, o.Headers) ||
		!s.OAuth.equal(o.OAuth) || !s.Sandbox.Equal(o.Sandbox) ||
		!s.Package.equal(o.Package) || s.State != o.State
}

func (a *OAuth) equal(b *OAuth) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ClientID == b.ClientID && a.ClientSecret == b.ClientSecret &&
		slices.Equal(a.Scopes, b.Scopes) && a.RedirectPort == b.RedirectPort &&
		a.ClientMetadataURL == b.ClientMetadataURL
}

// Profile is one [profiles.NAME] table as written: its own lists, without
// those it extends. [Config.Policy] resolves extends.
type Profile struct {
	Name string
	// Extends names the parent profile; "" for none.
	Extends   string
	Tools     Rules
	Prompts   Rules
	Resources Rules
	// Guard holds approve, pin and server→host request settings; see
	// guard.go.
	Guard
}

// Rules are the allow and deny glob lists of one kind. Approve is for
// tools only: calls of matching tools wait for a person's answer.
type Rules struct {
	Allow   []string
	Deny    []string
	Approve []string
}

// rules returns the lists for kind.
func (p *Profile) rules(k Kind) Rules {
	switch k {
	case Tools:
		return p.Tools
	case Prompts:
		return p.Prompts
	default:
		return p.Resources
	}
}

// Server returns the named server. The error wraps [ErrUnknownServer] and
// lists the names that exist.
func (c *Config) Server(name string) (*Server, error) {
	if s, ok := c.Servers[name]; ok {
		return s, nil
	}
	names := slices.Sorted(maps.Keys(c.Servers))
	if len(names) == 0 {
		return nil, fmt.Errorf("%w %q: %s defines no servers", ErrUnknownServer, name, c.Path)
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownServer, name, strings.Join(names, ", "))
}

// Load reads the config file at path and parses it with [Parse]; the path
// is made absolute first, so messages and [Config.Path] carry it.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config path %s: %w", path, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(abs, data)
}

// Parse decodes and validates a config. path names the file in error
// messages, and its directory is the base of relative build and mount
// paths (a relative path is made absolute against the working directory).
// Environment variables come from [os.LookupEnv] and ~ from
// [os.UserHomeDir].
//
// Every problem found is reported, as an [*Error] with file, line and
// column; several are joined with [errors.Join], sorted by position.
func Parse(path string, data []byte) (*Config, error) {
	return parse(path, data, osEnv{})
}

// osEnv is the real environment.
type osEnv struct{}

func (osEnv) LookupEnv(k string) (string, bool) { return os.LookupEnv(k) }
func (osEnv) UserHomeDir() (string, error)      { return os.UserHomeDir() }

// environment is what expansion of ~ and $VAR needs; tests pass a fake.
type environment interface {
	LookupEnv(key string) (string, bool)
	UserHomeDir() (string, error)
}
