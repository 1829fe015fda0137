package launcher

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
)

// fileMode is the mode of every delivered file.
const fileMode = 0o400

// seedMarkTime is the modification time of delivered files. Start polls the
// last file until it shows this time, which the engine sets last when it
// extracts an entry, so that the server never starts before its files are
// complete.
var seedMarkTime = time.Unix(1_000_000_000, 0).UTC()

// errSeedAborted ends a seeding copy when Start fails half-way.
var errSeedAborted = errors.New("start aborted")

// fileSeeder delivers Spec.Files through tmpfs volumes; see the package
// documentation for why a never-started seed container holds the copy open.
type fileSeeder struct {
	l       *Launcher
	server  string
	uid     int
	gid     int
	mounts  []fileMount
	files   []string // sorted container paths
	content map[string][]byte

	seedID   string
	seedGone chan struct{} // closed when finish removed the seed container
	pw       *io.PipeWriter
	tw       *tar.Writer
	copyErr  chan error
}

// fileMount is one tmpfs volume and the directory it is mounted at.
type fileMount struct {
	dir    string
	volume string
}

// fileDirs checks the file paths and returns them sorted, with the top-most
// parent directories that become mounts.
func fileDirs(files map[string][]byte) (paths, dirs []string, err error) {
	for p := range files {
		if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
			return nil, nil, fmt.Errorf("file %q: want a clean absolute path", p)
		}
		if path.Dir(p) == "/" {
			return nil, nil, fmt.Errorf("file %q: must be inside a directory below /", p)
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		d := path.Dir(p)
		covered := false
		for _, have := range dirs {
			if d == have || strings.HasPrefix(d, have+"/") {
				covered = true
				break
			}
		}
		if !covered {
			// Keep only top-most directories: a new one may cover earlier ones.
			kept := dirs[:0]
			for _, have := range dirs {
				if !strings.HasPrefix(have, d+"/") {
					kept = append(kept, have)
				}
			}
			dirs = append(kept, d)
		}
	}
	for _, p := range paths {
		for _, q := range paths {
			if strings.HasPrefix(q, p+"/") {
				return nil, nil, fmt.Errorf("file %q: is also the directory of another file", p)
			}
		}
	}
	sort.Strings(dirs)
	return paths, dirs, nil
}

// parseNumericUser parses "uid" or "uid:gid". "root" and "" (after the image
// default was applied) mean 0:0.
func parseNumericUser(u string) (uid, gid int, err error) {
	if u == "" || u == "root" {
		return 0, 0, nil
	}
	us, gs, hasGroup := strings.Cut(u, ":")
	uid, err = strconv.Atoi(us)
	if err != nil || uid < 0 {
		return 0, 0, fmt.Errorf("user %q: files need a numeric uid[:gid]", u)
	}
	if hasGroup {
		gid, err = strconv.Atoi(gs)
		if err != nil || gid < 0 {
			return 0, 0, fmt.Errorf("user %q: files need a numeric uid[:gid]", u)
		}
	}
	return uid, gid, nil
}

// prepareFiles creates the tmpfs volumes and the seed container. The returned
// seeder's cleanup is valid even when err is not nil.
func (l *Launcher) prepareFiles(ctx context.Context, spec Spec, name string) (*fileSeeder, error) {
	paths, dirs, err := fileDirs(spec.Files)
	if err != nil {
		return nil, err
	}
	s := &fileSeeder{l: l, server: spec.Name, files: paths, content: spec.Files}
	var total int64
	for _, c := range spec.Files {
		total += int64(len(c)) + 4096
	}
	size := max(1<<20, 2*total)
	for i, d := range dirs {
		v, err := l.api.VolumeCreate(ctx, volume.CreateOptions{
			Name:   fmt.Sprintf("%s-files-%d", name, i),
			Driver: "local",
			DriverOpts: map[string]string{
				"type":   "tmpfs",
				"device": "tmpfs",
				"o":      fmt.Sprintf("size=%d,mode=0755,nodev,nosuid,noexec", size),
			},
			Labels: l.labels(spec.Name, "files"),
		})
		if err != nil {
			return s, fmt.Errorf("create files volume: %w", err)
		}
		s.mounts = append(s.mounts, fileMount{dir: d, volume: v.Name})
	}

	// The seed container is never started: it only lends its mounts to the
	// copy. It can write to the volumes and its (empty) root, which receives
	// nothing but the mount point directories.
	var seedMounts []mount.Mount
	for _, m := range s.mounts {
		seedMounts = append(seedMounts, mount.Mount{Type: mount.TypeVolume, Source: m.volume, Target: m.dir,
			VolumeOptions: &mount.VolumeOptions{NoCopy: true}})
	}
	cfg := &container.Config{Image: spec.Image, Labels: l.labels(spec.Name, "seed"), Entrypoint: []string{"/nonexistent"}}
	hc := &container.HostConfig{NetworkMode: "none", Mounts: seedMounts, LogConfig: container.LogConfig{Type: "none"}}
	s.seedID, err = l.create(ctx, spec, cfg, hc, name+"-seed")
	if err != nil {
		return s, fmt.Errorf("files seed: %w", err)
	}

	user := spec.User
	if user == "" {
		img, err := l.api.ImageInspect(ctx, spec.Image)
		if err != nil {
			return s, fmt.Errorf("image user: %w", err)
		}
		if img.Config != nil {
			user = img.Config.User
		}
	}
	s.uid, s.gid, err = parseNumericUser(user)
	if err != nil {
		return s, err
	}
	// Start extracting now; the server container is created meanwhile.
	return s, s.startCopy(ctx)
}

// serverMounts returns the read-only mounts of the volumes for the server.
func (s *fileSeeder) serverMounts() []mount.Mount {
	var ms []mount.Mount
	for _, m := range s.mounts {
		ms = append(ms, mount.Mount{Type: mount.TypeVolume, Source: m.volume, Target: m.dir, ReadOnly: true,
			VolumeOptions: &mount.VolumeOptions{NoCopy: true}})
	}
	return ms
}

// startCopy streams the files into the volumes through the seed container.
// The copy stays open, holding the tmpfs volumes mounted, until finish.
func (s *fileSeeder) startCopy(ctx context.Context) error {
	pr, pw := io.Pipe()
	s.pw = pw
	s.tw = tar.NewWriter(pw)
	s.copyErr = make(chan error, 1)
	go func() {
		err := s.l.api.CopyToContainer(ctx, s.seedID, "/", pr, container.CopyToContainerOptions{})
		pr.CloseWithError(errSeedAborted)
		s.copyErr <- err
	}()

	madeDirs := map[string]bool{}
	for _, m := range s.mounts {
		madeDirs[m.dir] = true
	}
	for _, p := range s.files {
		if err := s.writeDirs(path.Dir(p), madeDirs); err != nil {
			return err
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg, Name: strings.TrimPrefix(p, "/"), Mode: fileMode,
			Size: int64(len(s.content[p])), Uid: s.uid, Gid: s.gid, ModTime: seedMarkTime,
		}
		if err := s.tw.WriteHeader(hdr); err != nil {
			return s.writeErr(err)
		}
		if _, err := s.tw.Write(s.content[p]); err != nil {
			return s.writeErr(err)
		}
	}
	if err := s.tw.Flush(); err != nil {
		return s.writeErr(err)
	}
	return nil
}

// seed returns once the server container (created, not started) sees all
// files complete.
func (s *fileSeeder) seed(ctx context.Context, serverID string) error {
	return s.waitVisible(ctx, serverID, s.files[len(s.files)-1])
}

// writeDirs adds entries for directories between a mount and a file.
func (s *fileSeeder) writeDirs(dir string, made map[string]bool) error {
	if made[dir] {
		return nil
	}
	if err := s.writeDirs(path.Dir(dir), made); err != nil {
		return err
	}
	made[dir] = true
	hdr := &tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(dir, "/") + "/", Mode: 0o755,
		Uid: s.uid, Gid: s.gid, ModTime: seedMarkTime}
	if err := s.tw.WriteHeader(hdr); err != nil {
		return s.writeErr(err)
	}
	return nil
}

// writeErr prefers the copy's own error to the pipe's.
func (s *fileSeeder) writeErr(err error) error {
	select {
	case cerr := <-s.copyErr:
		s.copyErr <- cerr
		if cerr != nil {
			return fmt.Errorf("copy files: %w", cerr)
		}
	default:
	}
	return fmt.Errorf("copy files: %w", err)
}

// waitVisible polls the server container until p is complete.
func (s *fileSeeder) waitVisible(ctx context.Context, serverID, p string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	delay := time.Millisecond
	for {
		st, err := s.l.api.ContainerStatPath(ctx, serverID, p)
		if err == nil && st.Mode.Perm() == fileMode && st.Mtime.Equal(seedMarkTime) {
			return nil
		}
		if err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("check files: %w", err)
		}
		select {
		case cerr := <-s.copyErr:
			s.copyErr <- cerr
			return fmt.Errorf("copy files ended before they arrived: %v", cerr)
		case <-ctx.Done():
			return fmt.Errorf("check files: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// finish ends the copy once the server holds the volumes mounted, and
// removes the seed container in the background.
func (s *fileSeeder) finish(ctx context.Context) error {
	err := s.tw.Close()
	s.pw.CloseWithError(err)
	select {
	case cerr := <-s.copyErr:
		s.copyErr <- cerr
		if cerr != nil {
			return fmt.Errorf("copy files: %w", cerr)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("copy files: %w", err)
	}
	seedID := s.seedID
	s.seedGone = make(chan struct{})
	s.l.bg.Add(1)
	go func() {
		defer s.l.bg.Done()
		defer close(s.seedGone)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		if err := s.l.api.ContainerRemove(ctx, seedID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			s.l.log.Warn().Err(err).Str("server", s.server).Msg("remove files seed container")
		}
	}()
	return nil
}

// cleanup aborts a pending copy and removes the seed container and the
// volumes. The server container must be gone first, or the volumes stay.
func (s *fileSeeder) cleanup(ctx context.Context) error {
	var errs []error
	if s.pw != nil {
		s.pw.CloseWithError(errSeedAborted)
		select {
		case cerr := <-s.copyErr:
			s.copyErr <- cerr
		case <-ctx.Done():
		}
	}
	if s.seedGone != nil {
		select {
		case <-s.seedGone:
		case <-ctx.Done():
		}
	}
	if s.seedID != "" {
		if err := s.l.api.ContainerRemove(ctx, s.seedID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove files seed: %w", err))
		}
	}
	for _, m := range s.mounts {
		if err := s.l.api.VolumeRemove(ctx, m.volume, true); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove files volume: %w", err))
		}
	}
	return errors.Join(errs...)
}
