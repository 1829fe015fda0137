package launcher

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/launcher/egress"
)

// Filtered egress: the server container is alone on an internal network of
// its own with one sidecar, which is also on the engine's default bridge and
// enforces the allow-list (see package egress). The sidecar runs this very
// binary as `mcp-sandbox egress-proxy` in a FROM scratch image that the
// launcher builds on first use, so no registry is involved.

// NetworkFiltered is the Spec.Network of a server with an egress allow-list.
const NetworkFiltered = "filtered"

// EgressCommand is the hidden subcommand the sidecar runs, and
// EgressConfigEnv the environment variable that carries its egress.Config.
const (
	EgressCommand   = "egress-proxy"
	EgressConfigEnv = "MCP_SANDBOX_EGRESS"
)

// EgressBinaryEnv names a Linux build of mcp-sandbox to put in the sidecar
// image instead of the running executable: needed where the launcher itself
// is not a Linux binary (Docker Desktop on macOS or Windows) or does not
// match the engine's architecture.
const EgressBinaryEnv = "MCP_SANDBOX_EGRESS_BINARY"

// Egress is a server's egress allow-list.
type Egress struct {
	// Allow are allow_hosts entries (see egress.ParseRule); at least one.
	Allow []string
	// Hosts maps names to addresses, as Docker's --add-host, for the
	// filter and the server's resolver.
	Hosts map[string]string
	// OnRefused, if set, is called (from the sidecar's reader goroutine)
	// for every connection the sidecar refused. It must not block.
	OnRefused func(egress.Event)
}

// ErrEgressUnsupported reports an engine that cannot give a server filtered
// egress without leaving the host's own services in its reach.
var ErrEgressUnsupported = errors.New("this engine keeps an address of the host on the egress network (it ignores " + inhibitIPv4 + ", as Podman's Docker-compatible API does), so host services would be in reach of the server; filtered egress (allow_hosts) needs Docker Engine, or network = \"bridge\" chosen knowingly")

// inhibitIPv4 is the bridge driver option that leaves the host without an
// address on the network.
const inhibitIPv4 = "com.docker.network.bridge.inhibit_ipv4"

// egressSidecar is one server's running sidecar and its network.
type egressSidecar struct {
	api     dockerAPI
	log     zerolog.Logger
	network string // id
	name    string // network name
	id      string // sidecar container id
	address string // the sidecar's address on the internal network
	hj      interface{ Close() }
	refused atomic.Int64
	events  chan struct{} // closed when the event stream has ended
	once    sync.Once
}

// egressBinary reads the binary the sidecar image is built from and
// returns its path, content and the image's tag: the binary's digest, so an
// upgraded mcp-sandbox gets a new image and never runs a stale sidecar.
func egressBinary() (path string, data []byte, tag string, err error) {
	path = os.Getenv(EgressBinaryEnv)
	if path == "" {
		if path, err = os.Executable(); err != nil {
			return "", nil, "", fmt.Errorf("egress sidecar: find this executable: %w", err)
		}
	}
	if data, err = os.ReadFile(path); err != nil {
		return "", nil, "", fmt.Errorf("egress sidecar: %w", err)
	}
	sum := sha256.Sum256(data)
	return path, data, "mcp-sandbox/egress:" + hex.EncodeToString(sum[:8]), nil
}

// EgressImage reports the egress sidecar's image tag and whether the engine
// has it (it is built on the first start of a server with allow_hosts). It
// is what `mcp-sandbox doctor` shows.
func (l *Launcher) EgressImage(ctx context.Context) (tag string, present bool, err error) {
	_, _, tag, err = egressBinary()
	if err != nil {
		return "", false, err
	}
	present, err = l.ImagePresent(ctx, tag)
	return tag, present, err
}

// egressImage returns the sidecar image, building it from the egress binary
// if the engine does not have it yet.
func (l *Launcher) egressImage(ctx context.Context) (string, error) {
	bin, data, tag, err := egressBinary()
	if err != nil {
		return "", err
	}
	if _, err := l.api.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("egress sidecar image: %w", err)
	}
	files, err := sidecarFiles(bin, data)
	if err != nil {
		return "", err
	}
	tarball, err := sidecarContext(files)
	if err != nil {
		return "", err
	}
	resp, err := l.api.ImageBuild(ctx, bytes.NewReader(tarball), build.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelManaged: "true", LabelRole: "egress"},
	})
	if err != nil {
		return "", fmt.Errorf("build %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := copyProgress(l.progress, resp.Body); err != nil {
		return "", fmt.Errorf("build %s: %w", tag, err)
	}
	l.log.Info().Str("image", tag).Msg("built the egress sidecar image")
	return tag, nil
}

// sidecarFiles lists the image's files: the binary as /mcp-sandbox and, for
// a dynamically linked build (cgo), its ELF interpreter and the libraries it
// names, copied from this host at their own paths.
func sidecarFiles(bin string, data []byte) (map[string][]byte, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("egress sidecar: %s is not a Linux executable (set %s to a Linux build of mcp-sandbox): %w", bin, EgressBinaryEnv, err)
	}
	defer f.Close()
	files := map[string][]byte{"mcp-sandbox": data}
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return nil, fmt.Errorf("egress sidecar: read ELF interpreter: %w", err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if interp == "" {
		return files, nil // static: the binary is the whole image
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("egress sidecar: %w", err)
	}
	add := func(path string) error {
		b, err := os.ReadFile(path) // follows symlinks: the image holds the file itself
		if err != nil {
			return fmt.Errorf("egress sidecar: %s needs %s: %w (or build mcp-sandbox with CGO_ENABLED=0)", bin, path, err)
		}
		files[strings.TrimPrefix(path, "/")] = b
		return nil
	}
	if err := add(interp); err != nil {
		return nil, err
	}
	dirs := libraryDirs(interp)
	for _, lib := range libs {
		found := ""
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, lib)); err == nil {
				found = filepath.Join(d, lib)
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("egress sidecar: %s needs %s, not found in %s (or build mcp-sandbox with CGO_ENABLED=0)", bin, lib, strings.Join(dirs, ", "))
		}
		if err := add(found); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// libraryDirs are where the dynamic linker of a glibc or musl system looks
// by default.
func libraryDirs(interp string) []string {
	dirs := []string{filepath.Dir(interp)}
	for _, d := range []string{"/lib", "/usr/lib", "/lib64", "/usr/lib64"} {
		dirs = append(dirs, d)
		if m, _ := filepath.Glob(d + "/*-linux-gnu*"); len(m) > 0 {
			dirs = append(dirs, m...)
		}
	}
	return dirs
}

const sidecarDockerfile = `FROM scratch
COPY rootfs/ /
USER 65534:65534
ENV GODEBUG=netdns=go
ENTRYPOINT ["/mcp-sandbox", "` + EgressCommand + `"]
`

// sidecarContext is the build context of the sidecar image.
func sidecarContext(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(name string, mode int64, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := write("Dockerfile", 0o644, []byte(sidecarDockerfile)); err != nil {
		return nil, err
	}
	for name, b := range files {
		if err := write("rootfs/"+name, 0o755, b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// startEgress creates the internal network and starts the sidecar on it,
// and returns once the sidecar serves. On failure it removes what it made.
func (l *Launcher) startEgress(ctx context.Context, spec Spec, name string) (_ *egressSidecar, err error) {
	img, err := l.egressImage(ctx)
	if err != nil {
		return nil, err
	}
	labels := l.labels(spec.Name, "egress")
	eg := &egressSidecar{api: l.api, log: l.log.With().Str("server", spec.Name).Str("stream", "egress").Logger(),
		name: name + "-net", events: make(chan struct{})}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
			defer cancel()
			_ = eg.close(cctx)
		}
	}()
	// Internal alone is not enough: the engine still gives the bridge an
	// address on the host and the containers a default route to it, so
	// every service listening on the host's addresses would be in reach.
	// Without an address on the bridge that route leads nowhere; the
	// containers on it still reach each other.
	resp, err := l.api.NetworkCreate(ctx, eg.name, network.CreateOptions{
		Driver: "bridge", Internal: true, Labels: labels,
		Options: map[string]string{inhibitIPv4: "true"},
	})
	if err != nil {
		return nil, fmt.Errorf("egress network: %w", err)
	}
	eg.network = resp.ID
	ni, err := l.api.NetworkInspect(ctx, resp.ID, network.InspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("egress network: %w", err)
	}
	if ni.Options[inhibitIPv4] != "true" {
		// Podman's compatible API drops the option: the host keeps an
		// address on the internal network, where services the host
		// listens with on all addresses would be in reach of the server.
		// Filtered egress that lets the host through is not filtered:
		// refuse rather than warn.
		return nil, ErrEgressUnsupported
	}
	subnet := ""
	for _, c := range ni.IPAM.Config {
		if !strings.Contains(c.Subnet, ":") {
			subnet = c.Subnet
			break
		}
	}
	if subnet == "" {
		return nil, errors.New("egress network: the engine gave it no IPv4 subnet")
	}
	conf, err := json.Marshal(egress.Config{Allow: spec.Egress.Allow, Hosts: spec.Egress.Hosts, Subnet: subnet})
	if err != nil {
		return nil, err
	}
	cfg := &container.Config{
		Image:        img,
		Env:          []string{EgressConfigEnv + "=" + string(conf)},
		User:         "65534:65534",
		Labels:       labels,
		AttachStdout: true,
		AttachStderr: true,
	}
	pids := int64(64)
	hc := &container.HostConfig{
		NetworkMode:    container.NetworkMode(eg.name),
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		// Ports 53, 80 and 443 without CAP_NET_BIND_SERVICE: a namespaced
		// sysctl, scoped to the sidecar's own network namespace.
		Sysctls:    map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"},
		LogConfig:  container.LogConfig{Type: "none"},
		Resources:  container.Resources{Memory: 128 << 20, MemorySwap: 128 << 20, PidsLimit: &pids},
		AutoRemove: false,
	}
	cr, err := l.api.ContainerCreate(ctx, cfg, hc, &network.NetworkingConfig{
		EndpointsConfig: map[string]*network.EndpointSettings{eg.name: {}},
	}, nil, name+"-egress")
	if err != nil {
		return nil, fmt.Errorf("egress sidecar create: %w", err)
	}
	eg.id = cr.ID
	if err := l.api.NetworkConnect(ctx, "bridge", cr.ID, nil); err != nil {
		return nil, fmt.Errorf("egress sidecar: connect to the bridge network: %w", err)
	}
	hj, err := l.api.ContainerAttach(ctx, cr.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, fmt.Errorf("egress sidecar attach: %w", err)
	}
	eg.hj = &hj
	ready := make(chan string, 1)
	lastErr := &lastLine{}
	stderr := newLineWriter(64<<10, 4<<10, func(line []byte) {
		lastErr.set(string(line))
		eg.log.Warn().Str("stream", "stderr").Msg(string(line))
	})
	go eg.readEvents(newDemuxReader(hj.Reader, stderr, make(chan struct{})), ready, spec.Egress.OnRefused)
	if err := l.api.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("egress sidecar start: %w", err)
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case addr, ok := <-ready:
		if !ok {
			return nil, fmt.Errorf("egress sidecar exited before it served: %s", lastErr.get())
		}
		eg.address = addr
	case <-t.C:
		return nil, errors.New("egress sidecar not ready within 30s")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	eg.log.Debug().Str("address", eg.address).Strs("allow", spec.Egress.Allow).Msg("egress sidecar serving")
	return eg, nil
}

type lastLine struct {
	mu sync.Mutex
	s  string
}

func (l *lastLine) set(s string) { l.mu.Lock(); l.s = s; l.mu.Unlock() }
func (l *lastLine) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == "" {
		return "no output"
	}
	return l.s
}

// readEvents reads the sidecar's event lines: it hands over the address on
// "ready" (and closes ready if the stream ends first), then logs and counts
// refusals.
func (eg *egressSidecar) readEvents(r io.Reader, ready chan<- string, onRefused func(egress.Event)) {
	defer close(eg.events)
	isReady := false
	defer func() {
		if !isReady {
			close(ready)
		}
	}()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		var ev egress.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			eg.log.Warn().Str("line", sc.Text()).Msg("egress sidecar: unreadable event")
			continue
		}
		switch ev.Event {
		case "ready":
			if !isReady {
				isReady = true
				ready <- ev.Address
			}
		case "refused":
			eg.refused.Add(1)
			eg.log.Warn().Str("via", ev.Via).Str("destination", ev.Host).Int("port", ev.Port).
				Str("reason", ev.Reason).Msg("egress refused")
			if onRefused != nil {
				onRefused(ev)
			}
		case "allowed":
			eg.log.Debug().Str("via", ev.Via).Str("destination", ev.Host).Int("port", ev.Port).Msg("egress allowed")
		}
	}
}

// apply puts the server container on the internal network with the sidecar
// as its resolver and proxy. Proxy variables the server's own env sets win.
func (eg *egressSidecar) apply(cfg *container.Config, hc *container.HostConfig) {
	hc.NetworkMode = container.NetworkMode(eg.name)
	hc.DNS = []string{eg.address}
	hc.DNSSearch = []string{"."}
	proxy := fmt.Sprintf("http://%s:%d", eg.address, egress.ProxyPort)
	set := map[string]bool{}
	for _, kv := range cfg.Env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		if !set[k] {
			cfg.Env = append(cfg.Env, k+"="+proxy)
		}
	}
}

// close stops and removes the sidecar, waits for its last events, and
// removes the network. The server container must be gone already.
func (eg *egressSidecar) close(ctx context.Context) error {
	var errs []error
	eg.once.Do(func() {
		if eg.id != "" {
			secs := 1
			_ = eg.api.ContainerStop(ctx, eg.id, container.StopOptions{Timeout: &secs})
			if eg.hj != nil {
				select { // the refusals of the last moments still count
				case <-eg.events:
				case <-time.After(2 * time.Second):
				case <-ctx.Done():
				}
				eg.hj.Close()
			}
			if err := eg.api.ContainerRemove(ctx, eg.id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove egress sidecar: %w", err))
			}
		}
		if eg.network != "" {
			if err := eg.api.NetworkRemove(ctx, eg.network); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove egress network: %w", err))
			}
		}
	})
	return errors.Join(errs...)
}

// EgressRefused returns how many connections the server's egress sidecar has
// refused so far; 0 for a server without filtered egress.
func (c *Container) EgressRefused() int64 {
	if c.egress == nil {
		return 0
	}
	return c.egress.refused.Load()
}

// sweepNetworks removes the egress networks of dead launchers. It runs after
// their containers are gone.
func (l *Launcher) sweepNetworks(ctx context.Context, f filters.Args) error {
	list, err := l.api.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("sweep: list networks: %w", err)
	}
	var errs []error
	for _, n := range list {
		if !l.orphaned(n.Labels) {
			continue
		}
		if err := l.api.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("sweep: remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

// checkEgress validates the egress part of a normalized spec.
func (s Spec) checkEgress() error {
	switch {
	case s.Network == NetworkFiltered && s.Egress == nil:
		return fmt.Errorf("spec %s: network %q needs an allow-list", s.Name, s.Network)
	case s.Egress == nil:
		return nil
	case s.Network != NetworkFiltered:
		return fmt.Errorf("spec %s: an egress allow-list needs network %q, not %q", s.Name, NetworkFiltered, s.Network)
	case len(s.Egress.Allow) == 0:
		return fmt.Errorf("spec %s: empty egress allow-list", s.Name)
	}
	if _, err := egress.NewFilter(s.Egress.Allow, s.Egress.Hosts); err != nil {
		return fmt.Errorf("spec %s: egress: %w", s.Name, err)
	}
	return nil
}
