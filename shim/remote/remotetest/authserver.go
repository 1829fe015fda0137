package remotetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// A Counter names one of the events an [AuthServer] counts.
type Counter string

// The events counted by an [AuthServer].
const (
	// CountAuthorize counts requests to the authorization endpoint, that
	// is, browser flows (valid or not).
	CountAuthorize Counter = "authorize"
	// CountRegister counts dynamic client registrations.
	CountRegister Counter = "register"
	// CountCode counts successful authorization code exchanges.
	CountCode Counter = "code"
	// CountRefresh counts refresh_token grants, successful or not.
	CountRefresh Counter = "refresh"
	// CountRevoke counts requests to the revocation endpoint.
	CountRevoke Counter = "revoke"
)

// AuthOptions tunes an [AuthServer]. The zero value (or nil) is a
// well-behaved server issuing one-hour access tokens.
type AuthOptions struct {
	// AccessTTL is the lifetime of issued access tokens. Zero means one
	// hour. Tokens shorter than a second are announced as expires_in 1.
	AccessTTL time.Duration
	// WrongIssuer, if set, is sent as iss in the authorization response
	// instead of the server's own issuer, as in a mix-up attack.
	WrongIssuer string
	// Withhold is a scope the server never grants, even when asked for it.
	// Empty grants whatever is asked.
	Withhold string
	// ConsentDelay is how long the authorization endpoint waits before it
	// redirects, like a user reading the consent page. Zero redirects at
	// once.
	ConsentDelay time.Duration
}

// An AuthServer is a small OAuth 2.1 authorization server on loopback:
// RFC 8414 metadata (with a revocation endpoint), dynamic client
// registration, an authorization endpoint that approves at once (a 302 to
// the redirect URI with code, state and iss, as after a user's consent), a
// token endpoint that checks the client, the PKCE verifier, the redirect URI
// and the resource, rotates refresh tokens, and an RFC 7009 revocation
// endpoint.
//
// Its methods are safe for concurrent use.
type AuthServer struct {
	srv  *httptest.Server
	opts AuthOptions

	mu      sync.Mutex
	clients map[string]string // client_id → secret
	codes   map[string]*grant
	access  map[string]*grant
	refresh map[string]*grant
	issued  []string // every token and client secret issued
	counts  map[Counter]int
	// refreshResources lists the resource parameter of each refresh grant.
	refreshResources []string
	revoked          []string
}

// A grant is what one authorization (and the tokens derived from it)
// allows.
type grant struct {
	clientID, challenge, redirect, resource, scope string
	expiry                                         time.Time
}

// NewAuthServer starts an authorization server; the test's cleanup stops
// it. opts may be nil.
func NewAuthServer(t testing.TB, opts *AuthOptions) *AuthServer {
	t.Helper()
	as := &AuthServer{
		clients: map[string]string{}, codes: map[string]*grant{}, access: map[string]*grant{},
		refresh: map[string]*grant{}, counts: map[Counter]int{},
	}
	if opts != nil {
		as.opts = *opts
	}
	if as.opts.AccessTTL <= 0 {
		as.opts.AccessTTL = time.Hour
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", as.metadata)
	mux.HandleFunc("POST /register", as.register)
	mux.HandleFunc("GET /authorize", as.authorize)
	mux.HandleFunc("POST /token", as.token)
	mux.HandleFunc("POST /revoke", as.revoke)
	as.srv = httptest.NewServer(mux)
	t.Cleanup(as.srv.Close)
	return as
}

// URL returns the issuer: the server's base URL, without a trailing slash.
func (as *AuthServer) URL() string { return as.srv.URL }

// Count returns how often the event c happened so far.
func (as *AuthServer) Count(c Counter) int {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.counts[c]
}

// Issued returns every access token, refresh token and client secret the
// server has issued, in order. Tests check that none of them leaks.
func (as *AuthServer) Issued() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return slices.Clone(as.issued)
}

// Revoked returns the tokens posted to the revocation endpoint, in order.
func (as *AuthServer) Revoked() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return slices.Clone(as.revoked)
}

// RefreshResources returns the RFC 8707 resource parameter of each
// refresh_token grant, in order ("" where it was missing).
func (as *AuthServer) RefreshResources() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return slices.Clone(as.refreshResources)
}

// RevokeAllRefresh forgets every refresh token, as if the user revoked the
// grant at the provider. Access tokens stay valid until they expire.
func (as *AuthServer) RevokeAllRefresh() {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.refresh = map[string]*grant{}
}

// ExpireAccessTokens ends the lifetime of every access token issued so far,
// as if it had passed: the resource server answers them with 401 from now
// on. Clients still believe them valid, so this exercises a refresh after
// the server refused a token, without waiting for a clock.
func (as *AuthServer) ExpireAccessTokens() {
	as.mu.Lock()
	defer as.mu.Unlock()
	past := time.Now().Add(-time.Minute)
	for at, g := range as.access {
		c := *g // grants are shared with refresh tokens; change a copy
		c.expiry = past
		as.access[at] = &c
	}
}

// IssueAccessToken mints an access token with the given scopes and the
// configured lifetime without any flow, for clients that send a
// pre-issued token (a static Authorization header).
func (as *AuthServer) IssueAccessToken(scopes ...string) string {
	as.mu.Lock()
	defer as.mu.Unlock()
	at := randToken("at-")
	as.access[at] = &grant{scope: strings.Join(scopes, " "), expiry: time.Now().Add(as.opts.AccessTTL)}
	as.issued = append(as.issued, at)
	return at
}

// Verify is the resource server's [auth.TokenVerifier]: it accepts the
// access tokens this server issued, with their scopes and expiry.
func (as *AuthServer) Verify(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	g := as.access[token]
	if g == nil {
		return nil, fmt.Errorf("unknown token: %w", auth.ErrInvalidToken)
	}
	return &auth.TokenInfo{Scopes: strings.Fields(g.scope), Expiration: g.expiry}, nil
}

func randToken(prefix string) string { return prefix + rand.Text() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (as *AuthServer) metadata(w http.ResponseWriter, _ *http.Request) {
	u := as.srv.URL
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         as.srv.URL,
		"authorization_endpoint":                         u + "/authorize",
		"token_endpoint":                                 u + "/token",
		"registration_endpoint":                          u + "/register",
		"revocation_endpoint":                            u + "/revoke",
		"response_types_supported":                       []string{"code"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_post"},
		"scopes_supported":                               []string{"mcp", "offline_access"},
		"authorization_response_iss_parameter_supported": true,
	})
}

func (as *AuthServer) register(w http.ResponseWriter, r *http.Request) {
	var md oauthex.ClientRegistrationMetadata
	if err := json.NewDecoder(r.Body).Decode(&md); err != nil || len(md.RedirectURIs) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client_metadata"})
		return
	}
	id, secret := randToken("client-"), randToken("secret-")
	as.mu.Lock()
	as.clients[id] = secret
	as.issued = append(as.issued, secret)
	as.counts[CountRegister]++
	as.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"client_id": id, "client_secret": secret, "redirect_uris": md.RedirectURIs,
		"token_endpoint_auth_method": "client_secret_post",
	})
}

func (as *AuthServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	as.mu.Lock()
	_, known := as.clients[q.Get("client_id")]
	as.counts[CountAuthorize]++
	as.mu.Unlock()
	if !known || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Hostname() != "127.0.0.1" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if d := as.opts.ConsentDelay; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	code := randToken("code-")
	scopes := slices.DeleteFunc(strings.Fields(q.Get("scope")), func(s string) bool { return s == as.opts.Withhold })
	as.mu.Lock()
	as.codes[code] = &grant{clientID: q.Get("client_id"), challenge: q.Get("code_challenge"),
		redirect: q.Get("redirect_uri"), resource: q.Get("resource"), scope: strings.Join(scopes, " ")}
	as.mu.Unlock()
	iss := as.srv.URL
	if as.opts.WrongIssuer != "" {
		iss = as.opts.WrongIssuer
	}
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	rq.Set("iss", iss)
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (as *AuthServer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	f := r.PostForm
	as.mu.Lock()
	defer as.mu.Unlock()
	if secret, ok := as.clients[f.Get("client_id")]; !ok || secret != f.Get("client_secret") {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	var g *grant
	switch f.Get("grant_type") {
	case "authorization_code":
		g = as.codes[f.Get("code")]
		delete(as.codes, f.Get("code")) // codes are single-use
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if g == nil || g.clientID != f.Get("client_id") || g.redirect != f.Get("redirect_uri") ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge || g.resource != f.Get("resource") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
		as.counts[CountCode]++
	case "refresh_token":
		g = as.refresh[f.Get("refresh_token")]
		delete(as.refresh, f.Get("refresh_token")) // rotation
		as.counts[CountRefresh]++
		as.refreshResources = append(as.refreshResources, f.Get("resource"))
		if g == nil || g.clientID != f.Get("client_id") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	at, rt := randToken("at-"), randToken("rt-")
	ng := *g
	ng.expiry = time.Now().Add(as.opts.AccessTTL)
	as.access[at] = &ng
	as.refresh[rt] = &ng
	as.issued = append(as.issued, at, rt)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": at, "token_type": "Bearer", "refresh_token": rt,
		"expires_in": max(1, int(as.opts.AccessTTL.Seconds())), "scope": g.scope,
	})
}

// revoke implements RFC 7009: the client authenticates (in the form or
// with HTTP Basic), and revoking an unknown token is not an error.
func (as *AuthServer) revoke(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	as.mu.Lock()
	defer as.mu.Unlock()
	as.counts[CountRevoke]++
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	if want, ok := as.clients[id]; !ok || want != secret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok := r.PostForm.Get("token")
	as.revoked = append(as.revoked, tok)
	delete(as.refresh, tok)
	delete(as.access, tok)
	w.WriteHeader(http.StatusOK)
}
