package profiles

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEgress(t *testing.T) {
	src := `[servers.s]
image = "x"
[servers.s.sandbox]
allow_hosts = ["api.github.com", "DB.lan:5432"]
hosts = { "DB.lan" = "192.168.1.20" }
`
	cfg, err := parse(testFile, []byte(src), fakeEnv{home: "/home/u"})
	if err != nil {
		t.Fatal(err)
	}
	sb := cfg.Servers["s"].Sandbox
	if sb.Network != NetworkFiltered {
		t.Errorf("network = %q, want %q", sb.Network, NetworkFiltered)
	}
	if diff := cmp.Diff([]string{"api.github.com", "DB.lan:5432"}, sb.AllowHosts); diff != "" {
		t.Errorf("allow_hosts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"db.lan": "192.168.1.20"}, sb.Hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	other := *cfg.Servers["s"]
	other.Sandbox.AllowHosts = []string{"api.github.com"}
	if !cfg.Servers["s"].NeedsRestart(&other) {
		t.Error("a changed allow_hosts does not need a restart")
	}
}

func TestParseEgressErrors(t *testing.T) {
	for _, tt := range []struct{ sandbox, want string }{
		{"network = \"none\"\nallow_hosts = [\"a.test\"]", `mcp-sandbox.toml:4:11: network = "none" and allow_hosts contradict`},
		{"network = \"bridge\"\nallow_hosts = [\"a.test\"]", `mcp-sandbox.toml:4:11: network = "bridge" and allow_hosts contradict`},
		{"allow_hosts = [\"a.test\", \"10.0.0.1/8\"]", `mcp-sandbox.toml:4:26: allow_hosts: CIDR 10.0.0.1/8 has host bits set`},
		{"allow_hosts = [\"a.test:99999\"]", `mcp-sandbox.toml:4:16: allow_hosts: "a.test:99999": port`},
		{"allow_hosts = [\"a.test\"]\nhosts = { \"a.test\" = \"not-an-ip\" }", `mcp-sandbox.toml:5:`},
		{"hosts = { \"a.test\" = \"10.0.0.1\" }", `hosts applies to filtered egress only`},
		{"allow_hosts = []", `allow_hosts is empty`},
	} {
		src := "[servers.s]\nimage = \"x\"\n[servers.s.sandbox]\n" + tt.sandbox + "\n"
		_, err := parse(testFile, []byte(src), fakeEnv{home: "/home/u"})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("sandbox %q: error %v, want it to contain %q", tt.sandbox, err, tt.want)
		}
	}
}
