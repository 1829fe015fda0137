package launcher

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
)

// TestPrepareBuildsOnceAndRebuildsOnRequest builds a tiny image through
// Prepare: missing, it is built, with progress; present, nothing happens;
// with Rebuild it is built again.
func TestPrepareBuildsOnceAndRebuildsOnRequest(t *testing.T) {
	cli := dockerClient(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY hello /hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := "mcp-sandbox-test/prepare:" + randomHex(6)
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true})
	})
	l := newTestLauncher(t, cli, nil)
	var progress bytes.Buffer
	l.progress = &progress
	ctx := context.Background()
	spec := Spec{Name: "prep", Image: tag, BuildContext: dir}

	provided, err := l.Prepare(ctx, spec)
	if err != nil || !provided {
		t.Fatalf("first Prepare = %v, %v; want true, nil\n%s", provided, err, progress.String())
	}
	if present, err := l.ImagePresent(ctx, tag); err != nil || !present {
		t.Fatalf("after Prepare, ImagePresent(%s) = %v, %v", tag, present, err)
	}
	if !strings.Contains(progress.String(), "Successfully tagged "+tag) {
		t.Errorf("build progress does not name the tag:\n%s", progress.String())
	}

	provided, err = l.Prepare(ctx, spec)
	if err != nil || provided {
		t.Fatalf("second Prepare = %v, %v; want false, nil (the image is present)", provided, err)
	}

	spec.Rebuild = true
	progress.Reset()
	provided, err = l.Prepare(ctx, spec)
	if err != nil || !provided {
		t.Fatalf("Prepare with Rebuild = %v, %v; want true, nil", provided, err)
	}
	if !strings.Contains(progress.String(), "Successfully built") {
		t.Errorf("the rebuild shows no build progress:\n%s", progress.String())
	}
}

// TestPrepareRejectsABadSpec: a spec Start would refuse is refused before
// the engine is asked anything.
func TestPrepareRejectsABadSpec(t *testing.T) {
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Prepare(context.Background(), Spec{Name: "x"}); err == nil || !strings.Contains(err.Error(), "no image and no build context") {
		t.Errorf("Prepare of a spec without image = %v, want the spec error", err)
	}
}
