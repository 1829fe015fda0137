package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// countingTLS is an HTTPS server on loopback that counts its connections.
type countingTLS struct {
	*httptest.Server
	conns atomic.Int64
	port  int
}

func newCountingTLS(t *testing.T) *countingTLS {
	c := &countingTLS{}
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "UPSTREAM") }))
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.StartTLS()
	t.Cleanup(c.Close)
	c.port = c.Listener.Addr().(*net.TCPAddr).Port
	return c
}

type running struct {
	cfg    Config
	events chan Event
}

// startSidecar runs the sidecar on loopback with allow and hosts, and
// waits for it to be ready.
func startSidecar(t *testing.T, allow []string, hosts map[string]string, offset int) *running {
	t.Helper()
	cfg := Config{Allow: allow, Hosts: hosts, DNSPort: freePort(t), ProxyPort: freePort(t), PortOffset: offset}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, pw); pw.Close() }()
	r := &running{cfg: cfg, events: make(chan Event, 100)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var e Event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				r.events <- e
			}
		}
		close(r.events)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	if e := r.next(t); e.Event != "ready" {
		t.Fatalf("first event %+v, want ready", e)
	}
	return r
}

func (r *running) next(t *testing.T) Event {
	t.Helper()
	select {
	case e, ok := <-r.events:
		if !ok {
			t.Fatal("the sidecar stopped")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event from the sidecar")
	}
	return Event{}
}

// refusal waits for the next refused event.
func (r *running) refusal(t *testing.T) Event {
	t.Helper()
	for {
		if e := r.next(t); e.Event == "refused" {
			return e
		}
	}
}

func TestSidecarDNS(t *testing.T) {
	r := startSidecar(t, []string{"a.test:7000", "*.w.test"}, nil, 0)
	q := func(name string, qtype uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qtype)
		in, err := dns.Exchange(m, "127.0.0.1:"+strconv.Itoa(r.cfg.DNSPort))
		if err != nil {
			t.Fatalf("query %s: %v", name, err)
		}
		return in
	}
	for _, name := range []string{"a.test", "A.Test", "x.w.test"} {
		in := q(name, dns.TypeA)
		if in.Rcode != dns.RcodeSuccess || len(in.Answer) != 1 || in.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
			t.Errorf("A %s = %v; want the sidecar's address", name, in)
		}
	}
	if in := q("a.test", dns.TypeAAAA); in.Rcode != dns.RcodeSuccess || len(in.Answer) != 0 {
		t.Errorf("AAAA a.test = %v; want an empty answer", in)
	}
	for _, name := range []string{"b.test", "w.test", "a.test.evil.example"} {
		if in := q(name, dns.TypeA); in.Rcode != dns.RcodeNameError {
			t.Errorf("A %s: rcode %s, want NXDOMAIN", name, dns.RcodeToString[in.Rcode])
		}
		if e := r.refusal(t); e.Via != "dns" || e.Host != name {
			t.Errorf("refusal %+v, want dns %s", e, name)
		}
	}
}

func TestSidecarTLS(t *testing.T) {
	up := newCountingTLS(t)
	listen := freePort(t)
	name := "a.test:" + strconv.Itoa(up.port)
	r := startSidecar(t, []string{name}, map[string]string{"a.test": "127.0.0.1", "b.test": "127.0.0.1"}, listen-up.port)
	hello := func(addr, sni string) error {
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err == nil {
			c.Close()
		}
		return err
	}

	// Transparent: the SNI decides.
	transparent := "127.0.0.1:" + strconv.Itoa(listen)
	if err := hello(transparent, "a.test"); err != nil {
		t.Fatalf("TLS with SNI a.test through the listed port: %v", err)
	}
	if err := hello(transparent, "b.test"); err == nil {
		t.Error("TLS with SNI b.test (mapped, not listed) got through")
	}
	if e := r.refusal(t); e.Host != "b.test" || e.Via != "tcp" {
		t.Errorf("refusal %+v, want tcp b.test", e)
	}
	if n := up.conns.Load(); n != 1 {
		t.Errorf("upstream saw %d connections, want 1", n)
	}

	// CONNECT: the ClientHello must name the CONNECT host.
	connect := func(target, sni string) error {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(r.cfg.ProxyPort))
		if err != nil {
			return err
		}
		defer c.Close()
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("CONNECT: %s", resp.Status)
		}
		tc := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		return tc.Handshake()
	}
	if err := connect(name, "a.test"); err != nil {
		t.Errorf("CONNECT %s with its own SNI: %v", name, err)
	}
	if err := connect(name, "evil.test"); err == nil {
		t.Error("CONNECT a.test with SNI evil.test got through")
	}
	if e := r.refusal(t); e.Via != "connect" {
		t.Errorf("refusal %+v, want connect", e)
	}
	if err := connect("b.test:"+strconv.Itoa(up.port), "b.test"); err == nil {
		t.Error("CONNECT b.test (not listed) got through")
	}
	if n := up.conns.Load(); n != 2 {
		t.Errorf("upstream saw %d connections, want 2", n)
	}

	// Plain HTTP through the proxy: only listed destinations.
	proxy, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(r.cfg.ProxyPort))
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}, Timeout: 10 * time.Second}
	resp, err := client.Get("http://b.test:" + strconv.Itoa(up.port) + "/")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("plain HTTP to b.test through the proxy: %s, want a refusal", resp.Status)
		}
	}
	if n := up.conns.Load(); n != 2 {
		t.Errorf("upstream saw %d connections, want still 2", n)
	}
}
