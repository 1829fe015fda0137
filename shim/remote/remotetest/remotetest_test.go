package remotetest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// postForm posts form to the server's path and decodes the JSON answer.
func postForm(t *testing.T, base, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// authorizeCode registers a client and runs the authorization endpoint,
// returning the client, the code and the redirect URI.
func authorizeCode(t *testing.T, as *AuthServer, verifier string) (id, secret, code, redirect string) {
	t.Helper()
	redirect = "http://127.0.0.1:1/callback"
	resp, err := http.Post(as.URL()+"/register", "application/json", strings.NewReader(`{"redirect_uris":["`+redirect+`"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	err = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {reg.ID}, "response_type": {"code"}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "redirect_uri": {redirect},
		"state": {"st"}, "scope": {"mcp"}, "resource": {"http://r/mcp"}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(as.URL() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := loc.Query().Get("iss"); got != as.URL() {
		t.Errorf("iss = %q, want %q", got, as.URL())
	}
	if got := loc.Query().Get("state"); got != "st" {
		t.Errorf("state = %q, want st", got)
	}
	return reg.ID, reg.Secret, loc.Query().Get("code"), redirect
}

func TestAuthServerTokenEndpoint(t *testing.T) {
	const verifier = "a-verifier-that-is-long-enough-for-pkce-0123456789"
	tests := []struct {
		name       string
		verifier   string
		resource   string
		wantStatus int
	}{
		{"valid", verifier, "http://r/mcp", http.StatusOK},
		{"wrong PKCE verifier", "another-verifier-that-is-long-enough-0123456789", "http://r/mcp", http.StatusBadRequest},
		{"wrong resource", verifier, "http://other/mcp", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := NewAuthServer(t, nil)
			id, secret, code, redirect := authorizeCode(t, as, verifier)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {tt.verifier},
				"redirect_uri": {redirect}, "client_id": {id}, "client_secret": {secret}, "resource": {tt.resource}}
			status, body := postForm(t, as.URL(), "/token", form)
			if status != tt.wantStatus {
				t.Fatalf("token = %d %v, want %d", status, body, tt.wantStatus)
			}
			if status != http.StatusOK {
				return
			}
			// The code is single-use.
			if status, _ := postForm(t, as.URL(), "/token", form); status != http.StatusBadRequest {
				t.Errorf("second exchange of the code = %d, want 400", status)
			}
			at, rt := body["access_token"].(string), body["refresh_token"].(string)
			if info, err := as.Verify(context.Background(), at, nil); err != nil || !slices.Equal(info.Scopes, []string{"mcp"}) {
				t.Errorf("Verify(access token) = %+v, %v", info, err)
			}
			// Refresh tokens rotate: the old one is spent.
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {id}, "client_secret": {secret}}
			if status, _ := postForm(t, as.URL(), "/token", refresh); status != http.StatusOK {
				t.Errorf("refresh = %d, want 200", status)
			}
			if status, _ := postForm(t, as.URL(), "/token", refresh); status != http.StatusBadRequest {
				t.Errorf("refresh with the rotated-out token = %d, want 400", status)
			}
			// Revocation needs the client's credentials.
			if status, _ := postForm(t, as.URL(), "/revoke", url.Values{"token": {at}, "client_id": {id}}); status != http.StatusUnauthorized {
				t.Errorf("revoke without the client secret = %d, want 401", status)
			}
			if status, _ := postForm(t, as.URL(), "/revoke", url.Values{"token": {at}, "client_id": {id}, "client_secret": {secret}}); status != http.StatusOK {
				t.Errorf("revoke = %d, want 200", status)
			}
			if _, err := as.Verify(context.Background(), at, nil); err == nil {
				t.Error("a revoked access token still verifies")
			}
			if got, want := as.Count(CountRefresh), 2; got != want {
				t.Errorf("Count(CountRefresh) = %d, want %d", got, want)
			}
			if diff := cmp.Diff(as.Revoked(), []string{at}); diff != "" {
				t.Errorf("Revoked() (-got +want):\n%s", diff)
			}
			if n := len(as.Issued()); n != 5 { // client secret, 2 × (access, refresh)
				t.Errorf("Issued() has %d secrets, want 5", n)
			}
		})
	}
}

func TestMCPServerTools(t *testing.T) {
	as := NewAuthServer(t, nil)
	srv := NewMCPServer(t, as, &MCPOptions{Secret: "s3cret"})
	ctx := context.Background()

	// Without a token the server challenges.
	resp, err := http.Post(srv.URL(), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
		t.Fatalf("unauthenticated POST = %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	token := as.IssueAccessToken("mcp")
	client := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL(), HTTPClient: &http.Client{
		Transport: headerTransport{"Authorization": "Bearer " + token, "X-Api-Key": "k-123"},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	call := func(name string, args map[string]any) *mcp.CallToolResult {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("call %s: %v", name, err)
		}
		return res
	}
	tests := []struct {
		name           string
		args           map[string]any
		wantText       string
		wantStructured any
	}{
		{"echo", map[string]any{"text": "hi"}, "hi", nil},
		{"secret", nil, "secret: s3cret", map[string]any{"value": "s3cret"}},
		{"header", map[string]any{"name": "X-Api-Key"}, "X-Api-Key: k-123", map[string]any{"name": "X-Api-Key", "value": "k-123"}},
		{"delete_thing", map[string]any{"id": "7"}, "deleted 7", nil},
	}
	for _, tt := range tests {
		res := call(tt.name, tt.args)
		if got := res.Content[0].(*mcp.TextContent).Text; got != tt.wantText {
			t.Errorf("%s text = %q, want %q", tt.name, got, tt.wantText)
		}
		if diff := cmp.Diff(res.StructuredContent, tt.wantStructured); diff != "" {
			t.Errorf("%s structured content (-got +want):\n%s", tt.name, diff)
		}
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "no_such_tool"}); err == nil {
		t.Error("calling an unknown tool succeeded")
	}
	want := []string{"echo", "secret", "header", "delete_thing", "no_such_tool", "calls"}
	if diff := cmp.Diff(call("calls", nil).StructuredContent, map[string]any{"calls": toAny(want)}); diff != "" {
		t.Errorf("calls (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(srv.Calls(), want); diff != "" {
		t.Errorf("Calls() (-got +want):\n%s", diff)
	}
	reqs := srv.Requests()
	if len(reqs) < 2 || reqs[0].Header.Get("Authorization") != "" || reqs[1].Header.Get("X-Api-Key") != "k-123" {
		t.Errorf("Requests() did not record the requests' headers: %+v", reqs)
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// headerTransport adds fixed headers to every request.
type headerTransport map[string]string

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(req)
}
