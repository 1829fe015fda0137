package profiles

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/shim/remote"
)

// The document is decoded into generic maps rather than structs: the schema
// walk below then sees every key (so unknown ones are reported, never
// ignored), reports every type mismatch instead of stopping at the first,
// and places each message at the key or value it is about.

// decoder collects the problems of one document.
type decoder struct {
	file string
	dir  string // base for relative paths
	pos  *posIndex
	env  environment
	errs []*Error
	pkg  PackageSettings // the [packages] table, read before the servers

	sensitive []sensitive     // dangerous host paths, listed on first use (danger.go)
	dangers   []pendingDanger // of the sandbox being decoded
}

// errorf records a problem at the key of path.
func (d *decoder) errorf(path []string, format string, args ...any) {
	d.add(d.pos.key(path), format, args...)
}

// valuef records a problem at the value of path.
func (d *decoder) valuef(path []string, format string, args ...any) {
	d.add(d.pos.val(path), format, args...)
}

func (d *decoder) add(p position, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: p.line, Column: p.col, Msg: fmt.Sprintf(format, args...)})
}

func parse(file string, data []byte, env environment) (*Config, error) {
	abs, aerr := filepath.Abs(file)
	if aerr != nil {
		abs = file
	}
	var doc map[string]any
	if err := decodeTOML(data, &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			line, col := clampPosition(data, pe.Position.Line, pe.Position.Col)
			return nil, &Error{File: file, Line: line, Column: col, Msg: pe.Message}
		}
		return nil, &Error{File: file, Line: 1, Column: 1, Msg: err.Error()}
	}
	d := &decoder{file: file, dir: filepath.Dir(abs), pos: indexPositions(data), env: env}
	cfg := &Config{
		Path:     abs,
		Servers:  map[string]*Server{},
		Profiles: map[string]*Profile{},
		sum:      sha256.Sum256(data),
	}
	d.config(doc, cfg)
	if err := joinErrors(d.errs); err != nil {
		return nil, err
	}
	return cfg, nil
}

// clampPosition keeps a position reported by the TOML library inside the
// document: at least 1:1, and at most one column past the end of its line
// (the library places some errors, duplicate keys for one, beyond it).
func clampPosition(data []byte, line, col int) (int, int) {
	lines := bytes.Split(data, []byte("\n"))
	line = min(max(line, 1), len(lines))
	col = min(max(col, 1), len(bytes.TrimSuffix(lines[line-1], []byte("\r")))+1)
	return line, col
}

// decodeTOML runs the TOML library, turning a panic inside it into an
// error so that no input can crash the caller.
func decodeTOML(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("toml decoder failed: %v", r)
		}
	}()
	_, err = toml.NewDecoder(bytes.NewReader(data)).Decode(v)
	return err
}

func sub(path []string, key ...string) []string {
	return append(path[:len(path):len(path)], key...)
}

// sortedKeys iterates a table in a stable order.
func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func (d *decoder) unknown(path []string, where string) {
	d.errorf(path, "unknown key %q in %s", path[len(path)-1], where)
}

func (d *decoder) config(doc map[string]any, cfg *Config) {
	for _, k := range sortedKeys(doc) {
		p, v := []string{k}, doc[k]
		switch k {
		case "keychain_service":
			if s, ok := d.str(p, v); ok {
				if s == "" {
					d.valuef(p, "keychain_service must not be empty (leave it out for the default)")
				}
				cfg.KeychainService = s
			}
		case "audit":
			d.audit(p, v, &cfg.Audit)
		case "servers", "profiles", "packages":
			// below, profiles and packages first: servers refer to them
		default:
			d.unknown(p, "the top level (want keychain_service, audit, packages, servers, profiles)")
		}
	}
	if t, ok := d.table([]string{"profiles"}, doc["profiles"]); ok {
		for _, name := range sortedKeys(t) {
			p := []string{"profiles", name}
			if pt, ok := d.table(p, t[name]); ok {
				cfg.Profiles[name] = d.profile(p, name, pt)
			}
		}
	}
	d.extends(cfg.Profiles)
	d.pkg = d.packages([]string{"packages"}, doc["packages"])
	cfg.Packages = d.pkg
	if t, ok := d.table([]string{"servers"}, doc["servers"]); ok {
		for _, name := range sortedKeys(t) {
			p := []string{"servers", name}
			if !serverName.MatchString(name) {
				d.errorf(p, "invalid server name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", name)
			}
			if st, ok := d.table(p, t[name]); ok {
				cfg.Servers[name] = d.server(p, name, st, cfg.Profiles)
			}
		}
	}
}

// serverName keeps names usable in container names and labels.
var serverName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (d *decoder) audit(p []string, v any, a *Audit) {
	t, ok := d.table(p, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(t) {
		kp := sub(p, k)
		switch k {
		case "path":
			s, ok := d.str(kp, t[k])
			switch {
			case !ok || s == "":
			case s == "off":
				a.Disabled = true
			default:
				a.Path = d.path(kp, s)
			}
		default:
			d.unknown(kp, "[audit] (want path)")
		}
	}
}

// path expands a host path, reporting failures at the value.
func (d *decoder) path(p []string, s string) string {
	out, err := expandPath(s, d.dir, d.env)
	if err != nil {
		d.valuef(p, "%v", err)
	}
	return out
}

var (
	localKeys  = append([]string{"build", "image", "dockerfile", "args", "env", "secrets", "secret_files", "sandbox", "package", "command", "state"}, packageKeys...)
	remoteKeys = []string{"url", "transport", "headers", "oauth"}
)

func (d *decoder) server(p []string, name string, t map[string]any, profiles map[string]*Profile) *Server {
	s := &Server{Name: name}
	isRemote := t["url"] != nil
	own, set := d.pkg, map[string]bool{} // package settings, overridden per server
	var command string
	for _, k := range sortedKeys(t) {
		kp, v := sub(p, k), t[k]
		switch {
		case isRemote && slices.Contains(localKeys, k):
			d.errorf(kp, "%s is for local servers; server %q has a url", k, name)
			continue
		case !isRemote && slices.Contains(remoteKeys, k):
			d.errorf(kp, "%s is for remote servers (with url); server %q is local", k, name)
			continue
		}
		switch k {
		case "image":
			if str, ok := d.str(kp, v); ok {
				s.Image = str
				if str == "" || strings.ContainsFunc(str, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
					d.valuef(kp, "invalid image reference %q", str)
				}
			}
		case "build":
			if str, ok := d.str(kp, v); ok {
				s.Build = d.path(kp, str)
			}
		case "dockerfile":
			if str, ok := d.str(kp, v); ok {
				s.Dockerfile = str
				if str == "" {
					d.valuef(kp, "dockerfile must not be empty")
				}
				if t["build"] == nil {
					d.errorf(kp, "dockerfile needs build")
				}
			}
		case "url":
			if str, ok := d.str(kp, v); ok {
				s.URL = str
				if err := checkURL(str, true); err != nil {
					d.valuef(kp, "%v", err)
				}
			}
		case "transport":
			if str, ok := d.str(kp, v); ok {
				s.Transport = str
				if !remote.ValidTransport(str) {
					d.valuef(kp, "invalid transport %q (want auto, streamable-http or sse)", str)
				}
			}
		case "profile":
			if str, ok := d.str(kp, v); ok {
				s.Profile = str
				if profiles[str] == nil {
					d.valuef(kp, "unknown profile %q%s", str, known("profiles", slices.Sorted(maps.Keys(profiles))))
				}
			}
		case "args":
			s.Args, _ = d.strs(kp, v)
		case "env":
			s.Env = d.envMap(kp, v)
		case "secrets":
			s.Secrets = d.envMap(kp, v)
			for _, name := range slices.Sorted(maps.Keys(s.Secrets)) {
				d.itemName(sub(kp, name), s.Secrets[name])
			}
		case "secret_files":
			s.SecretFiles = d.secretFiles(kp, v)
		case "headers":
			s.Headers = d.headers(kp, v)
		case "audit_arguments":
			s.AuditArguments, _ = d.boolean(kp, v)
		case "oauth":
			s.OAuth = d.oauth(kp, v)
		case "sandbox":
			s.Sandbox = d.sandbox(kp, v)
		case "package":
			if str, ok := d.str(kp, v); ok {
				pk, err := parsePackage(str)
				if err != nil {
					d.valuef(kp, "%v", err)
				}
				s.Package = pk
			}
		case "command":
			set[k] = true
			command = d.command(kp, v)
		case "state":
			s.State = d.state(kp, v)
		default:
			if slices.Contains(packageKeys, k) {
				set[k] = true
				d.packageSetting(kp, k, v, &own)
				continue
			}
			d.unknown(kp, fmt.Sprintf("[servers.%s]", name))
		}
	}
	for env := range s.Env {
		if _, dup := s.Secrets[env]; dup {
			d.errorf(sub(p, "secrets", env), "%s is set in both env and secrets", env)
		}
	}
	switch {
	case isRemote:
		if s.Transport == "" {
			s.Transport = remote.TransportAuto
		}
	case t["image"] == nil && t["build"] == nil && t["package"] == nil:
		d.errorf(p, "server %q needs one of image, build, package or url", name)
	default:
		d.packageServer(p, s, t, own, set)
		if s.Package != nil {
			s.Package.Command = command
		}
		if s.State != "" && t["package"] == nil {
			d.errorf(sub(p, "state"), "state is for package servers (their image is built with the directory owned by the sandbox user)")
		}
		if t["sandbox"] == nil {
			s.Sandbox = DefaultSandbox()
		}
	}
	return s
}

func known(what string, names []string) string {
	if len(names) == 0 {
		return fmt.Sprintf(" (no %s defined)", what)
	}
	return fmt.Sprintf(" (known %s: %s)", what, strings.Join(names, ", "))
}

// checkURL accepts https:// URLs, and http:// ones only to a loopback host
// when allowHTTP is set, since plain HTTP elsewhere would expose tokens.
func checkURL(s string, allowHTTP bool) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid url: %w", err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("invalid url %q: no host", s)
	}
	if u.User != nil {
		return fmt.Errorf("url %q must not carry credentials; use headers with a secret: reference", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP && isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("url %q: http:// is allowed only to a loopback host (127.0.0.0/8, ::1, localhost); use https://", s)
	}
	return fmt.Errorf("url %q: scheme must be https (or http to a loopback host)", s)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// envMap decodes a table of environment variables.
func (d *decoder) envMap(p []string, v any) map[string]string {
	m := d.strMap(p, v)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !validEnvName(k) {
			d.errorf(sub(p, k), "invalid environment variable name %q", k)
		}
	}
	return m
}

// itemName checks a keychain item name.
func (d *decoder) itemName(p []string, name string) {
	if strings.TrimSpace(name) == "" {
		d.valuef(p, "keychain item name must not be empty")
	}
}

func (d *decoder) secretFiles(p []string, v any) map[string]string {
	m := d.strMap(p, v)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kp := sub(p, k)
		if !path.IsAbs(k) || path.Clean(k) != k || k == "/" {
			d.errorf(kp, "secret file %q must be a clean absolute container path", k)
		}
		d.itemName(kp, m[k])
	}
	return m
}

func (d *decoder) headers(p []string, v any) map[string]string {
	m := d.strMap(p, v)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kp := sub(p, k)
		switch {
		case !validHeaderName(k):
			d.errorf(kp, "invalid header name %q", k)
		case remote.ReservedHeader(k):
			d.errorf(kp, "header %q is set by the transport and cannot be configured", k)
		}
		if ref, ok := strings.CutPrefix(m[k], SecretPrefix); ok {
			d.itemName(kp, ref)
		}
	}
	return m
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func (d *decoder) oauth(p []string, v any) *OAuth {
	t, ok := d.table(p, v)
	if !ok {
		return nil
	}
	o := &OAuth{}
	for _, k := range sortedKeys(t) {
		kp, v := sub(p, k), t[k]
		switch k {
		case "client_id":
			o.ClientID, _ = d.str(kp, v)
		case "client_secret":
			if s, ok := d.str(kp, v); ok {
				ref, found := strings.CutPrefix(s, SecretPrefix)
				if !found {
					d.valuef(kp, `client_secret must be a keychain reference "secret:NAME", never the secret itself`)
				} else {
					d.itemName(kp, ref)
				}
				o.ClientSecret = ref
			}
		case "scopes":
			o.Scopes, _ = d.strs(kp, v)
		case "redirect_port":
			if n, ok := d.integer(kp, v); ok {
				if n < 0 || n > 65535 {
					d.valuef(kp, "redirect_port %d out of range 0..65535", n)
				}
				o.RedirectPort = int(n)
			}
		case "client_metadata_url":
			if s, ok := d.str(kp, v); ok {
				o.ClientMetadataURL = s
				if err := checkURL(s, false); err != nil {
					d.valuef(kp, "client_metadata_url: %v", err)
				} else if err := remote.CheckClientMetadataURL(s); err != nil {
					d.valuef(kp, "client_metadata_url: %v", err)
				}
			}
		default:
			d.unknown(kp, "[oauth] (want client_id, client_secret, scopes, redirect_port, client_metadata_url)")
		}
	}
	return o
}

func (d *decoder) sandbox(p []string, v any) Sandbox {
	sb := DefaultSandbox()
	t, ok := d.table(p, v)
	if !ok {
		return sb
	}
	for _, k := range sortedKeys(t) {
		kp, v := sub(p, k), t[k]
		switch k {
		case "network":
			if s, ok := d.str(kp, v); ok {
				sb.Network = s
				if !launcher.ValidNetwork(s) {
					d.valuef(kp, "invalid network %q (want none or bridge)", s)
				}
			}
		case "read_only":
			sb.ReadOnly, _ = d.boolean(kp, v)
		case "memory":
			sb.Memory = d.size(kp, v, 6<<20)
		case "tmpfs":
			sb.Tmpfs = d.size(kp, v, 1)
		case "cpus":
			if f, ok := d.float(kp, v); ok {
				sb.CPUs = f
				if !(f > 0) || math.IsInf(f, 0) {
					d.valuef(kp, "cpus must be a positive number, got %v", f)
				}
			}
		case "pids":
			if n, ok := d.integer(kp, v); ok {
				sb.Pids = n
				if n <= 0 {
					d.valuef(kp, "pids must be positive, got %d", n)
				}
			}
		case "user":
			sb.User, _ = d.str(kp, v)
		case "allow_root":
			sb.AllowRoot, _ = d.boolean(kp, v)
		case "workdir":
			if s, ok := d.str(kp, v); ok {
				sb.Workdir = s
				if s != "" && !path.IsAbs(s) {
					d.valuef(kp, "workdir %q must be an absolute container path", s)
				}
			}
		case "mounts":
			sb.Mounts = d.mounts(kp, v)
		case "allow_hosts":
			sb.AllowHosts = d.allowHosts(kp, v)
		case "hosts":
			sb.Hosts = d.hosts(kp, v)
		case "allow_dangerous_mounts":
			sb.AllowDangerousMounts, _ = d.boolean(kp, v)
		default:
			d.unknown(kp, "[sandbox] (want network, read_only, memory, cpus, pids, user, tmpfs, mounts, workdir, allow_root, allow_dangerous_mounts, allow_hosts, hosts)")
		}
	}
	d.judgeMountDangers(p, &sb)
	d.egress(p, t, &sb)
	if !sb.AllowRoot && isRootUser(sb.User) {
		d.valuef(sub(p, "user"), "user %q runs as root (or as the image's default user); set allow_root = true if you mean it", sb.User)
	}
	return sb
}

// isRootUser reports whether user selects uid 0, or the image's default
// user (which is often root).
func isRootUser(user string) bool {
	uid, _, _ := strings.Cut(user, ":")
	uid = strings.TrimSpace(uid)
	return uid == "" || uid == "root" || strings.Trim(uid, "0") == "" && uid != ""
}

// size decodes a size string (or a bare integer of bytes) of at least least bytes.
func (d *decoder) size(p []string, v any, least int64) int64 {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case string:
		var err error
		if n, err = ParseSize(x); err != nil {
			d.valuef(p, "%v", err)
			return 0
		}
	default:
		d.typeErr(p, v, "size string like \"512m\"")
		return 0
	}
	if n < least {
		d.valuef(p, "%s must be at least %d bytes", p[len(p)-1], least)
	}
	return n
}

func (d *decoder) mounts(p []string, v any) []Mount {
	list, ok := d.strs(p, v)
	if !ok {
		return nil
	}
	var out []Mount
	targets := map[string]bool{}
	for i, spec := range list {
		ep := sub(p, elem(i))
		src, dst, mode, ok := splitMount(spec)
		if !ok {
			d.valuef(ep, "invalid mount %q: want SRC:DST[:ro|rw]", spec)
			continue
		}
		parts := []string{src, dst, mode}
		m := Mount{ReadOnly: true}
		if mode != "" {
			switch parts[2] {
			case "ro":
			case "rw":
				m.ReadOnly = false
			default:
				d.valuef(ep, "invalid mount mode %q in %q (want ro or rw)", parts[2], spec)
				continue
			}
		}
		src, err := expandPath(parts[0], d.dir, d.env)
		if err != nil {
			d.valuef(ep, "mount %q: %v", spec, err)
			continue
		}
		m.Source = src
		if !path.IsAbs(parts[1]) {
			d.valuef(ep, "mount %q: target %q must be an absolute container path", spec, parts[1])
			continue
		}
		m.Target = path.Clean(parts[1])
		if m.Target == "/" {
			d.valuef(ep, "mount %q: cannot mount over /", spec)
			continue
		}
		if targets[m.Target] {
			d.valuef(ep, "mount %q: target %s is mounted twice", spec, m.Target)
			continue
		}
		targets[m.Target] = true
		d.noteMountDanger(ep, spec, m)
		out = append(out, m)
	}
	return out
}

var kindKeys = [...]string{Tools: "tools", Prompts: "prompts", Resources: "resources"}

func (d *decoder) profile(p []string, name string, t map[string]any) *Profile {
	pr := &Profile{Name: name}
	for _, k := range sortedKeys(t) {
		kp, v := sub(p, k), t[k]
		switch k {
		case "extends":
			pr.Extends, _ = d.str(kp, v)
		case "tools":
			pr.Tools = d.rules(kp, v, Tools)
		case "prompts":
			pr.Prompts = d.rules(kp, v, Prompts)
		case "resources":
			pr.Resources = d.rules(kp, v, Resources)
		case "approval_timeout", "pin", "requests":
			d.guard(kp, k, v, &pr.Guard)
		default:
			d.unknown(kp, fmt.Sprintf("[profiles.%s] (want extends, tools, prompts, resources, approval_timeout, pin, requests)", name))
		}
	}
	return pr
}

func (d *decoder) rules(p []string, v any, kind Kind) Rules {
	var r Rules
	t, ok := d.table(p, v)
	if !ok {
		return r
	}
	for _, k := range sortedKeys(t) {
		kp := sub(p, k)
		var dst *[]string
		switch k {
		case "allow":
			dst = &r.Allow
		case "deny":
			dst = &r.Deny
		case "approve":
			if kind != Tools {
				d.unknown(kp, fmt.Sprintf("%s rules (want allow, deny; approve is for tools)", kindKeys[kind]))
				continue
			}
			dst = &r.Approve
		default:
			want := "allow, deny"
			if kind == Tools {
				want = "allow, deny, approve"
			}
			d.unknown(kp, fmt.Sprintf("%s rules (want %s)", kindKeys[kind], want))
			continue
		}
		list, _ := d.strs(kp, t[k])
		for i, pat := range list {
			if _, err := compileGlob(pat, kind == Resources); err != nil {
				d.valuef(sub(kp, elem(i)), "%v", err)
			}
		}
		*dst = list
	}
	return r
}

// extends reports unknown parents and cycles.
func (d *decoder) extends(profiles map[string]*Profile) {
	for _, name := range slices.Sorted(maps.Keys(profiles)) {
		pr := profiles[name]
		if pr.Extends == "" {
			continue
		}
		p := []string{"profiles", name, "extends"}
		if profiles[pr.Extends] == nil {
			d.valuef(p, "profile %q extends unknown profile %q", name, pr.Extends)
			continue
		}
		chain := []string{name}
		for cur := profiles[pr.Extends]; cur != nil; cur = profiles[cur.Extends] {
			chain = append(chain, cur.Name)
			if cur.Name == name {
				d.valuef(p, "extends cycle: %s", strings.Join(chain, " -> "))
				break
			}
			if len(chain) > len(profiles) { // a cycle further up; reported there
				break
			}
		}
	}
}

// Typed accessors. Each reports a type mismatch at the value and returns
// ok=false.

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	case time.Time:
		return "date-time"
	}
	return fmt.Sprintf("%T", v)
}

func (d *decoder) typeErr(p []string, v any, want string) {
	d.valuef(p, "%s must be %s, not %s", p[len(p)-1], article(want), article(typeName(v)))
}

// article prefixes a noun with "a" or "an".
func article(noun string) string {
	if noun != "" && strings.IndexByte("aeiou", noun[0]) >= 0 {
		return "an " + noun
	}
	return "a " + noun
}

func (d *decoder) table(p []string, v any) (map[string]any, bool) {
	if v == nil {
		return nil, false
	}
	t, ok := v.(map[string]any)
	if !ok {
		d.typeErr(p, v, "table")
	}
	return t, ok
}

func (d *decoder) str(p []string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		d.typeErr(p, v, "string")
	}
	return s, ok
}

func (d *decoder) boolean(p []string, v any) (bool, bool) {
	b, ok := v.(bool)
	if !ok {
		d.typeErr(p, v, "boolean")
	}
	return b, ok
}

func (d *decoder) integer(p []string, v any) (int64, bool) {
	n, ok := v.(int64)
	if !ok {
		d.typeErr(p, v, "integer")
	}
	return n, ok
}

// float accepts integers too: cpus = 2 means 2.0.
func (d *decoder) float(p []string, v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	d.typeErr(p, v, "number")
	return 0, false
}

// strs decodes an array of strings; a non-string element is reported at
// the element and left out.
func (d *decoder) strs(p []string, v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		d.typeErr(p, v, "array of strings")
		return nil, false
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			d.valuef(sub(p, elem(i)), "%s[%d] must be a string, not %s", p[len(p)-1], i, article(typeName(e)))
			continue
		}
		out = append(out, s)
	}
	return out, true
}

// strMap decodes a table of strings.
func (d *decoder) strMap(p []string, v any) map[string]string {
	t, ok := d.table(p, v)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(t))
	for _, k := range sortedKeys(t) {
		if s, ok := d.str(sub(p, k), t[k]); ok {
			out[k] = s
		}
	}
	return out
}
