package launcher

import (
	"context"

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
