package launcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/rs/zerolog"
)

// ErrImageNotFound reports that an image is absent locally, that there is no
// build context to build it from, and that pulling it failed.
var ErrImageNotFound = errors.New("image not found")

// Labels put on every container and volume the launcher creates. The sweep
// selects by managed and host, and judges liveness by pid and pid start.
const (
	LabelManaged  = "dev.mcp-sandbox.managed"
	LabelServer   = "dev.mcp-sandbox.server"
	LabelInstance = "dev.mcp-sandbox.instance"
	LabelPID      = "dev.mcp-sandbox.pid"
	// LabelPIDStart holds the launcher process's start time (field 22 of
	// /proc/<pid>/stat) where it is known, to tell a live launcher from an
	// unrelated process that reuses its pid.
	LabelPIDStart = "dev.mcp-sandbox.pidstart"
	LabelHost     = "dev.mcp-sandbox.host"
	// LabelRole is "server" on the server container, "seed" on the helper
	// container that fills Files volumes, and "files" on those volumes.
	LabelRole = "dev.mcp-sandbox.role"
)

// Defaults used when the corresponding Options field is zero.
const (
	DefaultStopGrace   = 2 * time.Second
	DefaultStopTimeout = 5 * time.Second
	DefaultEngineWait  = 30 * time.Second
)

// teardownTimeout bounds the whole of Container.Close, including removal.
const teardownTimeout = 30 * time.Second

// dockerAPI is the part of the Engine API client the launcher uses.
type dockerAPI interface {
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerAttach(ctx context.Context, containerID string, options container.AttachOptions) (types.HijackedResponse, error)
	ContainerStart(ctx context.Context, containerID string, options container.StartOptions) error
	ContainerWait(ctx context.Context, containerID string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerStop(ctx context.Context, containerID string, options container.StopOptions) error
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerStatPath(ctx context.Context, containerID, path string) (container.PathStat, error)
	CopyToContainer(ctx context.Context, containerID, dstPath string, content io.Reader, options container.CopyToContainerOptions) error
	ImageInspect(ctx context.Context, imageID string, inspectOpts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, imageID string, options image.RemoveOptions) ([]image.DeleteResponse, error)
	CopyFromContainer(ctx context.Context, containerID, srcPath string) (io.ReadCloser, container.PathStat, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImagePull(ctx context.Context, refStr string, options image.PullOptions) (io.ReadCloser, error)
	VolumeCreate(ctx context.Context, options volume.CreateOptions) (volume.Volume, error)
	VolumeRemove(ctx context.Context, volumeID string, force bool) error
	VolumeList(ctx context.Context, options volume.ListOptions) (volume.ListResponse, error)
	ServerVersion(ctx context.Context) (types.Version, error)
	Ping(ctx context.Context) (types.Ping, error)
	// For filtered egress (egress.go).
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkInspect(ctx context.Context, networkID string, options network.InspectOptions) (network.Inspect, error)
	NetworkConnect(ctx context.Context, networkID, containerID string, config *network.EndpointSettings) error
	NetworkRemove(ctx context.Context, networkID string) error
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
}

var _ dockerAPI = (*client.Client)(nil)

// Options configure a Launcher. The zero value is usable.
type Options struct {
	// Logger receives the launcher's own events and every line the
	// container writes to stderr (at info level, with "server" and
	// "stream":"stderr" fields). The zero value logs nothing (a zero
	// zerolog.Logger has no writer and is disabled).
	Logger zerolog.Logger
	// Client is the Engine API client. Nil means a client for Endpoint,
	// with API version negotiation; the Launcher then closes it in Close.
	Client *client.Client
	// Endpoint is the engine to talk to when Client is nil. Nil means
	// ResolveEndpoint(HostSystem()): DOCKER_HOST, Docker contexts, then the
	// well-known sockets, as the Docker CLI finds its engine.
	Endpoint *Endpoint
	// EngineWait bounds how long the first request waits for an engine
	// whose socket exists but does not answer yet (one that is starting,
	// as Docker Desktop does at login), retrying with a logged backoff.
	// Zero means DefaultEngineWait; negative means no waiting. An absent
	// socket fails at once.
	EngineWait time.Duration
	// Instance identifies this launcher in container labels. Empty means a
	// random id.
	Instance string
	// Progress receives image pull and build progress as plain text lines.
	// Nil discards it. It is never the MCP channel.
	Progress io.Writer
	// StopGrace is how long Container.Close waits for the server to exit
	// after closing its stdin before it stops the container. Zero means
	// DefaultStopGrace.
	StopGrace time.Duration
	// StopTimeout is how long ContainerStop waits after SIGTERM before it
	// sends SIGKILL, rounded up to whole seconds. Zero means
	// DefaultStopTimeout.
	StopTimeout time.Duration
}

// A Launcher starts sandboxed MCP server containers on one Docker engine.
// It is safe for concurrent use.
type Launcher struct {
	api       dockerAPI
	closeAPI  func() error
	log       zerolog.Logger
	progress  io.Writer
	instance  string
	host      string
	pid       int
	pidStart  string
	grace     time.Duration
	stopAfter time.Duration
	endpoint  Endpoint
	wait      time.Duration

	readyMu   sync.Mutex
	readyDone bool
	hostsOnce sync.Once
	hosts     string // see hostsFile
	sweeping  atomic.Bool
	bg        sync.WaitGroup
	bgCtx     context.Context // background work (the sweep) ends when Close cancels it
	bgCancel  context.CancelFunc
}

// New returns a Launcher. It does not contact the engine.
func New(opts Options) (*Launcher, error) {
	l := &Launcher{
		log:       opts.Logger,
		progress:  opts.Progress,
		instance:  opts.Instance,
		pid:       os.Getpid(),
		grace:     opts.StopGrace,
		stopAfter: opts.StopTimeout,
		wait:      opts.EngineWait,
		closeAPI:  func() error { return nil },
	}
	l.bgCtx, l.bgCancel = context.WithCancel(context.Background())
	if l.progress == nil {
		l.progress = io.Discard
	}
	if l.instance == "" {
		l.instance = randomHex(8)
	}
	if l.grace <= 0 {
		l.grace = DefaultStopGrace
	}
	if l.stopAfter <= 0 {
		l.stopAfter = DefaultStopTimeout
	}
	if l.wait == 0 {
		l.wait = DefaultEngineWait
	}
	l.host = machineID()
	if st, ok := procStartTime(l.pid); ok {
		l.pidStart = st
	}
	if opts.Client != nil {
		l.api = opts.Client
		l.endpoint = Endpoint{Host: opts.Client.DaemonHost(), Source: SourceDefault}
		return l, nil
	}
	if opts.Endpoint != nil {
		l.endpoint = *opts.Endpoint
	} else {
		ep, err := ResolveEndpoint(HostSystem())
		if err != nil {
			return nil, err
		}
		l.endpoint = ep
	}
	c, err := newClient(l.endpoint)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", l.endpoint.Host, err)
	}
	l.api = c
	l.closeAPI = c.Close
	return l, nil
}

// Close cuts background sweeps short and closes the Engine API client if New
// created it. It does not stop running containers: close those first.
func (l *Launcher) Close() error {
	// A sweep is best effort: it is cut short rather than waited for, and
	// the next launcher picks up what it left.
	l.bgCancel()
	l.bg.Wait()
	return l.closeAPI()
}

// Mount is a bind mount of a host path into the container.
type Mount struct {
	Source   string // host path
	Target   string // container path
	ReadOnly bool
}

// Spec describes one server container. Limits left at zero are not applied:
// the caller fills in the restrictive defaults. Whatever the Spec says, the
// container always drops all capabilities, sets no-new-privileges, runs
// docker-init as PID 1, publishes no ports, and is labelled for cleanup.
type Spec struct {
	// Name is the server name from the config; it appears in labels, logs
	// and the container name "mcp-sandbox-<name>-<random>". Required.
	Name string
	// Image is the image reference. With BuildContext it is the tag to build,
	// by default "mcp-sandbox/<name>:latest".
	Image string
	// BuildContext is a local directory. If set, the image is built from it
	// when it is missing or Rebuild is set. The context honours a
	// .dockerignore minimally: one pattern per line, "#" comments, "!"
	// exceptions, patterns matched with path.Match against each file and its
	// parent directories; "**" is not special, and an exception cannot bring
	// back a file inside an excluded directory.
	BuildContext string
	// Dockerfile is relative to BuildContext; empty means "Dockerfile".
	Dockerfile string
	// Rebuild makes Start build the image even when it is present (the
	// engine's build cache still applies). Prepare also pulls an image
	// without a build context again.
	Rebuild bool
	// Package, if set, is installed into an image built for it; Image is
	// then by default PackageImage(spec). See [Package].
	Package *Package
	// State is the container path of the server's named state volume
	// (StateVolume(Name)), mounted read-write and kept across runs; "" for
	// none. With a Package the image is built with that directory owned by
	// User.
	State string
	// Args is the container command, appended after the image's entrypoint.
	// Nil keeps the image's default command.
	Args []string
	// Env is the whole container environment: nothing is inherited from the
	// host.
	Env map[string]string
	// Files maps absolute container paths to content, delivered read-only
	// (mode 0400, owned by User) through in-memory volumes without touching
	// any disk; see the package documentation. Each distinct top-most parent
	// directory becomes a read-only mount that shows only these files.
	Files map[string][]byte
	// Network is "none" (the default when empty), "bridge", or "filtered"
	// (implied by Egress).
	Network string
	// Egress, if set, is the allow-list of a server with filtered egress:
	// the container then reaches only what it lists, through a sidecar
	// (see egress.go).
	Egress *Egress
	// ReadOnly makes the root filesystem read-only.
	ReadOnly bool
	// Memory is the memory limit in bytes; swap is disabled by setting the
	// memory+swap limit to the same value. Zero means no limit.
	Memory int64
	// NanoCPUs is the CPU limit in billionths of a CPU, an average over
	// [CPUPeriod]. Zero means no limit.
	NanoCPUs int64
	// PidsLimit caps the number of processes. Zero means no limit.
	PidsLimit int64
	// User is "uid:gid" (or a name the image knows). Empty means the image's
	// user. Files require a numeric user.
	User string
	// TmpfsSize is the size in bytes of a rw,noexec,nosuid,nodev tmpfs at
	// /tmp. Zero means no /tmp tmpfs.
	TmpfsSize int64
	// Mounts are bind mounts from the host.
	Mounts []Mount
	// Workdir is the working directory; empty means the image's.
	Workdir string
	// Redact, if set, is applied to every stderr line before it is logged,
	// so that secret values never reach the log.
	Redact func(string) string
}

// CPUPeriod is the window over which a server's CPU limit is an average.
// The kernel's default of 100 ms throttles a server that uses more than its
// limit for a moment, as node does at start when it compiles and collects
// on background threads: with cpus = 1 the reference server-everything took
// 359 ms to initialize under a 100 ms period and 316 ms under 1 s (311 ms
// with no limit). Over a second a server still gets no more than its
// limit. One second is the longest period the kernel accepts.
const CPUPeriod = time.Second

// minCPUQuota is the smallest quota the kernel accepts, in microseconds.
const minCPUQuota = 1000

// Network modes a [Spec] accepts.
const (
	NetworkNone   = "none"   // no network at all: only loopback
	NetworkBridge = "bridge" // the engine's default bridge
)

// ValidNetwork reports whether n is a network mode a Spec accepts ("" means
// NetworkNone).
func ValidNetwork(n string) bool { return n == NetworkNone || n == NetworkBridge }

// normalize validates spec and fills in its defaults.
func (s Spec) normalize() (Spec, error) {
	if s.Name == "" {
		return s, errors.New("spec: empty server name")
	}
	if s.Network == "" {
		s.Network = NetworkNone
		if s.Egress != nil {
			s.Network = NetworkFiltered
		}
	}
	if !ValidNetwork(s.Network) && s.Network != NetworkFiltered {
		return s, fmt.Errorf("spec %s: network %q: want \"none\", \"bridge\" or \"filtered\"", s.Name, s.Network)
	}
	if err := s.checkEgress(); err != nil {
		return s, err
	}
	if s.BuildContext != "" && s.Dockerfile == "" {
		s.Dockerfile = "Dockerfile"
	}
	if s.Package != nil {
		if s.BuildContext != "" {
			return s, fmt.Errorf("spec %s: a package and a build context", s.Name)
		}
		if err := s.Package.validate(); err != nil {
			return s, fmt.Errorf("spec %s: %w", s.Name, err)
		}
	}
	if s.Image == "" && s.BuildContext == "" && s.Package == nil {
		return s, fmt.Errorf("spec %s: no image and no build context", s.Name)
	}
	s.Image = s.ImageRef()
	if s.State != "" && !strings.HasPrefix(s.State, "/") {
		return s, fmt.Errorf("spec %s: state %q: want an absolute path", s.Name, s.State)
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return s, fmt.Errorf("spec %s: invalid environment variable name %q", s.Name, k)
		}
	}
	for _, m := range s.Mounts {
		if m.Source == "" || !strings.HasPrefix(m.Target, "/") {
			return s, fmt.Errorf("spec %s: mount %q:%q: need a source and an absolute target", s.Name, m.Source, m.Target)
		}
	}
	return s, nil
}

// labels returns the labels for an object of the given role.
func (l *Launcher) labels(server, role string) map[string]string {
	m := map[string]string{
		LabelManaged:  "true",
		LabelServer:   server,
		LabelInstance: l.instance,
		LabelPID:      strconv.Itoa(l.pid),
		LabelHost:     l.host,
		LabelRole:     role,
	}
	if l.pidStart != "" {
		m[LabelPIDStart] = l.pidStart
	}
	return m
}

// containerConfig turns a normalized spec into the Engine's create request.
// It is a pure function so that the sandbox settings can be tested without
// an engine.
func containerConfig(spec Spec, labels map[string]string, fileMounts []mount.Mount) (*container.Config, *container.HostConfig) {
	env := make([]string, 0, len(spec.Env))
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	cfg := &container.Config{
		Image:        spec.Image,
		Cmd:          spec.Args,
		Env:          env,
		User:         spec.User,
		WorkingDir:   spec.Workdir,
		Labels:       labels,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		OpenStdin:    true,
		StdinOnce:    true,
		Tty:          false,
	}
	useInit := true
	hc := &container.HostConfig{
		NetworkMode:    container.NetworkMode(spec.Network),
		ReadonlyRootfs: spec.ReadOnly,
		CapDrop:        []string{"ALL"},
		// The bare form is what every engine since 1.13 accepts; the
		// "no-new-privileges:true" form needs newer engines.
		SecurityOpt: []string{"no-new-privileges"},
		Init:        &useInit,
		// We remove the container ourselves: AutoRemove would delete it as
		// soon as it exits, racing both ContainerWait (the exit code) and
		// the tail of stderr still travelling through the attach stream.
		AutoRemove: false,
		// The MCP traffic is read from the attach stream; a logging driver
		// would copy it (tool results, possibly secrets) to the daemon's
		// disk and cost time per message.
		LogConfig: container.LogConfig{Type: "none"},
	}
	if spec.Memory > 0 {
		hc.Memory = spec.Memory
		hc.MemorySwap = spec.Memory
	}
	if spec.NanoCPUs > 0 {
		hc.CPUPeriod = CPUPeriod.Microseconds()
		hc.CPUQuota = max(spec.NanoCPUs*hc.CPUPeriod/1e9, minCPUQuota)
	}
	if spec.PidsLimit > 0 {
		p := spec.PidsLimit
		hc.PidsLimit = &p
	}
	if spec.TmpfsSize > 0 {
		hc.Tmpfs = map[string]string{"/tmp": "rw,noexec,nosuid,nodev,size=" + strconv.FormatInt(spec.TmpfsSize, 10)}
	}
	for _, m := range spec.Mounts {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	hc.Mounts = append(hc.Mounts, fileMounts...)
	hc.Mounts = append(hc.Mounts, stateMounts(spec)...)
	return cfg, hc
}

// Start resolves the image, creates, attaches and starts the server
// container, then sweeps orphans in the background. On any failure after the
// container was created, Start removes it before returning.
func (l *Launcher) Start(ctx context.Context, spec Spec) (_ *Container, err error) {
	spec, err = spec.normalize()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("start %s: %w", spec.Name, err)
		}
	}()
	began := time.Now()
	if err := l.ready(ctx); err != nil {
		return nil, err
	}

	if spec.Rebuild && (spec.BuildContext != "" || spec.Package != nil) {
		if err := l.provideImageForStart(ctx, spec, "rebuild requested for image "+spec.Image); err != nil {
			return nil, err
		}
	}

	var cleanups []func(context.Context) error
	runCleanups := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		for i := len(cleanups) - 1; i >= 0; i-- {
			if cerr := cleanups[i](ctx); cerr != nil {
				l.log.Warn().Err(cerr).Str("server", spec.Name).Msg("cleanup after failed start")
			}
		}
	}
	defer func() {
		if err != nil {
			runCleanups()
		}
	}()

	name := "mcp-sandbox-" + containerNamePart(spec.Name) + "-" + randomHex(4)
	var files *fileSeeder
	var fileMounts []mount.Mount
	if len(spec.Files) > 0 {
		files, err = l.prepareFiles(ctx, spec, name)
		if files != nil {
			cleanups = append(cleanups, files.cleanup)
		}
		if err != nil {
			return nil, err
		}
		fileMounts = files.serverMounts()
	}

	cfg, hc := containerConfig(spec, l.labels(spec.Name, "server"), fileMounts)
	disableNetwork(cfg, hc, l.hostsFile())
	var eg *egressSidecar
	if spec.Egress != nil {
		if eg, err = l.startEgress(ctx, spec, name); err != nil {
			return nil, err
		}
		cleanups = append(cleanups, eg.close)
		eg.apply(cfg, hc)
	}
	id, err := l.create(ctx, spec, cfg, hc, name)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func(ctx context.Context) error {
		return l.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	})

	if files != nil {
		if err := files.seed(ctx, id); err != nil {
			return nil, err
		}
	}

	attach := container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true}
	started := false
	hj, err := l.api.ContainerAttach(ctx, id, attach)
	if err != nil {
		// Some engines (Podman) prepare the container when attaching to
		// it, and the Docker client then reports only "unable to upgrade
		// to tcp, received 409". Starting it shows the engine's own
		// error; if the start works, attach to the running container.
		if serr := l.api.ContainerStart(ctx, id, container.StartOptions{}); serr != nil {
			return nil, fmt.Errorf("attach: %v; container start: %w", err, serr)
		}
		started = true
		l.log.Warn().Str("server", spec.Name).Err(err).
			Msg("the engine refused to attach before start; attached after start (stderr the server wrote first may be lost)")
		if hj, err = l.api.ContainerAttach(ctx, id, attach); err != nil {
			return nil, fmt.Errorf("attach after start: %w", err)
		}
	}
	cleanups = append(cleanups, func(context.Context) error { hj.Close(); return nil })

	c := newContainer(l, spec, id, name, hj)
	if !started {
		if err := l.api.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			c.stopBackground()
			return nil, fmt.Errorf("container start: %w", err)
		}
	}
	if files != nil {
		if err := files.finish(ctx); err != nil {
			c.stopBackground()
			return nil, err
		}
		c.cleanups = append(c.cleanups, files.cleanup)
	}
	if eg != nil {
		c.egress = eg
		c.cleanups = append(c.cleanups, eg.close)
	}
	c.watchExit()
	// Orphans are swept once the server has started: the sweep's engine
	// calls would otherwise compete with create and start, and the
	// engine's work for them with the server's own start, on the cold
	// path.
	l.sweepInBackground()
	l.log.Debug().Str("server", spec.Name).Str("container", shortID(id)).
		Dur("took", time.Since(began)).Msg("container started")
	return c, nil
}

// create creates the container. It only looks at the image when the engine
// reports it missing, which saves a round trip on every start with a present
// image; a missing image is then built or pulled and the create retried.
func (l *Launcher) create(ctx context.Context, spec Spec, cfg *container.Config, hc *container.HostConfig, name string) (string, error) {
	resp, err := l.api.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err == nil {
		return resp.ID, nil
	}
	if cfg.NetworkDisabled && mountRefused(err) {
		// An engine that cannot mount the hosts file (a confined
		// engine, a path it does not share) still runs the server, on
		// its "none" network.
		l.log.Debug().Str("server", spec.Name).Err(err).
			Msg("the engine refused the container with the network disabled; using its none network")
		enableNetwork(cfg, hc, l.hostsFile())
		if resp, err = l.api.ContainerCreate(ctx, cfg, hc, nil, nil, name); err == nil {
			return resp.ID, nil
		}
	}
	if initMissing(err) && hc.Init != nil && *hc.Init {
		l.log.Warn().Str("server", spec.Name).Err(err).
			Msg("the engine has no init helper for PID 1; starting the server without one (zombies are not reaped)")
		noInit := false
		hc.Init = &noInit
		resp, err = l.api.ContainerCreate(ctx, cfg, hc, nil, nil, name)
		if err == nil {
			return resp.ID, nil
		}
	}
	createErr := err
	if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("container create: %w", err)
	}
	// A not-found from create may be about something other than the
	// image (an engine's init helper, a volume): only an image the engine
	// itself says is absent is built or pulled, and any other answer is
	// reported as the engine gave it, never as a missing image.
	if _, ierr := l.api.ImageInspect(ctx, spec.Image); !cerrdefs.IsNotFound(ierr) {
		if ierr != nil {
			return "", fmt.Errorf("container create: %w (and inspecting image %s: %v)", err, spec.Image, ierr)
		}
		return "", fmt.Errorf("container create: %w", err)
	}
	if err := l.provideImageForStart(ctx, spec, "image "+spec.Image+" is not here"); err != nil {
		return "", fmt.Errorf("%w (the engine answered the create with: %v)", err, createErr)
	}
	resp, err = l.api.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		return "", fmt.Errorf("container create: %w", err)
	}
	return resp.ID, nil
}

// initMissing reports whether a create failed because the engine lacks the
// init helper that HostConfig.Init asks for (Podman's catatonit, looked for
// in /usr/libexec/podman while distributions install it elsewhere).
func initMissing(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "catatonit") || strings.Contains(msg, "container-init") ||
		strings.Contains(msg, "init binary")
}

// sweepDelay is how long after a start the orphan sweep begins: a second
// is past the start of a typical server (node's takes ~0.3 s), and a
// session ended before it leaves the sweep to the next launch.
const sweepDelay = time.Second

// sweepInBackground starts an orphan sweep after sweepDelay, unless one is
// running or waiting already.
func (l *Launcher) sweepInBackground() {
	if !l.sweeping.CompareAndSwap(false, true) {
		return
	}
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		defer l.sweeping.Store(false)
		t := time.NewTimer(sweepDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-l.bgCtx.Done():
			return
		}
		ctx, cancel := context.WithTimeout(l.bgCtx, teardownTimeout)
		defer cancel()
		n, err := l.Sweep(ctx)
		if err != nil && l.bgCtx.Err() == nil {
			l.log.Warn().Err(err).Msg("orphan sweep")
		}
		if n > 0 {
			l.log.Info().Int("removed", n).Msg("removed orphaned containers")
		}
	}()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// containerNamePart maps a server name to characters a container name
// allows.
func containerNamePart(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// ImageRef is the image s runs: its image, else the one its package or
// its build context is built into.
func (s Spec) ImageRef() string {
	switch {
	case s.Image != "":
		return s.Image
	case s.Package != nil:
		return PackageImage(s)
	default:
		return DefaultImage(s.Name)
	}
}

// imageName maps a server name to characters an image repository allows.
// DefaultImage is the tag an image built for server name gets when the
// configuration names none.
func DefaultImage(name string) string {
	return "mcp-sandbox/" + imageName(name) + ":latest"
}

func imageName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-_.")
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Engine reports the engine's version and API version, or why the engine
// cannot be reached. It is what `mcp-sandbox doctor` shows.
func (l *Launcher) Engine(ctx context.Context) (version, apiVersion string, err error) {
	if err := l.ready(ctx); err != nil {
		return "", "", err
	}
	v, err := l.api.ServerVersion(ctx)
	if err != nil {
		return "", "", err
	}
	return v.Version, v.APIVersion, nil
}

// ImagePresent reports whether the engine has the image ref locally.
func (l *Launcher) ImagePresent(ctx context.Context, ref string) (bool, error) {
	if err := l.ready(ctx); err != nil {
		return false, err
	}
	_, err := l.api.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	return false, err
}
