package egress

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elazarl/goproxy"
	"github.com/miekg/dns"
)

// ProxyPort is the port of the sidecar's HTTP proxy.
const ProxyPort = 3128

// Config is what the launcher hands the sidecar (as JSON in the
// MCP_SANDBOX_EGRESS environment variable).
type Config struct {
	// Allow are the allow_hosts entries, Hosts the hosts mappings.
	Allow []string          `json:"allow"`
	Hosts map[string]string `json:"hosts,omitempty"`
	// Subnet is the internal network's prefix: the sidecar serves on its
	// own address inside it, and on no other. Empty means 127.0.0.1 (tests).
	Subnet string `json:"subnet,omitempty"`
	// DNSPort and ProxyPort override 53 and [ProxyPort] (tests); PortOffset
	// is added to every transparent port (tests that cannot bind low ports).
	DNSPort    int `json:"dns_port,omitempty"`
	ProxyPort  int `json:"proxy_port,omitempty"`
	PortOffset int `json:"port_offset,omitempty"`
	// Upstream, if set, is "ip:port" of the DNS server used to resolve
	// listed names that hosts does not map (tests); empty means the
	// system's resolver.
	Upstream string `json:"upstream,omitempty"`
}

// An Event is one line the sidecar writes on its stdout.
type Event struct {
	// Event is "ready", "refused" or "allowed".
	Event string `json:"event"`
	// Address is the sidecar's address ("ready").
	Address string `json:"address,omitempty"`
	// Via is how the connection came: "dns", "tcp" (a listed port, without a
	// proxy), "connect" or "http" (the proxy).
	Via  string `json:"via,omitempty"`
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	// Reason says why a connection was refused.
	Reason string `json:"reason,omitempty"`
}

// A sidecar serves one server's egress.
type sidecar struct {
	f      *Filter
	cfg    Config
	ip     netip.Addr
	mu     sync.Mutex // serialises event lines
	out    *json.Encoder
	dialer net.Dialer
}

// Run serves the sidecar until ctx ends: DNS, the HTTP proxy and the listed
// ports, on the sidecar's address in cfg.Subnet. It writes a "ready" event
// once every listener is up, and one event per refused (and allowed)
// connection, to out.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	f, err := NewFilter(cfg.Allow, cfg.Hosts)
	if err != nil {
		return err
	}
	ip, err := ownAddress(cfg.Subnet)
	if err != nil {
		return err
	}
	s := &sidecar{f: f, cfg: cfg, ip: ip, out: json.NewEncoder(out)}
	s.dialer.Timeout = 10 * time.Second
	if cfg.Upstream != "" {
		s.dialer.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, cfg.Upstream)
		}}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
		cancel()
	}

	dnsPort := orDefault(cfg.DNSPort, 53)
	dnsAddr := net.JoinHostPort(ip.String(), strconv.Itoa(dnsPort))
	pc, err := net.ListenPacket("udp", dnsAddr)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	dl, err := net.Listen("tcp", dnsAddr)
	if err != nil {
		pc.Close()
		return fmt.Errorf("dns: %w", err)
	}
	handler := dns.HandlerFunc(s.serveDNS)
	servers := []*dns.Server{
		{PacketConn: pc, Handler: handler},
		{Listener: dl, Handler: handler},
	}
	for _, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ActivateAndServe(); err != nil && ctx.Err() == nil {
				fail(fmt.Errorf("dns: %w", err))
			}
		}()
	}

	pl, err := net.Listen("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(orDefault(cfg.ProxyPort, ProxyPort))))
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	hs := &http.Server{Handler: s.proxy(), ReadHeaderTimeout: 30 * time.Second}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := hs.Serve(pl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("proxy: %w", err))
		}
	}()

	var listeners []net.Listener
	for _, port := range f.NamePorts() {
		l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port+cfg.PortOffset)))
		if err != nil {
			fail(fmt.Errorf("port %d: %w", port, err))
			break
		}
		listeners = append(listeners, l)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					if ctx.Err() == nil {
						fail(fmt.Errorf("port %d: %w", port, err))
					}
					return
				}
				go s.serveTransparent(ctx, c, port)
			}
		}()
	}
	if ctx.Err() == nil {
		s.emit(Event{Event: "ready", Address: ip.String()})
	}
	<-ctx.Done()
	for _, srv := range servers {
		_ = srv.Shutdown()
	}
	_ = hs.Close()
	for _, l := range listeners {
		l.Close()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// ownAddress finds this container's address inside subnet.
func ownAddress(subnet string) (netip.Addr, error) {
	if subnet == "" {
		return netip.MustParseAddr("127.0.0.1"), nil
	}
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("subnet: %w", err)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && p.Contains(ip.Unmap()) {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("no address of this container is in %s", subnet)
}

func (s *sidecar) emit(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.out.Encode(e)
}

func (s *sidecar) refuse(via, host string, port int, reason string) {
	s.emit(Event{Event: "refused", Via: via, Host: host, Port: port, Reason: reason})
}

// serveDNS answers listed names with the sidecar's address (A), an empty
// answer for other types, and NXDOMAIN for everything else. Nothing is
// forwarded anywhere.
func (s *sidecar) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.TrimSuffix(q.Name, ".")
	if !s.f.Listed(name) {
		m.Rcode = dns.RcodeNameError
		if q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA {
			// One refusal per name looked up; the resolver's other
			// query types for it would only repeat it.
			s.refuse("dns", strings.ToLower(name), 0, "name not in allow_hosts")
		}
		_ = w.WriteMsg(m)
		return
	}
	if q.Qtype == dns.TypeA && q.Qclass == dns.ClassINET {
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A:   s.ip.AsSlice(),
		})
	}
	_ = w.WriteMsg(m)
}

// dial connects to host:port if the filter allows it, resolving names
// through hosts first. It reports a refusal itself.
func (s *sidecar) dial(ctx context.Context, via, host string, port int) (net.Conn, error) {
	host = strings.Trim(host, "[]")
	if !s.f.Allowed(host, port) {
		reason := "not in allow_hosts"
		if s.f.Listed(host) {
			reason = "port not allowed for this name"
		}
		s.refuse(via, host, port, reason)
		return nil, fmt.Errorf("%s:%d: %s", host, port, reason)
	}
	target := host
	if a, ok := s.f.Lookup(host); ok {
		target = a.String()
	}
	c, err := s.dialer.DialContext(ctx, "tcp", net.JoinHostPort(target, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	s.emit(Event{Event: "allowed", Via: via, Host: host, Port: port})
	return c, nil
}

// sniffTimeout is how long a connection on a listed port may stay silent
// before it is taken for a protocol where the server speaks first.
const sniffTimeout = 500 * time.Millisecond

// maxSniff bounds what is read to find a TLS SNI or an HTTP Host.
const maxSniff = 16 << 10

// serveTransparent forwards a connection to a listed port: to the name its
// TLS SNI or HTTP Host gives, or, where it gives none, to the port's sole
// name.
func (s *sidecar) serveTransparent(ctx context.Context, c net.Conn, port int) {
	defer c.Close()
	br := bufio.NewReaderSize(c, maxSniff)
	name, known, err := sniff(c, br)
	if err != nil {
		s.refuse("tcp", "", port, err.Error())
		return
	}
	if !known {
		sole, ok := s.f.Sole(port)
		if !ok {
			s.refuse("tcp", "", port, "no TLS server name or HTTP Host, and the port is listed for more than one name")
			return
		}
		name = sole
	}
	up, err := s.dial(ctx, "tcp", name, port)
	if err != nil {
		return
	}
	defer up.Close()
	splice(c, br, up)
}

// sniff reads the start of a connection without consuming it and returns
// the host it names: the SNI of a TLS ClientHello, or the Host of an HTTP
// request. known is false when the connection names no host (a TLS hello
// without SNI counts as naming none only if it is not TLS at all: TLS
// without SNI is an error, since SNI is what the check rests on).
func sniff(c net.Conn, br *bufio.Reader) (host string, known bool, err error) {
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	first, perr := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if perr != nil {
		var ne net.Error
		if errors.As(perr, &ne) && ne.Timeout() {
			return "", false, nil // the server speaks first
		}
		return "", false, fmt.Errorf("read: %v", perr)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	if first[0] == 0x16 { // TLS handshake record
		sni, err := clientHelloSNI(br)
		if err != nil {
			return "", false, err
		}
		if sni == "" {
			return "", false, errors.New("TLS without a server name (SNI)")
		}
		return sni, true, nil
	}
	if h, ok := httpHost(br); ok {
		return h, true, nil
	}
	return "", false, nil
}

// clientHelloSNI peeks a whole TLS record and reads the ClientHello's server
// name from it with crypto/tls, which stops after parsing the hello.
func clientHelloSNI(br *bufio.Reader) (string, error) {
	hdr, err := br.Peek(5)
	if err != nil {
		return "", fmt.Errorf("TLS record: %v", err)
	}
	n := 5 + (int(hdr[3])<<8 | int(hdr[4]))
	if n > maxSniff {
		return "", errors.New("TLS ClientHello too large")
	}
	rec, err := br.Peek(n)
	if err != nil {
		return "", fmt.Errorf("TLS record: %v", err)
	}
	var sni string
	errStop := errors.New("stop")
	err = tls.Server(readOnlyConn{r: bytes.NewReader(rec)}, &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			sni = h.ServerName
			return nil, errStop
		},
	}).Handshake()
	if sni == "" && !errors.Is(err, errStop) {
		return "", fmt.Errorf("TLS ClientHello: %v", err)
	}
	return sni, nil
}

var httpMethods = [][]byte{[]byte("GET "), []byte("POST "), []byte("PUT "), []byte("HEAD "), []byte("DELETE "), []byte("PATCH "), []byte("OPTIONS "), []byte("TRACE ")}

// httpHost reads an HTTP request head, if the connection starts with one,
// and returns its Host.
func httpHost(br *bufio.Reader) (string, bool) {
	start, _ := br.Peek(min(br.Buffered(), 8))
	isHTTP := false
	for _, m := range httpMethods {
		if bytes.HasPrefix(m, start) || bytes.HasPrefix(start, m) {
			isHTTP = true
			break
		}
	}
	if !isHTTP {
		return "", false
	}
	for n := br.Buffered(); ; n = br.Buffered() + 1 {
		b, err := br.Peek(n)
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:i+4])))
			if err != nil || req.Host == "" {
				return "", false
			}
			host := req.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			return host, true
		}
		if err != nil || n >= maxSniff {
			return "", false
		}
	}
}

// splice copies both ways until both directions end. br holds what was
// peeked from c.
func splice(c net.Conn, br *bufio.Reader, up net.Conn) {
	done := make(chan struct{})
	go func() {
		_, _ = br.WriteTo(up)
		closeWrite(up)
		close(done)
	}()
	_, _ = io.Copy(c, up)
	closeWrite(c)
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = c.Close()
	}
}

// proxy is the HTTP proxy: plain HTTP requests and CONNECT, both through the
// filter.
func (s *sidecar) proxy() http.Handler {
	p := goproxy.NewProxyHttpServer()
	p.Logger = discardLogger{}
	p.Tr = &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, port, err := splitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return s.dial(ctx, "http", host, port)
		},
		MaxIdleConns:        16,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	p.OnRequest().HandleConnectFunc(func(host string, _ *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		return &goproxy.ConnectAction{Action: goproxy.ConnectHijack, Hijack: func(req *http.Request, client net.Conn, _ *goproxy.ProxyCtx) {
			s.tunnel(req.Context(), client, host)
		}}, host
	})
	return p
}

// tunnel serves one CONNECT: the destination must be allowed and, when it
// is a name and the client speaks TLS, the ClientHello must name it.
func (s *sidecar) tunnel(ctx context.Context, client net.Conn, hostport string) {
	defer client.Close()
	host, port, err := splitHostPort(hostport)
	if err != nil {
		_, _ = io.WriteString(client, "HTTP/1.1 400 Bad Request\r\n\r\n")
		return
	}
	host = strings.Trim(host, "[]")
	if !s.f.Allowed(host, port) {
		_, _ = s.dial(ctx, "connect", host, port) // reports the refusal
		_, _ = io.WriteString(client, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	br := bufio.NewReaderSize(client, maxSniff)
	if _, err := netip.ParseAddr(host); err != nil { // a name: what the client sends must name it too
		name, known, err := sniff(client, br)
		if err != nil {
			s.refuse("connect", host, port, err.Error())
			return
		}
		if known && !strings.EqualFold(strings.TrimSuffix(name, "."), host) {
			s.refuse("connect", host, port, fmt.Sprintf("the connection names %q, not the CONNECT host", name))
			return
		}
	}
	up, err := s.dial(ctx, "connect", host, port)
	if err != nil {
		return
	}
	defer up.Close()
	splice(client, br, up)
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// readOnlyConn is a net.Conn that reads from r and discards writes, for
// parsing a ClientHello with crypto/tls.
type readOnlyConn struct{ r io.Reader }

func (c readOnlyConn) Read(p []byte) (int, error)     { return c.r.Read(p) }
func (readOnlyConn) Write(p []byte) (int, error)      { return 0, io.ErrClosedPipe }
func (readOnlyConn) Close() error                     { return nil }
func (readOnlyConn) LocalAddr() net.Addr              { return nil }
func (readOnlyConn) RemoteAddr() net.Addr             { return nil }
func (readOnlyConn) SetDeadline(time.Time) error      { return nil }
func (readOnlyConn) SetReadDeadline(time.Time) error  { return nil }
func (readOnlyConn) SetWriteDeadline(time.Time) error { return nil }
