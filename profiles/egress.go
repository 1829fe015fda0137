package profiles

import (
	"net/netip"

	"github.com/mcp-sandbox/mcp-sandbox/launcher/egress"
)

// NetworkFiltered is the Sandbox.Network of a server with allow_hosts.
const NetworkFiltered = "filtered"

// allowHosts decodes allow_hosts, checking each entry with the same parser
// the egress sidecar uses.
func (d *decoder) allowHosts(p []string, v any) []string {
	list, ok := d.strs(p, v)
	if !ok {
		return nil
	}
	for i, s := range list {
		if _, err := egress.ParseRule(s); err != nil {
			d.valuef(sub(p, elem(i)), "allow_hosts: %v", err)
		}
	}
	return list
}

// hosts decodes the name → address table.
func (d *decoder) hosts(p []string, v any) map[string]string {
	m := d.strMap(p, v)
	out := make(map[string]string, len(m))
	for name, addr := range m {
		kp := sub(p, name)
		n, err := egress.CanonicalName(name)
		if err != nil {
			d.errorf(kp, "hosts: %v", err)
			continue
		}
		if _, err := netip.ParseAddr(addr); err != nil {
			d.valuef(kp, "hosts: %q for %s is not an IP address", addr, name)
			continue
		}
		out[n] = addr
	}
	return out
}

// egress settles the network of a sandbox table t whose allow_hosts and
// hosts are decoded: a non-empty allow_hosts means filtered egress, which
// contradicts an explicit network = "none" or "bridge".
func (d *decoder) egress(p []string, t map[string]any, sb *Sandbox) {
	_, explicit := t["network"]
	if len(sb.AllowHosts) == 0 {
		if _, ok := t["allow_hosts"]; ok {
			d.valuef(sub(p, "allow_hosts"), "allow_hosts is empty: leave it out for network = %q", sb.Network)
		}
		if _, ok := t["hosts"]; ok {
			d.errorf(sub(p, "hosts"), "hosts applies to filtered egress only: it needs allow_hosts")
		}
		return
	}
	if explicit {
		switch sb.Network {
		case "none":
			d.valuef(sub(p, "network"), "network = \"none\" and allow_hosts contradict each other: network none allows no egress at all, allow_hosts allows the listed hosts; remove one of the two keys")
		case "bridge":
			d.valuef(sub(p, "network"), "network = \"bridge\" and allow_hosts contradict each other: network bridge allows every destination, allow_hosts only the listed ones; remove one of the two keys")
		}
	}
	sb.Network = NetworkFiltered
}
