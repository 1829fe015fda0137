package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

const (
	// refreshMargin is how long before its expiry an access token is
	// refreshed, so that it does not expire in flight.
	refreshMargin = 30 * time.Second
	// storeTimeout bounds each call to the secret store; keychain prompts
	// or a hung D-Bus must not hang the bridge.
	storeTimeout = 5 * time.Second
	// tokenTimeout bounds a refresh or revocation request.
	tokenTimeout = 30 * time.Second
)

// clientRecord is the stored client registration (item oauth.<server>.client).
type clientRecord struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	// AuthStyle is the oauth2.AuthStyle the token endpoint expects.
	AuthStyle int    `json:"auth_style"`
	TokenURL  string `json:"token_url"`
	AuthURL   string `json:"auth_url,omitempty"`
	// RedirectURI is the loopback redirect the registration was made for.
	RedirectURI string `json:"redirect_uri,omitempty"`
	// Issuer is the authorization server the client is registered with.
	Issuer string `json:"issuer,omitempty"`
	// Dynamic marks a dynamic registration the bridge made itself (and may
	// reuse), as opposed to configured or metadata-document clients.
	Dynamic bool `json:"dynamic,omitempty"`
}

// metaRecord is token metadata (item oauth.<server>.meta); never a token.
type metaRecord struct {
	Issuer             string    `json:"issuer,omitempty"`
	Resource           string    `json:"resource,omitempty"`
	Scopes             []string  `json:"scopes,omitempty"`
	Expiry             time.Time `json:"expiry,omitzero"`
	RevocationEndpoint string    `json:"revocation_endpoint,omitempty"`
	Updated            time.Time `json:"updated,omitzero"`
}

// storedState is everything persisted for one server.
type storedState struct {
	refresh string
	client  *clientRecord
	meta    metaRecord
}

// authManager owns the tokens of one server within one process. Its mutex
// serializes token work in the process; a file lock serializes it across
// processes.
type authManager struct {
	s     *settings
	log   zerolog.Logger
	store SecretStore

	mu          sync.Mutex
	loaded      bool          // the store has been read once
	tok         *oauth2.Token // current token; the access token lives only here
	obtained    time.Time     // when tok was issued, on the settings' clock
	expires     time.Time     // when tok expires, on the same clock; zero if never
	usedRefresh string        // refresh token tok came with
	granted     []string      // scopes granted in this process (for step-up)
}

// tokenSecret names OAuth tokens in redaction markers:
// "[redacted:oauth-token]".
const tokenSecret = "oauth-token"

// remember feeds tok's access and refresh tokens to the redactor, so that a
// server echoing the bearer token it received (by mistake, or to get it in
// front of the model) cannot show it to the host, and no log line carries
// it.
func (m *authManager) remember(tok *oauth2.Token) {
	var add []redact.Secret
	for _, t := range []string{tok.AccessToken, tok.RefreshToken} {
		if len(t) < redact.MinLength { // too short to be a real token; replacing it would mangle messages
			continue
		}
		add = append(add, redact.Secret{Name: tokenSecret, Value: t})
	}
	if err := m.s.redactor.Add(add...); err != nil {
		m.log.Debug().Err(err).Msg("token not added to the redactor")
	}
}

func newAuthManager(s *settings) *authManager {
	m := &authManager{s: s, log: s.Logger, store: s.Secrets}
	if m.store == nil {
		m.store = &memStore{items: map[string]string{}}
	}
	return m
}

func (m *authManager) item(kind string) string { return "oauth." + m.s.Server + "." + kind }

func (m *authManager) absent(err error) bool {
	if m.s.NotFound == nil || errors.Is(err, errNotStored) {
		return true
	}
	return errors.Is(err, m.s.NotFound)
}

func (m *authManager) get(ctx context.Context, kind string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	v, err := m.store.Get(ctx, m.item(kind))
	if err != nil {
		if m.absent(err) {
			return "", nil
		}
		return "", fmt.Errorf("read %s from the secret store: %w", m.item(kind), err)
	}
	return v, nil
}

func (m *authManager) set(ctx context.Context, kind, value string) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := m.store.Set(ctx, m.item(kind), value); err != nil {
		return fmt.Errorf("write %s to the secret store: %w", m.item(kind), err)
	}
	return nil
}

func (m *authManager) del(ctx context.Context, kind string) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := m.store.Delete(ctx, m.item(kind)); err != nil && !m.absent(err) {
		return fmt.Errorf("delete %s from the secret store: %w", m.item(kind), err)
	}
	return nil
}

// load reads the persisted state; missing items leave zero values.
func (m *authManager) load(ctx context.Context) (storedState, error) {
	var st storedState
	var err error
	if st.refresh, err = m.get(ctx, "refresh"); err != nil {
		return st, err
	}
	raw, err := m.get(ctx, "client")
	if err != nil {
		return st, err
	}
	if raw != "" {
		var c clientRecord
		if json.Unmarshal([]byte(raw), &c) == nil && c.ClientID != "" && c.TokenURL != "" {
			st.client = &c
		}
	}
	raw, err = m.get(ctx, "meta")
	if err != nil {
		return st, err
	}
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &st.meta)
	}
	return st, nil
}

// lock takes the cross-process lock for this server.
func (m *authManager) lock(ctx context.Context) (*fileLock, error) {
	return acquireLock(ctx, m.s.LockDir, m.s.Server, func() {
		fmt.Fprintf(m.s.errOut, "mcp-sandbox: waiting for another mcp-sandbox process handling the login for %q\n", m.s.Server)
	})
}

// current returns the access token if it is fresh, without any I/O.
func (m *authManager) current() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fresh() {
		return m.tok.AccessToken
	}
	return ""
}

// fresh reports whether the access token is good for more than
// refreshMargin, or half its lifetime if that is shorter.
func (m *authManager) fresh() bool {
	margin := refreshMargin
	if m.tok != nil && !m.expires.IsZero() && !m.obtained.IsZero() {
		margin = min(margin, m.expires.Sub(m.obtained)/2)
	}
	return m.validFor(margin)
}

// usable reports whether the access token has not expired yet. A token
// issued with a lifetime below refreshMargin is used once after it is
// obtained, then refreshed before each use.
func (m *authManager) usable() bool {
	return m.validFor(time.Second)
}

func (m *authManager) validFor(d time.Duration) bool {
	return m.tok != nil && m.tok.AccessToken != "" &&
		(m.expires.IsZero() || m.expires.Sub(m.s.now()) > d)
}

// setToken makes tok the current token. Its lifetime is read once, from the
// expiry the oauth2 package computed on the wall clock, and from then on is
// judged on the settings' clock.
func (m *authManager) setToken(tok *oauth2.Token) {
	m.tok, m.usedRefresh = tok, tok.RefreshToken
	m.obtained, m.expires = m.s.now(), time.Time{}
	if !tok.Expiry.IsZero() {
		m.expires = m.obtained.Add(time.Until(tok.Expiry))
	}
}

// accessToken returns the access token to send, refreshing it when it is
// about to expire, or "" when there is none (the server's 401 then starts
// the authorization flow).
func (m *authManager) accessToken(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fresh() {
		return m.tok.AccessToken, nil
	}
	if m.loaded && m.usedRefresh == "" {
		return "", nil
	}
	m.loaded = true
	if err := m.refreshFromStoreLocked(ctx); err != nil {
		return "", err
	}
	if m.usable() {
		return m.tok.AccessToken, nil
	}
	return "", nil
}

// refreshFromStoreLocked reloads the stored refresh token under the file
// lock (another process may have rotated it) and exchanges it.
func (m *authManager) refreshFromStoreLocked(ctx context.Context) error {
	lk, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer lk.release()
	st, err := m.load(ctx)
	if err != nil {
		// A broken store must not break servers that need no login.
		m.log.Warn().Err(err).Str("server", m.s.Server).Msg("cannot read stored OAuth state")
		return nil
	}
	_, err = m.tryRefreshLocked(ctx, st)
	return err
}

// tryRefreshLocked exchanges st's refresh token. It reports false (and no
// error) when there is nothing to refresh or the token was rejected, in
// which case the stale token is deleted.
func (m *authManager) tryRefreshLocked(ctx context.Context, st storedState) (bool, error) {
	m.tok, m.usedRefresh = nil, ""
	if st.refresh == "" || st.client == nil {
		return false, nil
	}
	tok, err := m.refresh(ctx, st)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "invalid_client" ||
			re.ErrorCode == "unauthorized_client" || re.Response.StatusCode == http.StatusBadRequest ||
			re.Response.StatusCode == http.StatusUnauthorized) {
			m.log.Info().Str("server", m.s.Server).Str("error", re.ErrorCode).Msg("stored refresh token rejected; a new login is needed")
			if err := m.del(ctx, "refresh"); err != nil {
				m.log.Warn().Err(err).Msg("cannot delete the rejected refresh token")
			}
			return false, nil
		}
		return false, fmt.Errorf("refresh the access token: %w", safeTokenError(err))
	}
	st.meta.Expiry = tok.Expiry
	st.meta.Updated = time.Now().UTC()
	if s := scopesOf(tok, nil); s != nil {
		st.meta.Scopes = s
	}
	if tok.RefreshToken != st.refresh {
		if err := m.set(ctx, "refresh", tok.RefreshToken); err != nil {
			return false, err
		}
	}
	m.saveMeta(ctx, st.meta)
	m.setToken(tok)
	m.granted = st.meta.Scopes
	m.remember(tok)
	m.log.Debug().Str("server", m.s.Server).Time("expiry", tok.Expiry).Msg("access token refreshed")
	return true, nil
}

func (m *authManager) saveMeta(ctx context.Context, meta metaRecord) {
	b, _ := json.Marshal(meta)
	if err := m.set(ctx, "meta", string(b)); err != nil {
		m.log.Warn().Err(err).Msg("cannot store token metadata")
	}
}

// refresh runs the refresh_token grant, adding the RFC 8707 resource
// parameter that golang.org/x/oauth2 does not send by itself.
func (m *authManager) refresh(ctx context.Context, st storedState) (*oauth2.Token, error) {
	c := st.client
	conf := &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: c.AuthURL, TokenURL: c.TokenURL, AuthStyle: oauth2.AuthStyle(c.AuthStyle)},
	}
	if m.s.oauth.ClientID != "" && m.s.oauth.ClientID == c.ClientID {
		conf.ClientSecret = m.s.oauth.ClientSecret // the configured secret wins
	}
	hc := *m.s.HTTPClient
	hc.Transport = &resourceParam{base: transportOf(m.s.HTTPClient), tokenURL: c.TokenURL, resource: st.meta.Resource}
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &hc)
	return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: st.refresh}).Token()
}

// authorize handles a 401, or a 403 with insufficient_scope, for a request
// that carried the access token sent ("" for none). round counts previous
// authorizations of the same request. On nil the request is retried.
func (m *authManager) authorize(ctx context.Context, req *http.Request, resp *http.Response, sent string, round int) error {
	defer resp.Body.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loaded = true
	if resp.StatusCode == http.StatusUnauthorized && m.usable() && m.tok.AccessToken != sent {
		return nil // another request of this process already got a new token
	}
	lk, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer lk.release()
	if resp.StatusCode == http.StatusUnauthorized {
		st, err := m.load(ctx)
		if err != nil {
			return err
		}
		// Refresh when another process stored a new refresh token while we
		// waited for the lock, or once per request when the server refused
		// a token we still believed valid.
		if st.refresh != "" && (st.refresh != m.usedRefresh || round == 0) {
			ok, err := m.tryRefreshLocked(ctx, st)
			if err != nil || ok {
				return err
			}
		}
	}
	if !m.s.Interactive {
		return fmt.Errorf("%w for %q: run `mcp-sandbox login %s` in a terminal", ErrLoginRequired, m.s.Server, m.s.Server)
	}
	return m.browserLoginLocked(ctx, req, resp)
}

// flowState collects what one browser flow learns that the SDK's handler
// does not hand back: the issuer, the revocation endpoint, the resource, and
// the final oauth2 configuration and token.
type flowState struct {
	mu         sync.Mutex
	issuer     string
	revocation string
	resource   string
	fetched    bool
	conf       *oauth2.Config
	tok        *oauth2.Token
}

// browserLoginLocked runs the authorization code flow with the SDK's
// handler and persists the result. m.mu and the file lock are held.
func (m *authManager) browserLoginLocked(ctx context.Context, req *http.Request, resp *http.Response) error {
	st, err := m.load(ctx)
	if err != nil {
		return err
	}
	reuse := m.s.oauth.ClientID == "" && st.client != nil && st.client.Dynamic && st.client.RedirectURI != ""
	port := m.s.oauth.RedirectPort
	if port == 0 && reuse {
		port = portOf(st.client.RedirectURI)
	}
	cb, err := listenCallback(port, m.s.errOut)
	if err != nil {
		return err
	}
	defer cb.close()
	if reuse && cb.redirectURI != st.client.RedirectURI {
		reuse = false // a dynamic registration is bound to its redirect URI
	}

	run := func(reuse bool, resp *http.Response) (*flowState, error) {
		fl := &flowState{}
		cfg := m.handlerConfig(cb, fl)
		if reuse {
			cfg.PreregisteredClient = &oauthex.ClientCredentials{ClientID: st.client.ClientID, Issuer: st.client.Issuer}
			if st.client.ClientSecret != "" {
				cfg.PreregisteredClient.ClientSecretAuth = &oauthex.ClientSecretAuth{ClientSecret: st.client.ClientSecret}
			}
		}
		h, err := auth.NewAuthorizationCodeHandler(cfg)
		if err != nil {
			return fl, fmt.Errorf("configure OAuth: %w", err)
		}
		return fl, h.Authorize(ctx, req, resp)
	}
	// The handler consumes the response; keep what a second attempt needs.
	retryResp := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone(), Body: http.NoBody, Request: req}
	fl, err := run(reuse, resp)
	if err != nil && reuse && !fl.fetched && ctx.Err() == nil {
		// The stored registration no longer fits (e.g. the server moved to
		// another authorization server): register anew.
		m.log.Info().Err(err).Str("server", m.s.Server).Msg("stored client registration unusable; registering again")
		fl, err = run(false, retryResp)
	}
	if err != nil {
		return fmt.Errorf("authorize %q: %w", m.s.Server, safeTokenError(err))
	}
	if fl.tok == nil || fl.conf == nil {
		return fmt.Errorf("authorize %q: the authorization server issued no token", m.s.Server)
	}
	return m.adoptLocked(ctx, cb, fl)
}

// handlerConfig builds the SDK handler configuration for one flow.
func (m *authManager) handlerConfig(cb *callbackServer, fl *flowState) *auth.AuthorizationCodeHandlerConfig {
	hc := *m.s.HTTPClient
	hc.Transport = &metadataRecorder{base: transportOf(m.s.HTTPClient), fl: fl}
	granted := slices.Clone(m.granted)
	cfg := &auth.AuthorizationCodeHandlerConfig{
		RedirectURL:              cb.redirectURI,
		AuthorizationCodeFetcher: m.fetcher(cb, fl),
		RequestRefreshToken:      true,
		Client:                   &hc,
		ScopeFilter: func(discovered []string) []string {
			want := discovered
			if len(m.s.oauth.Scopes) > 0 && len(granted) == 0 {
				want = m.s.oauth.Scopes
			} else if len(m.s.oauth.Scopes) > 0 {
				want = union(m.s.oauth.Scopes, discovered)
			}
			return union(granted, want)
		},
		NewTokenSource: func(_ context.Context, conf *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
			fl.mu.Lock()
			fl.conf, fl.tok = conf, tok
			fl.mu.Unlock()
			return oauth2.StaticTokenSource(tok), nil
		},
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				RedirectURIs:  []string{cb.redirectURI},
				ClientName:    "mcp-sandbox",
				GrantTypes:    []string{"authorization_code", "refresh_token"},
				ResponseTypes: []string{"code"},
			},
		},
	}
	if u := m.s.oauth.ClientMetadataURL; u != "" {
		cfg.ClientIDMetadataDocumentConfig = &auth.ClientIDMetadataDocumentConfig{URL: u}
	}
	if id := m.s.oauth.ClientID; id != "" {
		cfg.PreregisteredClient = &oauthex.ClientCredentials{ClientID: id}
		if sec := m.s.oauth.ClientSecret; sec != "" {
			cfg.PreregisteredClient.ClientSecretAuth = &oauthex.ClientSecretAuth{ClientSecret: sec}
		}
	}
	return cfg
}

// fetcher shows the authorization URL, opens the browser and waits for the
// loopback redirect.
func (m *authManager) fetcher(cb *callbackServer, fl *flowState) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		fl.mu.Lock()
		fl.fetched = true
		fl.mu.Unlock()
		if err := checkBrowserURL(args.URL); err != nil {
			return nil, err
		}
		u, _ := url.Parse(args.URL)
		cb.expect(u.Query().Get("state"))
		fl.mu.Lock()
		fl.resource = u.Query().Get("resource")
		fl.mu.Unlock()
		fmt.Fprintf(m.s.errOut, "\nmcp-sandbox: server %q needs authorization. Open this URL in your browser:\n\n    %s\n\n", m.s.Server, args.URL)
		if err := m.s.Browser.Open(ctx, args.URL); err != nil {
			fmt.Fprintf(m.s.errOut, "mcp-sandbox: could not open a browser (%v); open the URL above yourself.\n", err)
		}
		wctx, cancel := context.WithTimeout(ctx, m.s.LoginTimeout)
		defer cancel()
		res, err := cb.wait(wctx)
		if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("no browser login for %q within %s; run `mcp-sandbox login %s` to try again", m.s.Server, m.s.LoginTimeout, m.s.Server)
		}
		return res, err
	}
}

// adoptLocked persists and installs the result of a browser flow.
func (m *authManager) adoptLocked(ctx context.Context, cb *callbackServer, fl *flowState) error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	conf, tok := fl.conf, fl.tok
	client := clientRecord{
		ClientID:     conf.ClientID,
		ClientSecret: conf.ClientSecret,
		AuthStyle:    int(conf.Endpoint.AuthStyle),
		TokenURL:     conf.Endpoint.TokenURL,
		AuthURL:      conf.Endpoint.AuthURL,
		RedirectURI:  cb.redirectURI,
		Issuer:       fl.issuer,
		Dynamic:      conf.ClientID != m.s.oauth.ClientID && conf.ClientID != m.s.oauth.ClientMetadataURL,
	}
	meta := metaRecord{
		Issuer:             fl.issuer,
		Resource:           fl.resource,
		Scopes:             scopesOf(tok, conf.Scopes),
		Expiry:             tok.Expiry,
		RevocationEndpoint: fl.revocation,
		Updated:            time.Now().UTC(),
	}
	cj, _ := json.Marshal(client)
	if err := m.set(ctx, "client", string(cj)); err != nil {
		return err
	}
	m.saveMeta(ctx, meta)
	if tok.RefreshToken != "" {
		if err := m.set(ctx, "refresh", tok.RefreshToken); err != nil {
			return err
		}
	} else if err := m.del(ctx, "refresh"); err != nil {
		return err
	}
	m.setToken(tok)
	m.granted = meta.Scopes
	m.remember(tok)
	fmt.Fprintf(m.s.errOut, "mcp-sandbox: authorized %q.\n", m.s.Server)
	m.log.Info().Str("server", m.s.Server).Str("issuer", meta.Issuer).Strs("scopes", meta.Scopes).
		Bool("refresh_token", tok.RefreshToken != "").Msg("OAuth login complete")
	return nil
}

// scopesOf returns the scopes a token response granted, else requested.
func scopesOf(tok *oauth2.Token, requested []string) []string {
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		return strings.Fields(s)
	}
	return requested
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func portOf(rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// tokenError hides the response body that oauth2.RetrieveError prints.
type tokenError struct{ re *oauth2.RetrieveError }

func (e tokenError) Error() string {
	status := 0
	if e.re.Response != nil {
		status = e.re.Response.StatusCode
	}
	msg := fmt.Sprintf("token endpoint answered HTTP %d", status)
	if e.re.ErrorCode != "" {
		msg += " " + e.re.ErrorCode
	}
	if e.re.ErrorDescription != "" {
		msg += ": " + truncate(e.re.ErrorDescription, 200)
	}
	return msg
}

func (e tokenError) Unwrap() error { return e.re }

// safeTokenError replaces an error chain holding an oauth2.RetrieveError,
// whose message includes the raw response body, by a summary.
func safeTokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return tokenError{re}
	}
	return err
}

// insufficientScope reports whether a 403 carries a Bearer
// error="insufficient_scope" challenge (step-up authorization).
func insufficientScope(h http.Header) bool {
	cs, err := oauthex.ParseWWWAuthenticate(h.Values("WWW-Authenticate"))
	if err != nil {
		return false
	}
	for _, c := range cs {
		if strings.EqualFold(c.Scheme, "bearer") && c.Params["error"] == "insufficient_scope" {
			return true
		}
	}
	return false
}

// resourceParam adds resource=... to refresh_token grants sent to tokenURL.
type resourceParam struct {
	base     http.RoundTripper
	tokenURL string
	resource string
}

func (t *resourceParam) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.resource == "" || req.Method != http.MethodPost || req.Body == nil || !sameEndpoint(req.URL, t.tokenURL) {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("grant_type") == "refresh_token" && !form.Has("resource") {
		form.Set("resource", t.resource)
		body = []byte(form.Encode())
	}
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r2.ContentLength = int64(len(body))
	return t.base.RoundTrip(r2)
}

func sameEndpoint(u *url.URL, raw string) bool {
	v, err := url.Parse(raw)
	return err == nil && u.Scheme == v.Scheme && u.Host == v.Host && u.Path == v.Path
}

// metadataRecorder notes the issuer and revocation endpoint from the
// authorization server metadata the SDK fetches during a flow.
type metadataRecorder struct {
	base http.RoundTripper
	fl   *flowState
}

func (t *metadataRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusOK ||
		!(strings.Contains(req.URL.Path, "/.well-known/oauth-authorization-server") ||
			strings.Contains(req.URL.Path, "/.well-known/openid-configuration")) {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var md struct {
		Issuer             string `json:"issuer"`
		RevocationEndpoint string `json:"revocation_endpoint"`
	}
	if json.Unmarshal(body, &md) == nil && md.Issuer != "" {
		t.fl.mu.Lock()
		t.fl.issuer, t.fl.revocation = md.Issuer, md.RevocationEndpoint
		t.fl.mu.Unlock()
	}
	return resp, nil
}

// memStore keeps OAuth state in memory when no SecretStore is configured.
type memStore struct {
	mu    sync.Mutex
	items map[string]string
}

var errNotStored = errors.New("not stored")

func (s *memStore) Get(_ context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.items[name]
	if !ok {
		return "", errNotStored
	}
	return v, nil
}

func (s *memStore) Set(_ context.Context, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[name] = value
	return nil
}

func (s *memStore) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, name)
	return nil
}
