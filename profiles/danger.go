package profiles

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Dangerous mounts.
//
// Some host paths hand a sandboxed server the machine or the user's
// credentials: the container engine's socket (root on the host), the root
// filesystem, the home directory itself, and the directories credentials
// live in. A mount of such a path, of a path inside a credential directory,
// or of a parent of any of them (read-only too: reading ~/.ssh is the harm)
// is refused unless the server's sandbox sets allow_dangerous_mounts = true,
// and even then `check` warns about it.
//
// Paths are compared after ~, $VAR and relative-path expansion (done by the
// mount parser), and after resolving symbolic links on both sides, so a link
// to the engine socket or a spelling through /var/run -> /run is caught; a
// hard link or second bind of a socket is caught by comparing files. On
// macOS and Windows, whose file systems ignore case by default, names are
// compared without case. This reads nothing but file metadata.

// sensitive is a host path a server must not be handed.
type sensitive struct {
	path string // absolute, cleaned, as the environment spells it
	what string // for messages: "the container engine's socket /run/docker.sock"
	// inside makes every path under it dangerous too (credential
	// directories); otherwise only the path and its parents are.
	inside bool
	// rwOnly counts only writable mounts (the config file: reading it
	// reveals nothing the server may not know, writing it rewrites the
	// server's own profile).
	rwOnly bool
}

// engineSocketNames are socket file names a container engine listens on.
var engineSocketNames = []string{"docker.sock", "podman.sock", "containerd.sock", "dockershim.sock", "cri-dockerd.sock", "crio.sock"}

// sensitivePaths lists the dangerous host paths for goos in env. configFile
// is the configuration being parsed.
func sensitivePaths(env environment, goos, configFile string) []sensitive {
	var out []sensitive
	add := func(p, what string, inside bool) {
		if p == "" || !filepath.IsAbs(p) {
			return
		}
		out = append(out, sensitive{path: filepath.Clean(p), what: what, inside: inside})
	}
	get := func(k string) string { v, _ := env.LookupEnv(k); return v }
	home, _ := env.UserHomeDir()
	inHome := func(rel ...string) string {
		if home == "" {
			return ""
		}
		return filepath.Join(append([]string{home}, rel...)...)
	}

	add(home, "your home directory "+home, false)

	// The engine's sockets: the ones the environment points clients at,
	// then the well-known places of Docker, Docker Desktop, Podman,
	// Colima, OrbStack, Rancher Desktop, Lima and containerd.
	socket := func(p string) { add(p, "the container engine's socket "+p+" (root on this machine)", false) }
	for _, k := range []string{"DOCKER_HOST", "CONTAINER_HOST"} {
		if p, ok := strings.CutPrefix(get(k), "unix://"); ok {
			socket(p)
		}
	}
	for _, p := range []string{
		"/var/run/docker.sock", "/run/docker.sock",
		"/run/podman/podman.sock", "/var/run/podman/podman.sock",
		"/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock",
		"/var/run/cri-dockerd.sock", "/run/crio/crio.sock",
	} {
		socket(p)
	}
	if rt := get("XDG_RUNTIME_DIR"); rt != "" {
		socket(filepath.Join(rt, "docker.sock"))
		socket(filepath.Join(rt, "podman", "podman.sock"))
	}
	for _, rel := range [][]string{
		{".docker", "run", "docker.sock"},
		{".docker", "desktop", "docker.sock"},
		{".colima", "docker.sock"},
		{".colima", "default", "docker.sock"},
		{".orbstack", "run", "docker.sock"},
		{".rd", "docker.sock"},
		{".lima", "docker", "sock", "docker.sock"},
		{".local", "share", "containers", "podman", "machine", "podman.sock"},
	} {
		socket(inHome(rel...))
	}
	if home != "" {
		// Colima and Lima name a directory per profile or instance.
		for _, pat := range []string{
			filepath.Join(home, ".colima", "*", "docker.sock"),
			filepath.Join(home, ".lima", "*", "sock", "docker.sock"),
		} {
			matches, _ := filepath.Glob(pat)
			for _, m := range matches {
				socket(m)
			}
		}
	}
	if goos == "windows" {
		for _, p := range []string{`\\.\pipe\docker_engine`, `//./pipe/docker_engine`} {
			out = append(out, sensitive{path: p, what: "the container engine's pipe " + p + " (root on this machine)"})
		}
	}

	// Credentials.
	cred := func(p string) { add(p, "the credential directory "+p, true) }
	for _, rel := range [][]string{
		{".ssh"}, {".aws"}, {".config", "gcloud"}, {".docker"}, {".kube"}, {".gnupg"},
		{".azure"}, {".config", "gh"},
		{".local", "share", "keyrings"}, {"Library", "Keychains"},
		{".password-store"},
	} {
		cred(inHome(rel...))
	}
	for _, k := range []string{"DOCKER_CONFIG", "GNUPGHOME", "CLOUDSDK_CONFIG", "AZURE_CONFIG_DIR", "KUBECONFIG"} {
		for _, p := range filepath.SplitList(get(k)) {
			cred(p)
		}
	}
	if x := get("XDG_CONFIG_HOME"); x != "" {
		cred(filepath.Join(x, "gcloud"))
		cred(filepath.Join(x, "gh"))
	}
	if x := get("XDG_DATA_HOME"); x != "" {
		cred(filepath.Join(x, "keyrings"))
	}

	// mcp-sandbox's own configuration and state (tokens' locks, audit log,
	// pins): the user config, state and cache directories.
	own := func(p string) { add(p, "mcp-sandbox's own directory "+p, true) }
	for _, d := range userDirs(get, home, goos) {
		own(filepath.Join(d, "mcp-sandbox"))
	}
	if c := get("MCP_SANDBOX_CONFIG"); c != "" && filepath.IsAbs(c) {
		out = append(out, sensitive{path: filepath.Clean(c), what: "the mcp-sandbox configuration " + c, rwOnly: true})
	}
	if configFile != "" && filepath.IsAbs(configFile) {
		out = append(out, sensitive{path: filepath.Clean(configFile), what: "this configuration file " + configFile, rwOnly: true})
	}
	return out
}

// userDirs returns the per-user config, state and cache directories of goos,
// as [os.UserConfigDir] and [os.UserCacheDir] find them and as mcp-sandbox
// places its state.
func userDirs(get func(string) string, home, goos string) []string {
	var dirs []string
	j := func(rel ...string) string {
		if home == "" {
			return ""
		}
		return filepath.Join(append([]string{home}, rel...)...)
	}
	switch goos {
	case "windows":
		dirs = append(dirs, get("AppData"), get("LocalAppData"))
	case "darwin", "ios":
		dirs = append(dirs, j("Library", "Application Support"), j("Library", "Caches"), j("Library", "Logs"))
	default:
		dirs = append(dirs, get("XDG_CONFIG_HOME"), get("XDG_STATE_HOME"), get("XDG_CACHE_HOME"),
			j(".config"), j(".local", "state"), j(".cache"))
	}
	return slices.DeleteFunc(dirs, func(d string) bool { return d == "" })
}

// mountDanger says why mounting src (absolute, expanded) hands the server
// something it must not have, or "" when it does not. rw is the mount's
// mode.
func mountDanger(src string, rw bool, list []sensitive, goos string) string {
	fold := goos == "windows" || goos == "darwin" || goos == "ios"
	srcs := spellings(src)
	for _, s := range srcs {
		if filepath.Dir(s) == s || isVolumeRoot(s, goos) {
			return "the whole file system " + s
		}
	}
	srcInfo, srcErr := os.Stat(src)
	// The path itself first, so that ~/.docker is named as the credential
	// directory rather than as the parent of a socket inside it; then
	// parents and, for credential directories, what lies inside.
	for _, exact := range []bool{true, false} {
		for _, sp := range list {
			if sp.rwOnly && !rw {
				continue
			}
			for _, s := range srcs {
				for _, p := range spellings(sp.path) {
					switch {
					case exact && samePath(s, p, fold):
						return sp.what
					case !exact && (within(p, s, fold) || sp.inside && within(s, p, fold)):
						return sp.what
					}
				}
			}
			// The same file under another name: a hard link or a second
			// bind of the socket.
			if exact && srcErr == nil && !srcInfo.IsDir() {
				if fi, err := os.Stat(sp.path); err == nil && os.SameFile(srcInfo, fi) {
					return sp.what
				}
			}
		}
	}
	// A socket an engine would listen on, wherever it lives.
	if fi, err := os.Stat(src); err == nil && fi.Mode()&os.ModeSocket != 0 {
		for _, n := range engineSocketNames {
			if strings.EqualFold(filepath.Base(src), n) {
				return "a container engine's socket " + src + " (root on this machine)"
			}
		}
	}
	return ""
}

// isVolumeRoot reports a Windows drive or share root such as C:\.
func isVolumeRoot(p, goos string) bool {
	if goos != "windows" {
		return false
	}
	v := filepath.VolumeName(p)
	return v != "" && strings.TrimRight(p[len(v):], `\/`) == ""
}

// spellings returns p and, when it differs, p with its symbolic links
// resolved. A path that does not exist yet is resolved as far as it exists.
func spellings(p string) []string {
	r := resolve(p)
	if r == p {
		return []string{p}
	}
	return []string{p, r}
}

// resolve resolves the symbolic links of the longest existing prefix of p
// and appends the rest.
func resolve(p string) string {
	rest := ""
	for cur := p; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			if rest == "" {
				return r
			}
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

func samePath(a, b string, fold bool) bool {
	if fold {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// within reports whether p is dir or lies under it.
func within(p, dir string, fold bool) bool {
	if fold {
		p, dir = strings.ToLower(p), strings.ToLower(dir)
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return false
	}
	return rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// pendingDanger is a dangerous mount found while decoding a sandbox, judged
// once the whole table (and so allow_dangerous_mounts) has been read.
type pendingDanger struct {
	at   []string // key path of the mount's array element
	spec string
	why  string
}

// noteMountDanger records m (written as spec, at path at) if it is
// dangerous.
func (d *decoder) noteMountDanger(at []string, spec string, m Mount) {
	if d.sensitive == nil {
		d.sensitive = sensitivePaths(d.env, runtime.GOOS, d.file)
	}
	if why := mountDanger(m.Source, !m.ReadOnly, d.sensitive, runtime.GOOS); why != "" {
		d.dangers = append(d.dangers, pendingDanger{at: at, spec: spec, why: why})
	}
}

// judgeMountDangers refuses the dangerous mounts noted for the sandbox at p,
// or, when it allows them, keeps them in sb.DangerousMounts as warnings.
func (d *decoder) judgeMountDangers(p []string, sb *Sandbox) {
	key := strings.Join(sub(p, "allow_dangerous_mounts"), ".")
	for _, dg := range d.dangers {
		if sb.AllowDangerousMounts {
			pos := d.pos.val(dg.at)
			sb.DangerousMounts = append(sb.DangerousMounts, &Error{File: d.file, Line: pos.line, Column: pos.col,
				Msg: fmt.Sprintf("mount %q hands the server %s; allowed by %s = true", dg.spec, dg.why, key)})
			continue
		}
		d.valuef(dg.at, "mount %q hands the server %s; remove it, or set %s = true if you mean it", dg.spec, dg.why, key)
	}
	d.dangers = nil
}
