package launcher

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// MinPodman is the oldest Podman version the launcher is tested with (see
// the README's Podman section).
const MinPodman = "4.3"

// EngineInfo describes the engine behind the endpoint.
type EngineInfo struct {
	// Name is "Docker Engine", "Podman Engine", or what the engine calls
	// itself.
	Name       string
	Version    string
	APIVersion string
}

// Podman reports whether the engine is Podman's Docker-compatible service.
func (e EngineInfo) Podman() bool { return strings.Contains(strings.ToLower(e.Name), "podman") }

func (e EngineInfo) String() string {
	return fmt.Sprintf("%s %s (API %s)", e.Name, e.Version, e.APIVersion)
}

// Note is what `doctor` should add about this engine, or "": a Podman older
// than MinPodman is not known to work.
func (e EngineInfo) Note() string {
	if e.Podman() && versionLess(e.Version, MinPodman) {
		return fmt.Sprintf("Podman %s is older than %s, the oldest Podman mcp-sandbox is tested with; upgrade if containers fail to start or attach", e.Version, MinPodman)
	}
	return ""
}

// EngineInfo reports what engine answers at the endpoint, or why none does.
func (l *Launcher) EngineInfo(ctx context.Context) (EngineInfo, error) {
	if err := l.ready(ctx); err != nil {
		return EngineInfo{}, err
	}
	v, err := l.api.ServerVersion(ctx)
	if err != nil {
		return EngineInfo{}, err
	}
	info := EngineInfo{Name: "Docker Engine", Version: v.Version, APIVersion: v.APIVersion}
	for _, c := range v.Components {
		if strings.Contains(strings.ToLower(c.Name), "podman") {
			info.Name, info.Version = c.Name, c.Version
		}
	}
	return info, nil
}

// Endpoint returns the endpoint the launcher talks to and how it was found.
func (l *Launcher) Endpoint() Endpoint { return l.endpoint }

// versionLess compares dotted numeric versions ("4.3.1" < "4.10");
// non-numeric suffixes ("-dev") are ignored.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		x, y := leadingInt(as, i), leadingInt(bs, i)
		if x != y {
			return x < y
		}
	}
	return false
}

func leadingInt(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	s := parts[i]
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	v, _ := strconv.Atoi(s[:n])
	return v
}
