package launcher

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
)

// The fake engine's share of the calls that package images need.
func (f *fakeDocker) ImageList(context.Context, image.ListOptions) ([]image.Summary, error) {
	return nil, f.call("image-list")
}

func (f *fakeDocker) ImageRemove(context.Context, string, image.RemoveOptions) ([]image.DeleteResponse, error) {
	return nil, f.call("image-remove")
}

func (f *fakeDocker) CopyFromContainer(context.Context, string, string) (io.ReadCloser, container.PathStat, error) {
	return nil, container.PathStat{}, errors.Join(f.call("copy-from"), errors.New("fake: no files"))
}

func TestPackageImageKey(t *testing.T) {
	base := Spec{Name: "mem", User: "65534:65534", Package: &Package{Ecosystem: "npm", Name: "@x/y", Version: "1.0.0", BaseImage: "node:24-slim"}}
	tag := PackageImage(base)
	if !strings.HasPrefix(tag, "mcp-sandbox/pkg-mem:") || len(tag) != len("mcp-sandbox/pkg-mem:")+16 {
		t.Fatalf("tag %q", tag)
	}
	same := base
	p := *base.Package
	p.BuildNetwork = "host" // does not change what is installed
	same.Package = &p
	if PackageImage(same) != tag {
		t.Error("the build network changed the image key")
	}
	for _, change := range []func(*Spec){
		func(s *Spec) { s.Package.Version = "1.0.1" },
		func(s *Spec) { s.Package.BaseImage = "node:22-slim" },
		func(s *Spec) { s.Package.Registry = "https://r.example/" },
		func(s *Spec) { s.Package.CAFile = "/ca.pem" },
		func(s *Spec) { s.Package.Command = "other" },
		func(s *Spec) { s.User = "1000:1000" },
		func(s *Spec) { s.State = "/data" },
	} {
		s := base
		p := *base.Package
		s.Package = &p
		change(&s)
		if PackageImage(s) == tag {
			t.Errorf("a changed spec %+v %+v keeps the image %s", s, *s.Package, tag)
		}
	}
}

func TestStageContext(t *testing.T) {
	files, err := stageContext(&Package{Ecosystem: "npm", Name: "@x/y", Version: ">=1 <2", BaseImage: "b", Registry: "https://r.example/"})
	if err != nil {
		t.Fatal(err)
	}
	df := string(files["Dockerfile"])
	for _, want := range []string{"FROM b\n", "npm install --omit=dev", `'@x/y@>=1 <2'`, "npm_config_registry='https://r.example/'", "rm -rf /tmp/mcp-sandbox-build"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if strings.Contains(df, "\nENV ") {
		t.Errorf("the registry must not become the image's environment:\n%s", df)
	}
	files, err = stageContext(&Package{Ecosystem: "pypi", Name: "p", Version: "==1", BaseImage: "b", Registry: "http://127.0.0.1:9/simple/"})
	if err != nil {
		t.Fatal(err)
	}
	df = string(files["Dockerfile"])
	for _, want := range []string{"python3 -m venv /opt/mcp-sandbox/venv", "pip install --no-cache-dir 'p==1'", "PIP_TRUSTED_HOST='127.0.0.1'"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if _, err := stageContext(&Package{Ecosystem: "npm", Name: "x", BaseImage: "b", CAFile: "/nonexistent/ca.pem"}); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

func TestFinalDockerfile(t *testing.T) {
	spec := Spec{Name: "mem", User: "65534:65534", State: "/data", Package: &Package{Ecosystem: "npm", Name: "m", Version: "2", BaseImage: "b"}}
	df, err := finalDockerfile(spec, "sha256:abc", packageInfo{Version: "2.0.0", Command: "m", Entrypoint: []string{"/usr/local/bin/node", "/opt/mcp-sandbox/npm/node_modules/m/i.js"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM sha256:abc\n", `LABEL dev.mcp-sandbox.package.version="2.0.0"`, `LABEL dev.mcp-sandbox.package="npm:m@2"`,
		"chown '65534:65534' '/data'", "USER 65534:65534\n", `ENTRYPOINT ["/usr/local/bin/node","/opt/mcp-sandbox/npm/node_modules/m/i.js"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("final Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if _, err := finalDockerfile(spec, "x", packageInfo{}); err == nil {
		t.Error("a record without an entrypoint was accepted")
	}
}
