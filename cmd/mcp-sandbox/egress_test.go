package main

import (
	"testing"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
)

func TestDescribeEgress(t *testing.T) {
	for _, tt := range []struct {
		sb         profiles.Sandbox
		want, warn string
	}{
		{profiles.Sandbox{Network: "none"}, "none (no network)", ""},
		{profiles.Sandbox{Network: "bridge"}, `UNRESTRICTED (network = "bridge"): the server can reach any address`,
			`network = "bridge" lets the server reach the whole internet and your LAN; list what it needs in allow_hosts instead`},
		{profiles.Sandbox{Network: profiles.NetworkFiltered, AllowHosts: []string{"API.github.com", "db.lan:5432", "10.0.0.0/8:443"},
			Hosts: map[string]string{"db.lan": "192.168.1.20"}},
			"filtered: only api.github.com:443, db.lan:5432, 10.0.0.0/8:443 (hosts db.lan=192.168.1.20)", ""},
	} {
		if got := describeEgress(tt.sb); got != tt.want {
			t.Errorf("describeEgress(%+v) = %q, want %q", tt.sb, got, tt.want)
		}
		if got := egressWarning(tt.sb); got != tt.warn {
			t.Errorf("egressWarning(%+v) = %q, want %q", tt.sb, got, tt.warn)
		}
	}
}
