// Package egress owns the egress allow-list of a sandboxed server: the rules
// of allow_hosts and hosts ([ParseRule], [Filter]) and the sidecar that
// enforces them ([Run]), which the launcher runs as `mcp-sandbox
// egress-proxy` in a container of its own.
//
// The server's container sits alone with the sidecar on an internal network:
// it has no route anywhere else. The sidecar serves it three things on its
// address on that network:
//
//   - DNS (the server container's resolver): a listed name resolves to the
//     sidecar's own address, anything else is NXDOMAIN, so nothing tunnels
//     out through DNS;
//   - the listed ports, transparently: a connection is forwarded to the name
//     its TLS SNI or HTTP Host names when that name is listed for the port,
//     or, for other protocols, to the one exact name listed for that port.
//     This is what makes clients that ignore HTTP(S)_PROXY (Node's fetch, raw
//     TCP) work without iptables or any privilege;
//   - an HTTP proxy (CONNECT and plain HTTP, [github.com/elazarl/goproxy])
//     for proxy-aware clients; it is the way to listed IP addresses and
//     CIDRs, which have no name to resolve. Through CONNECT, a TLS
//     ClientHello must name the CONNECT host.
//
// Every refusal is reported as one JSON line on the sidecar's stdout
// ([Event]), which the launcher reads, logs and hands to the audit.
package egress
