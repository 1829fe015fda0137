package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"
)

// Status describes the stored authorization of one server. It never holds
// a token.
type Status struct {
	Server string
	// LoggedIn reports that a refresh token is stored, so the next run
	// needs no browser.
	LoggedIn bool
	// ClientID is the registered OAuth client, if any.
	ClientID string
	Issuer   string
	Scopes   []string
	// Expiry is when the access token obtained by the last login or
	// refresh expires (access tokens themselves are never stored). Zero if
	// unknown.
	Expiry time.Time
	// Updated is when the stored state last changed.
	Updated time.Time
}

// probeBody is the initialize request Login sends, unauthenticated, to
// provoke the 401 that starts discovery.
const probeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcp-sandbox","version":"login"}}}`

// Login runs the browser authorization flow now, whatever is stored, and
// stores the result (for `mcp-sandbox login NAME`). It needs no MCP
// session: an unauthenticated initialize (or, for legacy SSE servers, GET)
// provokes the 401 whose challenge starts discovery. A server that does
// not ask for authorization is reported on ErrOut and is not an error.
func Login(ctx context.Context, opts Options) error {
	s, err := opts.settings()
	if err != nil {
		return err
	}
	if s.staticAuth {
		return fmt.Errorf("login %s: the configuration sets an Authorization header; OAuth is not used", s.Server)
	}
	s.Interactive = true
	m := newAuthManager(s)
	req, resp, err := probe(ctx, s)
	if err != nil {
		return fmt.Errorf("login %s: %w", s.Server, err)
	}
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		drain(resp)
		if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
			deleteSession(ctx, s, sid)
		}
		fmt.Fprintf(s.errOut, "mcp-sandbox: server %q did not ask for authorization (HTTP %d); nothing to do.\n", s.Server, resp.StatusCode)
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	lk, err := m.lock(ctx)
	if err != nil {
		resp.Body.Close()
		return fmt.Errorf("login %s: %w", s.Server, err)
	}
	defer lk.release()
	defer resp.Body.Close()
	if err := m.browserLoginLocked(ctx, req, resp); err != nil {
		return fmt.Errorf("login %s: %w", s.Server, err)
	}
	return nil
}

// probe sends an unauthenticated request that an OAuth-protected server
// answers with 401: POST initialize, or for legacy SSE servers a GET.
func probe(ctx context.Context, s *settings) (*http.Request, *http.Response, error) {
	send := func(method string) (*http.Request, *http.Response, error) {
		var body *strings.Reader
		if method == http.MethodPost {
			body = strings.NewReader(probeBody)
		} else {
			body = strings.NewReader("")
		}
		req, err := http.NewRequestWithContext(ctx, method, s.URL, body)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range s.headers {
			req.Header[k] = v
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
		} else {
			req.Header.Set("Accept", "text/event-stream")
		}
		resp, err := s.HTTPClient.Do(req)
		return req, resp, err
	}
	if s.Transport != TransportSSE {
		req, resp, err := send(http.MethodPost)
		if err != nil {
			return nil, nil, err
		}
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
			if s.Transport == TransportAuto {
				drain(resp)
				return send(http.MethodGet)
			}
		}
		return req, resp, nil
	}
	return send(http.MethodGet)
}

func deleteSession(ctx context.Context, s *settings, sid string) {
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.URL, nil)
	if err != nil {
		return
	}
	for k, v := range s.headers {
		req.Header[k] = v
	}
	req.Header.Set("Mcp-Session-Id", sid)
	if resp, err := s.HTTPClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// Logout revokes the stored refresh token at the authorization server's
// revocation endpoint when it advertises one (RFC 7009), then deletes the
// stored token, client registration and metadata. The local items are
// deleted even if revocation fails; the error then says so.
func Logout(ctx context.Context, opts Options) error {
	s, err := opts.settings()
	if err != nil {
		return err
	}
	m := newAuthManager(s)
	m.mu.Lock()
	defer m.mu.Unlock()
	lk, err := m.lock(ctx)
	if err != nil {
		return fmt.Errorf("logout %s: %w", s.Server, err)
	}
	defer lk.release()
	st, err := m.load(ctx)
	if err != nil {
		return fmt.Errorf("logout %s: %w", s.Server, err)
	}
	var revokeErr error
	if st.refresh != "" && st.client != nil {
		revokeErr = m.revoke(ctx, st)
	}
	var errs []error
	for _, kind := range []string{"refresh", "client", "meta"} {
		if err := m.del(ctx, kind); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("logout %s: %w", s.Server, err)
	}
	if revokeErr != nil {
		return fmt.Errorf("logout %s: stored tokens deleted, but revoking the refresh token failed: %w", s.Server, revokeErr)
	}
	return nil
}

// revoke posts the refresh token to the revocation endpoint, stored or
// rediscovered from the issuer's metadata. No endpoint is not an error.
func (m *authManager) revoke(ctx context.Context, st storedState) error {
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	endpoint := st.meta.RevocationEndpoint
	if endpoint == "" && st.meta.Issuer != "" {
		asm, err := auth.GetAuthServerMetadata(ctx, st.meta.Issuer, m.s.HTTPClient)
		if err != nil {
			return fmt.Errorf("fetch authorization server metadata: %w", err)
		}
		if asm != nil {
			endpoint = asm.RevocationEndpoint
		}
	}
	if endpoint == "" {
		m.log.Debug().Str("server", m.s.Server).Msg("authorization server has no revocation endpoint")
		return nil
	}
	form := url.Values{"token": {st.refresh}, "token_type_hint": {"refresh_token"}}
	secret := st.client.ClientSecret
	if m.s.oauth.ClientID != "" && m.s.oauth.ClientID == st.client.ClientID {
		secret = m.s.oauth.ClientSecret
	}
	basic := secret != "" && oauth2.AuthStyle(st.client.AuthStyle) != oauth2.AuthStyleInParams
	if !basic {
		form.Set("client_id", st.client.ClientID)
		if secret != "" {
			form.Set("client_secret", secret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader([]byte(form.Encode())))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(st.client.ClientID), url.QueryEscape(secret))
	}
	resp, err := m.s.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revocation endpoint answered HTTP %d", resp.StatusCode)
	}
	drain(resp)
	return nil
}

// GetStatus reports what is stored for the server, without network I/O.
func GetStatus(ctx context.Context, opts Options) (Status, error) {
	s, err := opts.settings()
	if err != nil {
		return Status{}, err
	}
	m := newAuthManager(s)
	st, err := m.load(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("status %s: %w", s.Server, err)
	}
	status := Status{
		Server:   s.Server,
		LoggedIn: st.refresh != "" && st.client != nil,
		Issuer:   st.meta.Issuer,
		Scopes:   st.meta.Scopes,
		Expiry:   st.meta.Expiry,
		Updated:  st.meta.Updated,
	}
	if st.client != nil {
		status.ClientID = st.client.ClientID
		if status.Issuer == "" {
			status.Issuer = st.client.Issuer
		}
	}
	return status, nil
}
