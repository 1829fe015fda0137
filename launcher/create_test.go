package launcher

import (
	"context"
	"errors"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
)

// TestCreateEngineErrorIsNotAMissingImage: a not-found from create is
// reported as a missing image only when the engine says the image is absent;
// when it cannot say (or says it is present), the engine's own answer is
// the error.
func TestCreateEngineErrorIsNotAMissingImage(t *testing.T) {
	createErr := cerrdefs.ErrNotFound.WithMessage("no such volume: v")
	for _, tt := range []struct {
		name       string
		inspectErr error
		wantMiss   bool
	}{
		{"image present", nil, false},
		{"inspect fails", errors.New("engine error 500"), false},
		{"image absent", cerrdefs.ErrNotFound.WithMessage("no such image"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker()
			f.fail["create"] = createErr
			f.fail["image-inspect"] = tt.inspectErr
			l := fakeLauncher(t, f)
			_, err := l.Start(context.Background(), Spec{Name: "s", Image: "img"})
			if err == nil {
				t.Fatal("Start succeeded")
			}
			if got := errors.Is(err, ErrImageNotFound); got != tt.wantMiss {
				t.Errorf("errors.Is(%v, ErrImageNotFound) = %v, want %v", err, got, tt.wantMiss)
			}
			if !strings.Contains(err.Error(), "no such volume") {
				t.Errorf("error %q hides the engine's answer to the create", err)
			}
		})
	}
}

func TestInitMissing(t *testing.T) {
	for _, msg := range []string{
		"container-init binary not found on the host: stat /usr/libexec/podman/catatonit: no such file or directory",
		`exec: "docker-init": executable file not found in $PATH: init binary`,
	} {
		if !initMissing(errors.New(msg)) {
			t.Errorf("initMissing(%q) = false", msg)
		}
	}
	if initMissing(errors.New("no such image: img")) {
		t.Error("a missing image counts as a missing init helper")
	}
}
