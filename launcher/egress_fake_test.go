package launcher

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
)

// The network calls of filtered egress, for the fake engine; the unit tests
// that use it run servers without egress.

func (f *fakeDocker) NetworkCreate(context.Context, string, network.CreateOptions) (network.CreateResponse, error) {
	return network.CreateResponse{ID: "net0"}, f.call("network-create")
}

func (f *fakeDocker) NetworkInspect(context.Context, string, network.InspectOptions) (network.Inspect, error) {
	return network.Inspect{}, f.call("network-inspect")
}

func (f *fakeDocker) NetworkConnect(context.Context, string, string, *network.EndpointSettings) error {
	return f.call("network-connect")
}

func (f *fakeDocker) NetworkRemove(context.Context, string) error {
	return f.call("network-remove")
}

func (f *fakeDocker) NetworkList(context.Context, network.ListOptions) ([]network.Summary, error) {
	return nil, f.call("network-list")
}

// TestEgressRefusedWhereTheHostStaysInReach: an engine that drops the
// option keeping the host off the internal network (Podman's compatible
// API) gets no server with filtered egress, and the network it made is
// removed again.
func TestEgressRefusedWhereTheHostStaysInReach(t *testing.T) {
	f := newFakeDocker()
	l := fakeLauncher(t, f)
	c, err := l.Start(context.Background(), Spec{Name: "s", Image: "img", Egress: &Egress{Allow: []string{"api.example.com"}}})
	if !errors.Is(err, ErrEgressUnsupported) || c != nil {
		t.Fatalf("Start = %v, %v; want ErrEgressUnsupported", c, err)
	}
	calls := engineCalls(f)
	if !strings.Contains(calls, "network-create network-inspect") || !strings.Contains(calls, "network-remove") {
		t.Errorf("engine calls %q: want the network created, inspected and removed", calls)
	}
	if strings.Contains(calls, " create") || strings.HasPrefix(calls, "create") {
		t.Errorf("engine calls %q: a container was created", calls)
	}
}
