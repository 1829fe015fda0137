package launcher

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
)

// Prepare makes spec's image present ahead of a Start, so that the first
// Start (from a host waiting for its initialize answer) does not wait for a
// build or a pull: it builds the image from the build context, or pulls it,
// when it is missing. With spec.Rebuild it builds again, or pulls again, even
// when the image is present. Progress goes to Options.Progress. It reports
// whether it built or pulled; false means the image was there already.
func (l *Launcher) Prepare(ctx context.Context, spec Spec) (provided bool, err error) {
	spec, err = spec.normalize()
	if err != nil {
		return false, err
	}
	if err := l.ready(ctx); err != nil {
		return false, fmt.Errorf("prepare %s: %w", spec.Name, err)
	}
	if !spec.Rebuild {
		present, err := l.ImagePresent(ctx, spec.Image)
		if err != nil {
			return false, fmt.Errorf("prepare %s: image %s: %w", spec.Name, spec.Image, err)
		}
		if present {
			return false, nil
		}
	}
	if err := l.provideImage(ctx, spec); err != nil {
		return false, fmt.Errorf("prepare %s: %w", spec.Name, err)
	}
	return true, nil
}

// provideImage makes spec.Image present: it builds it from the build context
// if there is one, and pulls it otherwise. It is the one place that decides
// how a server's image comes to be; Start and Prepare both go through it.
func (l *Launcher) provideImage(ctx context.Context, spec Spec) error {
	if spec.Package != nil {
		return l.buildPackage(ctx, spec)
	}
	if spec.BuildContext != "" {
		return l.build(ctx, spec)
	}
	return l.pull(ctx, spec.Image)
}

// provideImageForStart is provideImage on Start's path, with one log line
// saying what it does: a host waits for the server meanwhile, and whoever
// reads its log should know why the start is slow.
func (l *Launcher) provideImageForStart(ctx context.Context, spec Spec, why string) error {
	ev := l.log.Info().Str("server", spec.Name).Str("image", spec.Image)
	if spec.Package != nil {
		ev.Str("package", spec.Package.String()).Msgf("%s: building it from the package before the server can start (mcp-sandbox prepare does this ahead of time)", why)
	} else if spec.BuildContext != "" {
		ev.Str("context", spec.BuildContext).Msgf("%s: building it before the server can start (mcp-sandbox prepare does this ahead of time)", why)
	} else {
		ev.Msgf("%s: pulling it before the server can start (mcp-sandbox prepare does this ahead of time)", why)
	}
	return l.provideImage(ctx, spec)
}

// pull pulls ref, writing progress lines to l.progress.
func (l *Launcher) pull(ctx context.Context, ref string) error {
	rc, err := l.api.ImagePull(ctx, ref, image.PullOptions{})
	if err == nil {
		err = copyProgress(l.progress, rc)
		rc.Close()
	}
	if err != nil {
		return fmt.Errorf("%w: %s is not present locally and could not be pulled: %w", ErrImageNotFound, ref, err)
	}
	return nil
}

// build builds spec.Image from spec.BuildContext, streaming the context as a
// tar and the build output to l.progress.
func (l *Launcher) build(ctx context.Context, spec Spec) error {
	dir := spec.BuildContext
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("build context: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("build context %s: not a directory", dir)
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(tarContext(pw, dir, spec.Dockerfile))
	}()
	defer pr.Close()
	resp, err := l.api.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        []string{spec.Image},
		Dockerfile:  filepath.ToSlash(spec.Dockerfile),
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", spec.Image, err)
	}
	defer resp.Body.Close()
	if err := copyProgress(l.progress, resp.Body); err != nil {
		return fmt.Errorf("build %s: %w", spec.Image, err)
	}
	return nil
}

// progressMessage is the subset of the Engine's JSON progress messages that
// copyProgress renders.
type progressMessage struct {
	Stream   string `json:"stream"`
	Status   string `json:"status"`
	ID       string `json:"id"`
	Progress string `json:"progress"`
	Error    string `json:"error"`

	Aux json.RawMessage `json:"aux"`

	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// copyProgress renders a stream of JSON progress messages as plain lines and
// returns the error the stream reports, if any.
func copyProgress(w io.Writer, r io.Reader) error {
	return copyProgressAux(w, r, nil)
}

// copyProgressAux is copyProgress handing each aux message (a build's image
// ID) to aux, if not nil.
func copyProgressAux(w io.Writer, r io.Reader, aux func(json.RawMessage)) error {
	dec := json.NewDecoder(r)
	for {
		var m progressMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("progress stream: %w", err)
		}
		if aux != nil && len(m.Aux) > 0 {
			aux(m.Aux)
		}
		switch {
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return errors.New(strings.TrimSpace(m.ErrorDetail.Message))
		case m.Error != "":
			return errors.New(strings.TrimSpace(m.Error))
		case m.Stream != "":
			line := m.Stream
			if !strings.HasSuffix(line, "\n") {
				line += "\n"
			}
			io.WriteString(w, line)
		case m.Status != "":
			line := m.Status
			if m.ID != "" {
				line = m.ID + ": " + line
			}
			if m.Progress != "" {
				line += " " + m.Progress
			}
			io.WriteString(w, line+"\n")
		}
	}
}

// tarContext writes the build context dir as a tar stream to w, leaving out
// what .dockerignore excludes (except the Dockerfile and .dockerignore, which
// the engine needs).
func tarContext(w io.Writer, dir, dockerfile string) error {
	ignore, err := readDockerignore(filepath.Join(dir, ".dockerignore"))
	if err != nil {
		return err
	}
	keep := map[string]bool{".dockerignore": true, path.Clean(filepath.ToSlash(dockerfile)): true}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		if !keep[name] && ignore.excludes(name) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var link string
		switch {
		case info.Mode().IsRegular(), info.IsDir():
		case info.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			return nil // sockets, devices and pipes have no place in a context
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = name
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.Mode = contextMode(runtime.GOOS, hdr.Mode)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		return err
	})
	if err != nil {
		return fmt.Errorf("tar build context: %w", err)
	}
	return tw.Close()
}

// contextMode is the mode a build context's tar entry gets. Windows has no
// execute bits (Go reports 0666 for files), so there, as the Docker CLI does,
// every entry is made executable and loses group and world write: a binary
// COPYed into an image must run. Elsewhere the file system's mode is kept.
func contextMode(goos string, mode int64) int64 {
	if goos != "windows" {
		return mode
	}
	return mode&^0o777 | mode&0o755 | 0o111
}

// ignoreRule is one .dockerignore line.
type ignoreRule struct {
	pattern string
	negate  bool
}

type ignoreRules []ignoreRule

func readDockerignore(name string) (ignoreRules, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	var rules ignoreRules
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			r.negate = true
			line = strings.TrimSpace(line[1:])
		}
		r.pattern = path.Clean(strings.TrimPrefix(filepath.ToSlash(line), "/"))
		if _, err := path.Match(r.pattern, ""); err != nil {
			return nil, fmt.Errorf(".dockerignore pattern %q: %w", line, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// excludes reports whether the slash-separated relative name is excluded:
// the last rule that matches the name or one of its parent directories wins.
func (rules ignoreRules) excludes(name string) bool {
	excluded := false
	for _, r := range rules {
		for p := name; p != "."; p = path.Dir(p) {
			if ok, _ := path.Match(r.pattern, p); ok {
				excluded = !r.negate
				break
			}
		}
	}
	return excluded
}
