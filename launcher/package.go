package launcher

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
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
)

// Labels on package images. LabelServer and LabelRole ("package") are set
// too, so that old images of a server can be found and removed.
const (
	// LabelPackage holds the package as configured ("npm:NAME@RANGE").
	LabelPackage = "dev.mcp-sandbox.package"
	// LabelPackageVersion holds the exact version the build installed.
	LabelPackageVersion = "dev.mcp-sandbox.package.version"
	// LabelPackageCommand holds the executable the entrypoint runs.
	LabelPackageCommand = "dev.mcp-sandbox.package.command"
	// LabelPackageKey holds the hash of everything the image was built from.
	LabelPackageKey = "dev.mcp-sandbox.package.key"
)

// packageRecipe changes whenever the generated build changes, so that images
// built the old way are not reused.
const packageRecipe = "package/1"

// packageRoot is where a package is installed in its image.
const packageRoot = "/opt/mcp-sandbox"

// Package is a server installed from a package registry when its image is
// built. The image is tagged by a hash of the package, the base image and the
// settings below (plus the server's User and State, which the image is
// prepared for), so an unchanged configuration reuses it without contacting
// the registry, and any change builds a new one.
type Package struct {
	// Ecosystem is "npm" (npm install --omit=dev into a prefix) or "pypi"
	// (pip into a venv).
	Ecosystem string
	// Name is the package name.
	Name string
	// Version is, for npm, the version or range after "@"; for PyPI the
	// specifier with its operator ("==1.0"). Empty means the latest. It is
	// resolved to one exact version when the image is built, and recorded
	// in the LabelPackageVersion label.
	Version string
	// Command is the executable to run. Empty means the package's only
	// executable, or the one named like the package (without its scope).
	Command string
	// BaseImage is the node or python image to install into. It needs sh,
	// and node and npm, or python3 with its venv module. Required.
	BaseImage string
	// Registry is the npm registry or PyPI index URL, used by the build
	// only. Empty means the tool's default.
	Registry string
	// CAFile is a PEM bundle the build trusts, for networks that intercept
	// TLS. It is used by the build only. Empty means none.
	CAFile string
	// BuildNetwork is the network the install step runs on: "" or
	// "bridge" for the engine's default, "host" to reach a registry on the
	// host's loopback. It does not change what is installed, so it is not
	// part of the image's key.
	BuildNetwork string
}

// String returns the package as configured, e.g. "npm:name@1.0".
func (p *Package) String() string {
	switch {
	case p.Version == "":
		return p.Ecosystem + ":" + p.Name
	case p.Ecosystem == "npm":
		return p.Ecosystem + ":" + p.Name + "@" + p.Version
	default:
		return p.Ecosystem + ":" + p.Name + p.Version
	}
}

func (p *Package) validate() error {
	switch p.Ecosystem {
	case "npm", "pypi":
	default:
		return fmt.Errorf("package %s: ecosystem %q: want npm or pypi", p.Name, p.Ecosystem)
	}
	switch p.BuildNetwork {
	case "", "bridge", "host":
	default:
		return fmt.Errorf("package %s: build network %q: want bridge or host", p, p.BuildNetwork)
	}
	if p.Name == "" || p.BaseImage == "" {
		return fmt.Errorf("package %q: needs a name and a base image", p.String())
	}
	if strings.ContainsAny(p.Command, "/'\" \t\n") {
		return fmt.Errorf("package %s: command %q is not an executable name", p, p.Command)
	}
	return nil
}

// packageKey hashes everything a package image depends on.
func packageKey(s Spec) string {
	p := s.Package
	h := sha256.New()
	for _, f := range []string{packageRecipe, p.Ecosystem, p.Name, p.Version, p.Command, p.BaseImage, p.Registry, p.CAFile, s.User, s.State} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// PackageImage is the tag of the image a package spec runs:
// "mcp-sandbox/pkg-NAME:KEY".
func PackageImage(s Spec) string {
	return "mcp-sandbox/pkg-" + imageName(s.Name) + ":" + packageKey(s)[:16]
}

// StateVolume is the name of server name's state volume.
func StateVolume(name string) string {
	return "mcp-sandbox-state-" + containerNamePart(name)
}

// stateMounts mounts the server's state volume read-write at spec.State;
// the engine creates the volume on first use, with the state labels, and
// fills it from the image's directory there, owned by the sandbox user.
func stateMounts(spec Spec) []mount.Mount {
	if spec.State == "" {
		return nil
	}
	return []mount.Mount{{
		Type: mount.TypeVolume, Source: StateVolume(spec.Name), Target: spec.State,
		VolumeOptions: &mount.VolumeOptions{Labels: map[string]string{LabelServer: spec.Name, LabelRole: "state"}},
	}}
}

// packageInfo is what the build records about the installed package.
type packageInfo struct {
	Version    string   `json:"version"`
	Command    string   `json:"command"`
	Entrypoint []string `json:"entrypoint"`
}

// npmInfo runs in the build after npm install: it finds the installed
// package's version and the executable to run, and prints them as JSON.
const npmInfo = `const fs = require("fs"), path = require("path");
const [name, want] = process.argv.slice(2);
const prefix = "` + packageRoot + `/npm";
const dir = path.join(prefix, "node_modules", name);
const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
const short = pj.name.split("/").pop();
const bins = typeof pj.bin === "string" ? { [short]: pj.bin } : (pj.bin || {});
const names = Object.keys(bins).sort();
let pick = want;
if (!pick) {
  if (names.length === 1) pick = names[0];
  else if (bins[short]) pick = short;
  else {
    console.error(names.length ? "package " + name + " has several executables (" + names.join(", ") + "): choose one with command = \"...\"" : "package " + name + " has no executable (bin): name one of its dependencies' with command = \"...\"");
    process.exit(1);
  }
}
let file;
if (bins[pick]) file = path.join(dir, bins[pick]);
else {
  const link = path.join(prefix, "node_modules", ".bin", pick);
  if (!fs.existsSync(link)) {
    console.error("command " + pick + " is not an executable of " + name + " (it has: " + (names.join(", ") || "none") + ")");
    process.exit(1);
  }
  file = fs.realpathSync(link);
}
process.stdout.write(JSON.stringify({ version: pj.version, command: pick, entrypoint: [process.execPath, file] }));
`

// pypiInfo is npmInfo's counterpart for a venv.
const pypiInfo = `import importlib.metadata as md, json, os, re, sys
name, want = sys.argv[1], sys.argv[2]
dist = md.distribution(name)
scripts = sorted({e.name for e in dist.entry_points if e.group == "console_scripts"})
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
pick = want
if not pick:
    same = [s for s in scripts if norm(s) == norm(name)]
    if len(scripts) == 1:
        pick = scripts[0]
    elif same:
        pick = same[0]
    else:
        sys.exit(("package %s has several console scripts (%s): choose one with command = \"...\"" % (name, ", ".join(scripts))) if scripts else ("package %s has no console script: name an executable with command = \"...\"" % name))
exe = os.path.join(sys.prefix, "bin", pick)
if not os.path.exists(exe):
    sys.exit("command %s is not an executable of %s (it has: %s)" % (pick, name, ", ".join(scripts) or "none"))
json.dump({"version": dist.version, "command": pick, "entrypoint": [exe]}, sys.stdout)
`

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// stageContext returns the files of the install stage's build context.
func stageContext(p *Package) (map[string][]byte, error) {
	files := map[string][]byte{}
	var env []string
	if p.CAFile != "" {
		ca, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		files["ca.pem"] = ca
	}
	tmp := "/tmp/mcp-sandbox-build"
	var df strings.Builder
	fmt.Fprintf(&df, "FROM %s\nUSER 0\n", p.BaseImage)
	if p.CAFile != "" {
		fmt.Fprintf(&df, "COPY ca.pem %s/ca.pem\n", tmp)
	}
	env = append(env, "HOME="+tmp+"/home")
	var install string
	switch p.Ecosystem {
	case "npm":
		files["info.js"] = []byte(npmInfo)
		env = append(env, "npm_config_cache="+tmp+"/cache", "npm_config_update_notifier=false",
			"npm_config_fund=false", "npm_config_audit=false", "npm_config_loglevel=warn")
		if p.CAFile != "" {
			env = append(env, "npm_config_cafile="+tmp+"/ca.pem")
		}
		if p.Registry != "" {
			env = append(env, "npm_config_registry="+p.Registry)
		}
		arg := p.Name
		if p.Version != "" {
			arg += "@" + p.Version
		}
		install = fmt.Sprintf("mkdir -p %[1]s/npm && npm install --omit=dev --no-save --prefix %[1]s/npm %[2]s && node %[3]s/info.js %[4]s %[5]s > %[1]s/package.json",
			packageRoot, shellQuote(arg), tmp, shellQuote(p.Name), shellQuote(p.Command))
	default:
		files["info.py"] = []byte(pypiInfo)
		env = append(env, "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PYTHONDONTWRITEBYTECODE=1")
		if p.CAFile != "" {
			env = append(env, "PIP_CERT="+tmp+"/ca.pem")
		}
		if p.Registry != "" {
			env = append(env, "PIP_INDEX_URL="+p.Registry)
			if u, err := url.Parse(p.Registry); err == nil && u.Scheme == "http" {
				// pip ignores a plain-HTTP index unless it is trusted; the
				// configuration named it on purpose.
				env = append(env, "PIP_TRUSTED_HOST="+u.Hostname())
			}
		}
		install = fmt.Sprintf("python3 -m venv %[1]s/venv && %[1]s/venv/bin/pip install --no-cache-dir %[2]s && %[1]s/venv/bin/python %[3]s/info.py %[4]s %[5]s > %[1]s/package.json",
			packageRoot, shellQuote(p.Name+p.Version), tmp, shellQuote(p.Name), shellQuote(p.Command))
	}
	fmt.Fprintf(&df, "COPY info.* %s/\n", tmp)
	quoted := make([]string, len(env))
	for i, e := range env {
		k, v, _ := strings.Cut(e, "=")
		quoted[i] = k + "=" + shellQuote(v)
	}
	// The registry, the CA and the caches exist for this one step only:
	// they are shell variables of the RUN, not ENV of the image, and
	// everything under tmp is removed before the layer is committed.
	fmt.Fprintf(&df, "RUN set -e; export %s; mkdir -p $HOME; %s; rm -rf %s /root/.npm /root/.cache; chown -R 0:0 %s; chmod -R a+rX,go-w %s\n",
		strings.Join(quoted, " "), install, tmp, packageRoot, packageRoot)
	files["Dockerfile"] = []byte(df.String())
	return files, nil
}

// finalDockerfile labels the installed stage, prepares the state directory
// and sets the entrypoint.
func finalDockerfile(spec Spec, stageID string, info packageInfo) (string, error) {
	if len(info.Entrypoint) == 0 {
		return "", errors.New("the build recorded no entrypoint")
	}
	ep, err := json.Marshal(info.Entrypoint)
	if err != nil {
		return "", err
	}
	p := spec.Package
	labels := map[string]string{
		LabelServer: spec.Name, LabelRole: "package",
		LabelPackage: p.String(), LabelPackageVersion: info.Version,
		LabelPackageCommand: info.Command, LabelPackageKey: packageKey(spec),
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var df strings.Builder
	fmt.Fprintf(&df, "FROM %s\n", stageID)
	for _, k := range keys {
		v, _ := json.Marshal(labels[k])
		fmt.Fprintf(&df, "LABEL %s=%s\n", k, v)
	}
	if spec.State != "" {
		owner := spec.User
		if owner == "" {
			owner = "0:0"
		}
		fmt.Fprintf(&df, "RUN mkdir -p %[1]s && chown %[2]s %[1]s && chmod 0700 %[1]s\n", shellQuote(spec.State), shellQuote(owner))
	}
	if spec.User != "" {
		fmt.Fprintf(&df, "USER %s\n", spec.User)
	}
	fmt.Fprintf(&df, "ENTRYPOINT %s\nCMD []\n", ep)
	return df.String(), nil
}

// buildPackage builds spec.Image from spec.Package: an install stage with
// network, then a small build on top of it with the labels and entrypoint.
func (l *Launcher) buildPackage(ctx context.Context, spec Spec) error {
	p := spec.Package
	began := time.Now()
	l.log.Info().Str("server", spec.Name).Str("package", p.String()).Str("image", spec.Image).
		Msg("building the package's image (once; later starts reuse it)")
	files, err := stageContext(p)
	if err != nil {
		return err
	}
	// A rebuild installs afresh (a range may resolve to a newer version);
	// otherwise the engine's cache of an identical install step applies.
	stageID, err := l.buildFiles(ctx, files, "", spec.Rebuild, p.BuildNetwork)
	if err != nil {
		return fmt.Errorf("install %s: %w", p, err)
	}
	info, err := l.readPackageInfo(ctx, spec, stageID)
	if err != nil {
		return fmt.Errorf("install %s: %w", p, err)
	}
	df, err := finalDockerfile(spec, stageID, info)
	if err != nil {
		return fmt.Errorf("install %s: %w", p, err)
	}
	if _, err := l.buildFiles(ctx, map[string][]byte{"Dockerfile": []byte(df)}, spec.Image, false, "none"); err != nil {
		return fmt.Errorf("image of %s: %w", p, err)
	}
	l.log.Info().Str("server", spec.Name).Str("package", p.String()).Str("version", info.Version).
		Str("image", spec.Image).Dur("took", time.Since(began)).Msg("built the package's image")
	return nil
}

// buildFiles builds a context made of files, tagged tag unless it is "",
// streaming the output to l.progress, and returns the image ID. noCache
// bypasses the engine's build cache; network is the RUN steps' network
// ("" for the engine's default).
func (l *Launcher) buildFiles(ctx context.Context, files map[string][]byte, tag string, noCache bool, network string) (string, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(0, 0)}); err != nil {
			return "", err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	opts := build.ImageBuildOptions{Remove: true, ForceRemove: true, Version: build.BuilderV1, NoCache: noCache, NetworkMode: network}
	if tag != "" {
		opts.Tags = []string{tag}
	}
	resp, err := l.api.ImageBuild(ctx, &buf, opts)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var id string
	err = copyProgressAux(l.progress, resp.Body, func(aux json.RawMessage) {
		var a struct{ ID string }
		if json.Unmarshal(aux, &a) == nil && a.ID != "" {
			id = a.ID
		}
	})
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", errors.New("the engine reported no image ID for the build")
	}
	return id, nil
}

// readPackageInfo reads what the install stage recorded, from a container
// that is created but never started.
func (l *Launcher) readPackageInfo(ctx context.Context, spec Spec, stageID string) (packageInfo, error) {
	var info packageInfo
	c, err := l.api.ContainerCreate(ctx, &container.Config{Image: stageID, Entrypoint: []string{"/nonexistent"}, Labels: l.labels(spec.Name, "inspect")},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		return info, fmt.Errorf("read the build's record: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		l.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}()
	rc, _, err := l.api.CopyFromContainer(ctx, c.ID, packageRoot+"/package.json")
	if err != nil {
		return info, fmt.Errorf("read the build's record: %w", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return info, fmt.Errorf("read the build's record: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
	if err != nil {
		return info, fmt.Errorf("read the build's record: %w", err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("the build's record %q: %w", b, err)
	}
	return info, nil
}

// Prepared describes a server's image, as [Launcher.Inspect] reads it.
type Prepared struct {
	// Image is the image reference.
	Image string
	// Package, Version and Command are set for package servers: the package
	// as configured, the exact version installed and the executable run.
	Package, Version, Command string
}

// Inspect reports what the spec's image holds, and whether it is present,
// without building or pulling anything.
func (l *Launcher) Inspect(ctx context.Context, spec Spec) (Prepared, bool, error) {
	spec, err := spec.normalize()
	if err != nil {
		return Prepared{}, false, err
	}
	if err := l.ready(ctx); err != nil {
		return Prepared{}, false, err
	}
	pr := Prepared{Image: spec.Image}
	if spec.Package != nil {
		pr.Package = spec.Package.String()
	}
	ii, err := l.api.ImageInspect(ctx, spec.Image)
	if cerrdefs.IsNotFound(err) {
		return pr, false, nil
	}
	if err != nil {
		return pr, false, err
	}
	if ii.Config != nil && spec.Package != nil {
		pr.Version = ii.Config.Labels[LabelPackageVersion]
		pr.Command = ii.Config.Labels[LabelPackageCommand]
	}
	return pr, true, nil
}

// RemoveImages removes the package images built for server except keep
// (none when keep is ""), with the install stages under them, and returns
// the tags removed. Images in use by a container are left, and reported.
func (l *Launcher) RemoveImages(ctx context.Context, server, keep string) ([]string, error) {
	if err := l.ready(ctx); err != nil {
		return nil, err
	}
	list, err := l.api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", LabelServer+"="+server), filters.Arg("label", LabelRole+"=package"))})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var removed []string
	var errs []error
	for _, im := range list {
		name := strings.Join(im.RepoTags, ", ")
		if name == "" {
			name = shortID(strings.TrimPrefix(im.ID, "sha256:"))
		}
		kept := false
		for _, t := range im.RepoTags {
			kept = kept || t == keep
		}
		if kept {
			continue
		}
		if _, err := l.api.ImageRemove(ctx, im.ID, image.RemoveOptions{PruneChildren: true, Force: len(im.RepoTags) > 1}); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
			continue
		}
		removed = append(removed, name)
	}
	sort.Strings(removed)
	return removed, errors.Join(errs...)
}

// RemoveState removes server's state volume. It reports whether there was
// one; a volume in use by a running server is not removed.
func (l *Launcher) RemoveState(ctx context.Context, server string) (bool, error) {
	if err := l.ready(ctx); err != nil {
		return false, err
	}
	err := l.api.VolumeRemove(ctx, StateVolume(server), false)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("remove state volume %s: %w", StateVolume(server), err)
	}
}
