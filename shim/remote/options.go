package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// ErrLoginRequired is returned (and reported to the host as a JSON-RPC
// error) when the remote server needs authorization, no usable token is
// stored, and the bridge may not open a browser (Options.Interactive is
// false). The wrapping error names the command to run.
var ErrLoginRequired = errors.New("login required")

// SecretStore persists OAuth state. The production implementation is the OS
// keychain (package shim/keychain). Get must report an absent item with an
// error matching Options.NotFound.
type SecretStore interface {
	Get(ctx context.Context, name string) (string, error)
	Set(ctx context.Context, name, value string) error
	Delete(ctx context.Context, name string) error
}

// Browser opens a URL for the user. Implementations must not write to
// os.Stdout, which carries the MCP protocol.
type Browser interface {
	Open(ctx context.Context, url string) error
}

// Transport names accepted in Options.Transport.
const (
	TransportAuto           = "auto"
	TransportStreamableHTTP = "streamable-http"
	TransportSSE            = "sse"
)

// Options configures [Dial], [Login], [Logout] and [GetStatus].
type Options struct {
	// Server is the configured server name. It names the keychain items
	// (oauth.<Server>.refresh, .client, .meta), the lock file and appears in
	// messages. Required.
	Server string
	// URL is the remote MCP endpoint (http or https). Required.
	URL string
	// Transport is "auto" (the zero value: streamable HTTP, falling back to
	// legacy SSE when the server rejects the first POST with 400, 404 or
	// 405), "streamable-http" or "sse".
	Transport string
	// Headers are static headers sent with every request to the MCP server
	// (never to the authorization server), values already resolved. An
	// "Authorization" entry turns the OAuth flow off: the configured
	// credential is used as is. Headers the transport owns (Accept,
	// Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Host)
	// are rejected.
	Headers map[string]string
	// OAuth tunes the authorization flow. Nil means the defaults: on a 401
	// the bridge discovers the authorization server and registers itself
	// dynamically.
	OAuth *OAuthOptions
	// Secrets persists the refresh token and client registration. Nil keeps
	// them in memory only, so every run needs a browser login.
	Secrets SecretStore
	// NotFound is the error Secrets.Get returns (matched with errors.Is)
	// for an absent item, e.g. keychain.ErrNotFound. When nil, any Get error
	// counts as absent.
	NotFound error
	// Browser opens the authorization URL. Nil uses $BROWSER (a command,
	// optionally with arguments; "%s" is replaced by the URL, otherwise the
	// URL is appended), else xdg-open, open or rundll32 depending on the OS.
	// The URL is always printed to ErrOut as well.
	Browser Browser
	// ErrOut receives the authorization URL and other messages for the
	// user, and the output of the browser command. Nil discards them.
	ErrOut io.Writer
	// Logger receives diagnostics. The zero value logs nothing.
	Logger zerolog.Logger
	// HTTPClient makes all requests. Nil uses a client with connect and TLS
	// timeouts but no overall timeout, which would cut SSE streams.
	HTTPClient *http.Client
	// Interactive allows opening a browser when a login is needed. When
	// false, a needed login fails with [ErrLoginRequired].
	Interactive bool
	// LockDir holds the per-server lock files that serialize token
	// handling across processes. Empty means
	// os.UserCacheDir()/mcp-sandbox/locks.
	LockDir string
	// LoginTimeout bounds the wait for the browser to come back to the
	// loopback redirect. Zero means 5 minutes.
	LoginTimeout time.Duration
	// Redactor scrubs every message ReadMessage returns. The bridge adds
	// each OAuth token it holds to it (as "oauth-token"), so that a relay
	// and a log sharing it scrub them too. Nil uses a Redactor of the
	// bridge's own.
	Redactor *redact.Redactor

	// now replaces time.Now where the bridge judges a token's age; nil
	// means time.Now. Tests set it.
	now func() time.Time
}

// OAuthOptions tunes the authorization flow. The zero value is valid.
type OAuthOptions struct {
	// ClientID and ClientSecret are a pre-registered client (the secret
	// value, already resolved). Empty ClientID means dynamic registration.
	ClientID     string
	ClientSecret string
	// Scopes replaces the scopes discovered from the server's challenge or
	// metadata. Empty means use the discovered ones.
	Scopes []string
	// RedirectPort is the preferred loopback port for the redirect; if it
	// is busy, a free port is used and ErrOut says so. Zero means a random
	// free port.
	RedirectPort int
	// ClientMetadataURL is an https URL of a client ID metadata document,
	// used when the authorization server supports it. Empty disables it.
	ClientMetadataURL string
}

// ReservedHeader reports whether the transport owns the header name (any
// case), so that a configuration cannot set it: Accept, Content-Type,
// Content-Length, Host, Mcp-Session-Id, Mcp-Protocol-Version and
// Last-Event-Id.
func ReservedHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Accept", "Content-Type", "Content-Length", "Host",
		"Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-Id":
		return true
	}
	return false
}

// ValidTransport reports whether t names a transport: auto, streamable-http
// or sse.
func ValidTransport(t string) bool {
	return t == TransportAuto || t == TransportStreamableHTTP || t == TransportSSE
}

// CheckClientMetadataURL reports why u cannot be a client ID metadata
// document URL: it must be https with a path.
func CheckClientMetadataURL(u string) error {
	mu, err := url.Parse(u)
	if err != nil || mu.Scheme != "https" || mu.Host == "" || mu.Path == "" || mu.Path == "/" {
		return fmt.Errorf("client metadata URL %q must be an https URL with a path", u)
	}
	return nil
}

// settings is Options with defaults applied and validated.
type settings struct {
	Options
	oauth      OAuthOptions
	headers    http.Header
	staticAuth bool
	errOut     io.Writer
	redactor   *redact.Redactor
}

func (o Options) settings() (*settings, error) {
	if o.Server == "" {
		return nil, errors.New("remote: server name is required")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote %s: url %q is not an absolute http(s) URL", o.Server, o.URL)
	}
	if o.Transport == "" {
		o.Transport = TransportAuto
	}
	if !ValidTransport(o.Transport) {
		return nil, fmt.Errorf("remote %s: unknown transport %q (want auto, streamable-http or sse)", o.Server, o.Transport)
	}
	s := &settings{Options: o, headers: http.Header{}}
	for k, v := range o.Headers {
		ck := http.CanonicalHeaderKey(k)
		if ReservedHeader(ck) {
			return nil, fmt.Errorf("remote %s: header %q is set by the transport and cannot be configured", o.Server, k)
		}
		if ck == "Authorization" {
			s.staticAuth = true
		}
		s.headers.Set(ck, v)
	}
	if o.OAuth != nil {
		s.oauth = *o.OAuth
	}
	if m := s.oauth.ClientMetadataURL; m != "" {
		if err := CheckClientMetadataURL(m); err != nil {
			return nil, fmt.Errorf("remote %s: %w", o.Server, err)
		}
	}
	if s.HTTPClient == nil {
		s.HTTPClient = defaultHTTPClient()
	}
	s.redactor = o.Redactor
	if s.redactor == nil {
		s.redactor, _ = redact.New(nil)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.LoginTimeout <= 0 {
		s.LoginTimeout = 5 * time.Minute
	}
	if s.LockDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		s.LockDir = filepath.Join(dir, "mcp-sandbox", "locks")
	}
	s.errOut = &lockedWriter{w: io.Discard}
	if o.ErrOut != nil {
		s.errOut = &lockedWriter{w: o.ErrOut}
	}
	if s.Browser == nil {
		s.Browser = &systemBrowser{out: s.errOut, log: s.Logger}
	}
	return s, nil
}

// defaultHTTPClient has connection-level timeouts only: a response may be a
// long-lived SSE stream. It follows redirects only within one origin: Go
// re-sends custom headers (our static "secret:" headers among them) to
// whatever host a redirect names, and MCP traffic has no business moving
// elsewhere either.
func defaultHTTPClient() *http.Client {
	return &http.Client{CheckRedirect: sameOriginRedirect, Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// lockedWriter serializes writes from concurrent goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// safeName turns a server name into a file-name-safe string.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// sameOriginRedirect refuses a redirect to another scheme, host or port.
func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	from := via[0].URL
	if req.URL.Scheme != from.Scheme || req.URL.Host != from.Host {
		return fmt.Errorf("refusing a redirect from %s://%s to another origin (%s://%s)", from.Scheme, from.Host, req.URL.Scheme, req.URL.Host)
	}
	return nil
}
