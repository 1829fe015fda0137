package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DefaultPort is the port of an allow_hosts entry that names none. Port 80
// is not implied: plain HTTP can be read and altered on the way, and an
// entry that silently opened it would allow more than its author saw. List
// "name:80" to allow it.
const DefaultPort = 443

// A Rule is one allow_hosts entry: a name (exact, or "*." and a suffix that
// matches any name below it, not the suffix itself), an IP address or a CIDR
// prefix, and one port.
type Rule struct {
	// Name is the lower-case name without a trailing dot; for a wildcard it
	// is the suffix after "*.". Empty for address rules.
	Name     string
	Wildcard bool
	// Prefix is the address or CIDR; the zero Prefix for name rules.
	Prefix netip.Prefix
	Port   int
}

// String renders the rule as it would be written, with its port.
func (r Rule) String() string {
	host := r.Name
	switch {
	case r.Wildcard:
		host = "*." + r.Name
	case r.Prefix.IsValid() && r.Prefix.IsSingleIP():
		host = r.Prefix.Addr().String()
		if r.Prefix.Addr().Is6() {
			host = "[" + host + "]"
		}
	case r.Prefix.IsValid():
		host = r.Prefix.String()
	}
	return host + ":" + strconv.Itoa(r.Port)
}

// ParseRule parses one allow_hosts entry: "api.github.com", "*.slack.com",
// "uploads.example.com:8443", "192.168.1.20:5432", "10.1.0.0/16:443",
// "[2001:db8::1]:443". The port defaults to [DefaultPort].
func ParseRule(s string) (Rule, error) {
	host, port, err := splitPort(strings.TrimSpace(s))
	if err != nil {
		return Rule{}, err
	}
	r := Rule{Port: port}
	if p, err := netip.ParsePrefix(host); err == nil {
		if p.Masked() != p {
			return Rule{}, fmt.Errorf("CIDR %s has host bits set (did you mean %s?)", host, p.Masked())
		}
		r.Prefix = p
		return r, nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return Rule{}, fmt.Errorf("address %s: zones are not supported", host)
		}
		r.Prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		return r, nil
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		r.Wildcard = true
		host = rest
	}
	name, err := CanonicalName(host)
	if err != nil {
		return Rule{}, err
	}
	if r.Wildcard && !strings.Contains(name, ".") {
		return Rule{}, fmt.Errorf("wildcard *.%s would match a whole top-level domain", name)
	}
	r.Name = name
	return r, nil
}

// splitPort separates an optional ":port" from host.
func splitPort(s string) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("empty entry")
	}
	host, portStr := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return "", 0, fmt.Errorf("%q: missing ]", s)
		}
		host, portStr = s[1:end], s[end+1:]
		if portStr != "" {
			if !strings.HasPrefix(portStr, ":") {
				return "", 0, fmt.Errorf("%q: want [address]:port", s)
			}
			portStr = portStr[1:]
			if portStr == "" {
				return "", 0, fmt.Errorf("%q: empty port", s)
			}
		}
	case strings.Count(s, ":") == 1:
		host, portStr, _ = strings.Cut(s, ":")
		if portStr == "" {
			return "", 0, fmt.Errorf("%q: empty port", s)
		}
	case strings.Count(s, ":") > 1:
		// A bare IPv6 address or prefix: its port needs brackets.
		if _, err := netip.ParsePrefix(s); err != nil {
			if _, err := netip.ParseAddr(s); err != nil {
				return "", 0, fmt.Errorf("%q: write an IPv6 address with a port as [address]:port", s)
			}
		}
	}
	port := DefaultPort
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, portStr)
		}
		port = n
	}
	return host, port, nil
}

// CanonicalName lower-cases a DNS name and drops one trailing dot; it
// reports names that are not valid host names.
func CanonicalName(s string) (string, error) {
	name := strings.TrimSuffix(strings.ToLower(s), ".")
	if name == "" || len(name) > 253 {
		return "", fmt.Errorf("%q is not a host name", s)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%q is not a host name", s)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a host name (letters, digits, '-' and '.' only; write IDNs in their xn-- form)", s)
			}
		}
	}
	return name, nil
}

// A Filter decides which destinations a server may reach. The zero Filter
// allows nothing.
type Filter struct {
	rules []Rule
	hosts map[string]netip.Addr
}

// NewFilter parses allow (allow_hosts entries) and hosts (name → address
// mappings, as Docker's --add-host).
func NewFilter(allow []string, hosts map[string]string) (*Filter, error) {
	f := &Filter{hosts: map[string]netip.Addr{}}
	var errs []error
	for _, s := range allow {
		r, err := ParseRule(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.rules = append(f.rules, r)
	}
	for name, addr := range hosts {
		n, err := CanonicalName(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("hosts: %q for %s is not an IP address", addr, name))
			continue
		}
		f.hosts[n] = a.Unmap()
	}
	return f, errors.Join(errs...)
}

// Rules returns the parsed allow_hosts entries.
func (f *Filter) Rules() []Rule { return slices.Clone(f.rules) }

// matchName reports whether rule r covers name (canonical).
func (r Rule) matchName(name string) bool {
	if r.Name == "" {
		return false
	}
	if r.Wildcard {
		return strings.HasSuffix(name, "."+r.Name)
	}
	return name == r.Name
}

// Allowed reports whether host (a name or an IP literal) may be reached on
// port.
func (f *Filter) Allowed(host string, port int) bool {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		a = a.Unmap()
		for _, r := range f.rules {
			if r.Port == port && r.Prefix.IsValid() && r.Prefix.Contains(a) {
				return true
			}
		}
		return false
	}
	name, err := CanonicalName(host)
	if err != nil {
		return false
	}
	for _, r := range f.rules {
		if r.Port == port && r.matchName(name) {
			return true
		}
	}
	return false
}

// Listed reports whether a name is listed for any port: the names DNS
// answers.
func (f *Filter) Listed(name string) bool {
	name, err := CanonicalName(name)
	if err != nil {
		return false
	}
	for _, r := range f.rules {
		if r.matchName(name) {
			return true
		}
	}
	return false
}

// NamePorts returns the distinct ports of the name rules, sorted: the ports
// the sidecar serves transparently.
func (f *Filter) NamePorts() []int {
	var ports []int
	for _, r := range f.rules {
		if r.Name != "" && !slices.Contains(ports, r.Port) {
			ports = append(ports, r.Port)
		}
	}
	slices.Sort(ports)
	return ports
}

// Sole returns the one exact name listed for port, if there is exactly one
// name rule for the port and it is not a wildcard: where a connection names
// no host (neither TLS SNI nor HTTP Host), it can only be meant for that one.
func (f *Filter) Sole(port int) (string, bool) {
	var name string
	n := 0
	for _, r := range f.rules {
		if r.Name == "" || r.Port != port {
			continue
		}
		if r.Wildcard {
			return "", false
		}
		if r.Name != name {
			name = r.Name
			n++
		}
	}
	return name, n == 1
}

// Lookup returns the address hosts maps name to, if it does.
func (f *Filter) Lookup(name string) (netip.Addr, bool) {
	name, err := CanonicalName(name)
	if err != nil {
		return netip.Addr{}, false
	}
	a, ok := f.hosts[name]
	return a, ok
}

// splitHostPort splits "host:port" with a numeric port.
func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	return host, port, nil
}
