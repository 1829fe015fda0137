package hostconfig

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Server is the mcp-sandbox.toml description of one imported server.
type Server struct {
	Name string
	// Source is what the server was made from, for the comment above it
	// (e.g. `npx -y @modelcontextprotocol/server-everything`). Secret
	// values never appear in it.
	Source string
	// Package is "npm:NAME[@VERSION]" or "pypi:NAME[==VERSION]"; Image an
	// image reference; URL a remote server. Exactly one is set.
	Package, Image, URL string
	// Transport of a remote server: "" (auto) or "sse".
	Transport string
	Args      []string
	Env       map[string]string
	// Secrets maps a container environment variable to a keychain item.
	Secrets map[string]string
	// Headers of a remote server; "secret:ITEM" values name keychain items.
	Headers map[string]string
	// Network is "" (the default, none) or "bridge".
	Network string
	// Mounts are "SRC:DST:ro|rw".
	Mounts []string
	// Pin asks for the server's tool definitions to be pinned: [Server.TOML]
	// then writes a [profiles.PROFILE] with pin = true and points the
	// server's profile key at it.
	Pin bool
	// Profile names that profile; "" means NAME-imported. Callers pick a
	// name no existing profile has.
	Profile string
}

// ProfileName returns the name of the profile TOML writes for a pinned
// server.
func (s Server) ProfileName() string {
	if s.Profile != "" {
		return s.Profile
	}
	return s.Name + "-imported"
}

// Secret is one credential an import moves from the host file to the
// keychain.
type Secret struct {
	// Item is the keychain item name; Value its value; Use says what it
	// is for people ("env API_TOKEN of server everything").
	Item, Value, Use string
}

// Conversion is the result of converting one host entry.
type Conversion struct {
	Server  Server
	Secrets []Secret
	// Notes are what a person should know: flags dropped, decisions taken.
	Notes []string
}

// ConvertOptions are what a conversion needs from outside.
type ConvertOptions struct {
	// Stat reports whether a host path exists; nil means none does.
	Stat func(path string) bool
	// Home is the user's home directory, to expand "~/".
	Home string
	// Ask puts a yes/no question with its default and returns the answer;
	// nil takes every default (--yes).
	Ask func(question string, def bool) bool
	// ItemName builds the keychain item name for a server's credential;
	// nil joins them with ".".
	ItemName func(server, key string) string
}

func (o ConvertOptions) ask(q string, def bool) bool {
	if o.Ask == nil {
		return def
	}
	return o.Ask(q, def)
}

// CannotConvert says why an entry stays as it is.
type CannotConvert struct{ Reason string }

func (e *CannotConvert) Error() string { return e.Reason }

func cannot(format string, a ...any) error { return &CannotConvert{fmt.Sprintf(format, a...)} }

// ServerName turns a host entry name into a valid server name: letters,
// digits, '_', '.' and '-', starting with a letter or digit.
func ServerName(entry string) string {
	b := []byte(entry)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	s := strings.TrimLeft(string(b), "_.-")
	if s == "" {
		s = "server"
	}
	return s
}

// Convert turns a host entry into a server. An entry it cannot convert (a
// native binary, an unknown launcher, options it does not understand)
// gives a *CannotConvert with the reason.
func Convert(e Entry, o ConvertOptions) (*Conversion, error) {
	if e.Invalid != "" {
		return nil, cannot("%s", e.Invalid)
	}
	if v := variableIn(e); v != "" {
		return nil, cannot("it uses the host's variable %s, which only the host can fill in; store the value with `mcp-sandbox secret set` and convert the entry by hand", v)
	}
	c := &Conversion{Server: Server{Name: ServerName(e.Name)}}
	if o.ItemName == nil {
		o.ItemName = func(server, key string) string { return server + "." + key }
	}
	if e.URL != "" {
		return c, c.remote(e, o)
	}
	if e.Command == "" {
		return nil, cannot("the entry has neither a command nor a url")
	}
	tool := strings.ToLower(filepath.Base(filepath.ToSlash(strings.ReplaceAll(e.Command, `\`, "/"))))
	tool = strings.TrimSuffix(strings.TrimSuffix(tool, ".exe"), ".cmd")
	args := e.Args
	if tool == "cmd" && len(args) >= 2 && strings.EqualFold(args[0], "/c") {
		// Windows hosts often start npx through "cmd /c".
		inner := e
		inner.Command, inner.Args = args[1], args[2:]
		return Convert(inner, o)
	}
	var err error
	switch {
	case tool == "npx":
		err = c.pkg(e, o, "npm", "npx", args, npxOptions)
	case tool == "uvx":
		err = c.pkg(e, o, "pypi", "uvx", args, uvxOptions)
	case tool == "uv" && len(args) >= 2 && args[0] == "tool" && args[1] == "run":
		err = c.pkg(e, o, "pypi", "uv tool run", args[2:], uvxOptions)
	case tool == "pipx" && len(args) >= 1 && args[0] == "run":
		err = c.pkg(e, o, "pypi", "pipx run", args[1:], pipxOptions)
	case (tool == "docker" || tool == "podman") && len(args) >= 1 && args[0] == "run":
		err = c.docker(e, o, args[1:])
	case tool == "mcp-sandbox":
		return nil, cannot("it already runs mcp-sandbox")
	default:
		return nil, cannot("%q is not a launcher mcp-sandbox can convert (npx, uvx, uv tool run, pipx run, docker run, or a url); a native program needs an image written for it", e.Command)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

var hostVariable = regexp.MustCompile(`\$\{[^}]*\}`)

// variableIn returns the first ${…} host variable (VS Code's ${input:…},
// Claude Code's ${VAR}) in the entry's strings, or "".
func variableIn(e Entry) string {
	all := append([]string{e.Command, e.URL}, e.Args...)
	for _, m := range []map[string]string{e.Env, e.Headers} {
		for _, v := range m {
			all = append(all, v)
		}
	}
	for _, s := range all {
		if v := hostVariable.FindString(s); v != "" {
			return v
		}
	}
	return ""
}

// launcherOptions says, per option of a package launcher, whether it is
// harmless (false) or takes a value (true). Options not listed make the
// entry unconvertible.
type launcherOptions map[string]bool

var (
	npxOptions  = launcherOptions{"-y": false, "--yes": false, "-q": false, "--quiet": false, "--no-install": false}
	uvxOptions  = launcherOptions{"-q": false, "--quiet": false, "--no-progress": false, "--offline": false}
	pipxOptions = launcherOptions{"-q": false, "--quiet": false, "--no-cache": false}
)

func (c *Conversion) pkg(e Entry, o ConvertOptions, registry, launcher string, args []string, opts launcherOptions) error {
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		if _, ok := opts[args[i]]; !ok {
			return cannot("%s option %q is not supported; convert this entry by hand", launcher, args[i])
		}
	}
	if i == len(args) {
		return cannot("%s names no package", launcher)
	}
	spec := args[i]
	name, version := splitPackage(registry, spec)
	if name == "" || strings.ContainsAny(name, ":/\\") && !(registry == "npm" && strings.HasPrefix(name, "@") && strings.Count(name, "/") == 1) {
		return cannot("%s package %q is not a registry package name", launcher, spec)
	}
	c.Server.Package = registry + ":" + name
	switch {
	case version == "":
	case registry == "npm":
		c.Server.Package += "@" + version
	case strings.ContainsAny(version[:1], "=<>!~"):
		c.Server.Package += version // a PyPI specifier with its operator
	default:
		c.Server.Package += "==" + version
	}
	c.Server.Source = launcher + " " + strings.Join(args, " ")
	rw := knownWriters[name]
	for _, a := range args[i+1:] {
		if _, v, _ := strings.Cut(a, "="); CredentialValue(a) || CredentialValue(v) {
			return cannot("an argument looks like a credential; pass it in env instead, then import")
		}
		c.Server.Args = append(c.Server.Args, c.pathArg(a, o, rw))
	}
	c.env(e, o, nil)
	return nil
}

// splitPackage splits "name@version" (npm: "@scope/name@version"; PyPI
// also "name==version").
func splitPackage(registry, spec string) (name, version string) {
	if registry == "pypi" {
		if i := strings.IndexAny(spec, "=<>!~"); i > 0 {
			return spec[:i], spec[i:]
		}
	}
	at := strings.LastIndexByte(spec, '@')
	if at <= 0 {
		return spec, ""
	}
	return spec[:at], spec[at+1:]
}

// knownWriters are packages whose tools write to the directories they are
// given, so their path arguments are mounted read-write by default.
var knownWriters = map[string]bool{
	"@modelcontextprotocol/server-filesystem": true,
}

// pathArg mounts an argument that names an existing host path at the same
// path in the container (an option's "--opt=PATH" value too) and returns
// the argument, with "~/" expanded.
func (c *Conversion) pathArg(a string, o ConvertOptions, rw bool) string {
	prefix, p := "", a
	if strings.HasPrefix(a, "-") {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return a
		}
		prefix, p = k+"=", v
	}
	if strings.HasPrefix(p, "~/") && o.Home != "" {
		p = filepath.Join(o.Home, p[2:])
	}
	if !filepath.IsAbs(p) || o.Stat == nil || !o.Stat(p) {
		return a
	}
	p = filepath.Clean(p)
	if strings.ContainsAny(p, ":$") {
		c.Notes = append(c.Notes, fmt.Sprintf("%s contains ':' or '$' and cannot be a mount; add it by hand", p))
		return prefix + p
	}
	mode := "ro"
	q := fmt.Sprintf("server %s: mount %s read-write (its tools can then change it)?", c.Server.Name, p)
	if o.ask(q, rw) {
		mode = "rw"
	}
	m := p + ":" + filepath.ToSlash(p) + ":" + mode
	if !slices.Contains(c.Server.Mounts, m) {
		c.Server.Mounts = append(c.Server.Mounts, m)
	}
	c.Notes = append(c.Notes, fmt.Sprintf("%s is mounted at the same path, %s", p, map[string]string{"ro": "read-only", "rw": "read-write"}[mode]))
	return prefix + p
}

// env splits the entry's environment into env and secrets. fixed holds
// values that override the entry's (docker run -e K=V).
func (c *Conversion) env(e Entry, o ConvertOptions, only map[string]*string) {
	names := make([]string, 0, len(e.Env))
	for k := range e.Env {
		names = append(names, k)
	}
	if only != nil {
		names = names[:0]
		for k := range only {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		v, ok := e.Env[k]
		if only != nil {
			if p := only[k]; p != nil {
				v, ok = *p, true
			}
		}
		if !ok {
			c.Notes = append(c.Notes, fmt.Sprintf("-e %s has no value in the entry's env; it is left out", k))
			continue
		}
		if k == "PATH" {
			c.Notes = append(c.Notes, "PATH is left out: the container has its own")
			continue
		}
		cred := v != "" && (CredentialName(k) || CredentialValue(v))
		q := fmt.Sprintf("server %s: store %s in the keychain (instead of the config file)?", c.Server.Name, k)
		if v != "" && o.ask(q, cred) {
			item := o.ItemName(c.Server.Name, k)
			if c.Server.Secrets == nil {
				c.Server.Secrets = map[string]string{}
			}
			c.Server.Secrets[k] = item
			c.Secrets = append(c.Secrets, Secret{Item: item, Value: v, Use: "env " + k + " of server " + c.Server.Name})
			continue
		}
		if c.Server.Env == nil {
			c.Server.Env = map[string]string{}
		}
		c.Server.Env[k] = v
	}
}

var credentialWords = []string{"TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"}

// CredentialName reports whether an environment variable or header name
// looks like it holds a credential: *TOKEN*, *KEY*, *SECRET*, *PASSWORD*,
// *CREDENTIAL*, a PAT word (GITHUB_PAT, but not PATH), Authorization.
func CredentialName(name string) bool {
	u := strings.ToUpper(name)
	for _, w := range credentialWords {
		if strings.Contains(u, w) {
			return true
		}
	}
	if u == "AUTHORIZATION" || u == "PROXY-AUTHORIZATION" || u == "COOKIE" {
		return true
	}
	return slices.Contains(strings.FieldsFunc(u, func(r rune) bool { return r == '_' || r == '-' }), "PAT")
}

var tokenFormats = regexp.MustCompile(`^(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|sk-[A-Za-z0-9_-]{16,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|npm_[A-Za-z0-9]{30,}|hf_[A-Za-z0-9]{30,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+|(?i:bearer|basic|token) \S{8,})$`)

// CredentialValue reports whether a value has the shape of a known token
// format (GitHub, GitLab, OpenAI/Anthropic-style sk-, Slack, AWS access
// key, Google API key, npm, Hugging Face, JWT, an Authorization value).
func CredentialValue(v string) bool { return tokenFormats.MatchString(strings.TrimSpace(v)) }

func (c *Conversion) remote(e Entry, o ConvertOptions) error {
	s := &c.Server
	u, err := url.Parse(e.URL)
	if err != nil {
		return cannot("the url does not parse")
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			if CredentialName(k) || CredentialValue(v) {
				return cannot("the url carries a credential in its query (%s); mcp-sandbox keeps credentials in the keychain, so move it to a header by hand", k)
			}
		}
	}
	if u.User != nil {
		return cannot("the url carries a user name or password")
	}
	s.URL = e.URL
	s.Source = "url " + e.URL
	switch strings.ToLower(e.Type) {
	case "sse":
		s.Transport = "sse"
	case "", "http", "streamable-http", "streamablehttp":
	default:
		return cannot("transport type %q is not known", e.Type)
	}
	keys := make([]string, 0, len(e.Headers))
	for k := range e.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := e.Headers[k]
		if s.Headers == nil {
			s.Headers = map[string]string{}
		}
		q := fmt.Sprintf("server %s: store header %s in the keychain (instead of the config file)?", s.Name, k)
		if v != "" && o.ask(q, CredentialName(k) || CredentialValue(v)) {
			item := o.ItemName(s.Name, k)
			s.Headers[k] = "secret:" + item
			c.Secrets = append(c.Secrets, Secret{Item: item, Value: v, Use: "header " + k + " of server " + s.Name})
			continue
		}
		s.Headers[k] = v
	}
	if len(e.Env) > 0 {
		c.Notes = append(c.Notes, "the entry's env is left out: a remote server does not run here")
	}
	return nil
}

// dockerValueFlags take a value; dockerBoolFlags do not. The mapped ones
// are -e/--env, -v/--volume and --network/--net; the rest are reported.
var (
	dockerValueFlags = map[string]bool{
		"-e": true, "--env": true, "-v": true, "--volume": true, "--network": true, "--net": true,
		"--name": true, "-w": true, "--workdir": true, "-u": true, "--user": true, "--env-file": true,
		"-m": true, "--memory": true, "--cpus": true, "--entrypoint": true, "-p": true, "--publish": true,
		"--pull": true, "--platform": true, "-l": true, "--label": true, "--add-host": true, "--mount": true,
		"--cap-add": true, "--cap-drop": true, "--security-opt": true, "--tmpfs": true, "--pids-limit": true,
		"-h": true, "--hostname": true, "--dns": true, "--ulimit": true, "--device": true, "--runtime": true,
	}
	dockerBoolFlags = map[string]bool{
		"-i": true, "--interactive": true, "-t": true, "--tty": true, "-it": true, "-ti": true, "--rm": true,
		"-d": true, "--detach": true, "--init": true, "--read-only": true, "--privileged": true, "-P": true,
		"-q": true, "--quiet": true,
	}
	dockerSilent = map[string]bool{"-i": true, "--interactive": true, "--rm": true, "--init": true, "--read-only": true, "--name": true, "--pull": true, "-q": true, "--quiet": true}
)

func (c *Conversion) docker(e Entry, o ConvertOptions, args []string) error {
	s := &c.Server
	envs := map[string]*string{}
	var dropped []string
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		flag, val, hasVal := strings.Cut(args[i], "=")
		switch {
		case dockerValueFlags[flag]:
			if !hasVal {
				if i+1 >= len(args) {
					return cannot("docker run option %s has no value", flag)
				}
				i++
				val = args[i]
			}
		case dockerBoolFlags[flag]:
		default:
			return cannot("docker run option %q is not understood; convert this entry by hand", args[i])
		}
		switch flag {
		case "-e", "--env":
			k, v, ok := strings.Cut(val, "=")
			if ok {
				envs[k] = &v
			} else {
				envs[k] = nil
			}
		case "-v", "--volume":
			parts := strings.Split(val, ":")
			if len(parts) < 2 || !filepath.IsAbs(parts[0]) {
				dropped = append(dropped, flag+" "+val+" (only host paths can be mounted)")
				continue
			}
			mode := "rw"
			if len(parts) == 3 && parts[2] == "ro" {
				mode = "ro"
			}
			if strings.ContainsAny(parts[0], "$") {
				dropped = append(dropped, flag+" "+val)
				continue
			}
			s.Mounts = append(s.Mounts, parts[0]+":"+parts[1]+":"+mode)
		case "--network", "--net":
			switch val {
			case "none":
			case "bridge":
				s.Network = "bridge"
			default:
				s.Network = "bridge"
				c.Notes = append(c.Notes, fmt.Sprintf("--network %s became the bridge network", val))
			}
		default:
			if !dockerSilent[flag] && flag != "-t" && flag != "--tty" && flag != "-it" && flag != "-ti" {
				dropped = append(dropped, strings.TrimSpace(flag+" "+val))
			}
		}
	}
	if i == len(args) {
		return cannot("docker run names no image")
	}
	s.Image = args[i]
	s.Args = append([]string(nil), args[i+1:]...)
	s.Source = "docker run " + redactDockerArgs(args)
	if len(dropped) > 0 {
		c.Notes = append(c.Notes, "docker run options not carried over (the sandbox sets its own): "+strings.Join(dropped, ", "))
	}
	c.env(e, o, envs)
	return nil
}

// redactDockerArgs shows a docker command line with -e values elided.
func redactDockerArgs(args []string) string {
	out := slices.Clone(args)
	for i, a := range out {
		if (a == "-e" || a == "--env") && i+1 < len(out) {
			if k, _, ok := strings.Cut(out[i+1], "="); ok {
				out[i+1] = k + "=…"
			}
		} else if k, v, ok := strings.Cut(a, "="); ok && (k == "-e" || k == "--env") {
			if name, _, ok := strings.Cut(v, "="); ok {
				out[i] = k + "=" + name + "=…"
			}
		}
	}
	return strings.Join(out, " ")
}
