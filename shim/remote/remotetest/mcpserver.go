package remotetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// MCPOptions tunes an [MCPServer]. The zero value (or nil) answers
// streamable HTTP requests with SSE streams and has no secret.
type MCPOptions struct {
	// JSONResponse makes the streamable HTTP endpoint answer POSTs with
	// plain application/json instead of an SSE stream.
	JSONResponse bool
	// StepUpScope, when the server has an [AuthServer], is a scope that
	// tools/call needs beyond "mcp": without it the server answers 403
	// with an insufficient_scope challenge naming "mcp" and this scope.
	// Empty means "mcp" is enough for everything.
	StepUpScope string
	// Secret is the value the "secret" tool returns, standing for a
	// credential the server holds. Empty makes the tool return "".
	Secret string
}

// An MCPServer is a Go SDK MCP server on loopback, serving the streamable
// HTTP transport at /mcp and the legacy HTTP+SSE transport at /sse. With an
// [AuthServer], both require a bearer token it issued with scope "mcp"
// (auth.RequireBearerToken), and the RFC 9728 protected resource metadata
// is served at /.well-known/oauth-protected-resource/mcp.
//
// Its tools are
//
//   - echo {text}: returns text;
//   - secret: returns [MCPOptions.Secret] as text and as structured
//     content {"value": ...};
//   - header {name}: returns the HTTP request header name as received by
//     the server, as text "NAME: VALUE" and as structured content
//     {"name": ..., "value": ...};
//   - delete_thing {id}: a tool a profile would hide; returns "deleted ID";
//   - calls: returns {"calls": [...]}, the names of every tools/call the
//     server received so far, this one included.
//
// Its methods are safe for concurrent use.
type MCPServer struct {
	srv    *httptest.Server
	base   string
	server *mcp.Server
	opts   MCPOptions

	handler atomic.Pointer[http.Handler] // the streamable handler, swapped to forget sessions

	mu       sync.Mutex
	requests []Request
	calls    []string

	streamOpen     chan struct{} // closed when a standalone GET stream is answered
	streamOpenOnce sync.Once
}

// A Request is one HTTP request the MCP endpoint (/mcp or /sse) received,
// before authorization.
type Request struct {
	Method string
	Path   string
	// Header is a copy of the request's header.
	Header http.Header
}

// NewMCPServer starts an MCP server, protected by as unless as is nil; the
// test's cleanup stops it. opts may be nil.
func NewMCPServer(t testing.TB, as *AuthServer, opts *MCPOptions) *MCPServer {
	t.Helper()
	s := &MCPServer{streamOpen: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	s.server = s.newServer()
	s.ResetSessions()
	s.srv = httptest.NewUnstartedServer(nil)
	s.base = "http://" + s.srv.Listener.Addr().String()

	var mcpHandler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*s.handler.Load()).ServeHTTP(w, r)
	})
	var sseHandler http.Handler = mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return s.server }, nil)
	mux := http.NewServeMux()
	if as != nil {
		metadataURL := s.base + "/.well-known/oauth-protected-resource/mcp"
		mux.Handle("GET /.well-known/oauth-protected-resource/mcp", auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
			Resource:             s.URL(),
			AuthorizationServers: []string{as.URL()},
			ScopesSupported:      []string{"mcp"},
		}))
		if step := s.opts.StepUpScope; step != "" {
			mcpHandler = stepUp(mcpHandler, step, metadataURL)
		}
		requireToken := auth.RequireBearerToken(as.Verify, &auth.RequireBearerTokenOptions{
			ResourceMetadataURL: metadataURL,
			Scopes:              []string{"mcp"},
		})
		mcpHandler = requireToken(mcpHandler)
		sseHandler = requireToken(sseHandler)
	}
	mux.Handle("/mcp", s.record(mcpHandler))
	mux.Handle("/sse", s.record(sseHandler))
	s.srv.Config.Handler = mux
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the streamable HTTP endpoint, which is also the protected
// resource's identifier.
func (s *MCPServer) URL() string { return s.base + "/mcp" }

// SSEURL returns the legacy HTTP+SSE endpoint.
func (s *MCPServer) SSEURL() string { return s.base + "/sse" }

// Server returns the SDK server, e.g. to add a tool while clients are
// connected.
func (s *MCPServer) Server() *mcp.Server { return s.server }

// ResetSessions installs a fresh streamable HTTP handler: every existing
// session becomes unknown (404), as after a server restart.
func (s *MCPServer) ResetSessions() {
	var h http.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.server },
		&mcp.StreamableHTTPOptions{JSONResponse: s.opts.JSONResponse, EventStore: mcp.NewMemoryEventStore(nil)})
	s.handler.Store(&h)
}

// SetStreamableHandler replaces the streamable HTTP handler (behind the
// authorization check, if any) with h, e.g. one that fails every request.
// ResetSessions installs a working one again.
func (s *MCPServer) SetStreamableHandler(h http.Handler) { s.handler.Store(&h) }

// Requests returns the HTTP requests received so far, in order.
func (s *MCPServer) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls returns the names of the tools/call requests the server received
// so far, in order, whether or not the tool exists.
func (s *MCPServer) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// StandaloneStreamOpen is closed once the server has answered a client's
// standalone GET stream with 200: from then on, messages the server sends
// outside any request reach that stream.
func (s *MCPServer) StandaloneStreamOpen() <-chan struct{} { return s.streamOpen }

func (s *MCPServer) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()})
		s.mu.Unlock()
		if r.Method == http.MethodGet && r.URL.Path == "/mcp" {
			w = &streamWatcher{ResponseWriter: w, opened: func() { s.streamOpenOnce.Do(func() { close(s.streamOpen) }) }}
		}
		h.ServeHTTP(w, r)
	})
}

// streamWatcher reports a GET stream answered with 200. The SDK's handler
// has registered the stream by the time it writes that status.
type streamWatcher struct {
	http.ResponseWriter
	opened func()
}

func (w *streamWatcher) WriteHeader(code int) {
	w.ResponseWriter.WriteHeader(code)
	if code == http.StatusOK {
		w.opened()
	}
}

// Unwrap lets http.ResponseController reach the Flusher beneath.
func (w *streamWatcher) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// stepUp answers tools/call with 403 insufficient_scope unless the token
// carries scope.
func stepUp(next http.Handler, scope, metadataURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if info := auth.TokenInfoFromContext(r.Context()); bytes.Contains(body, []byte(`"tools/call"`)) &&
			info != nil && !slices.Contains(info.Scopes, scope) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope="mcp %s", resource_metadata="%s"`,
				scope, metadataURL))
			http.Error(w, "insufficient scope", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type echoArgs struct {
	Text string `json:"text"`
}

type headerArgs struct {
	Name string `json:"name" jsonschema:"the HTTP header to return"`
}

type headerOut struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type secretOut struct {
	Value string `json:"value"`
}

type deleteArgs struct {
	ID string `json:"id"`
}

type callsOut struct {
	Calls []string `json:"calls"`
}

func textResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

// newServer builds the SDK server with the tools listed on MCPServer and a
// middleware recording every tools/call before it is dispatched.
func (s *MCPServer) newServer() *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "remote-test", Version: "1.0.0"}, nil)
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok && method == "tools/call" {
				s.mu.Lock()
				s.calls = append(s.calls, p.Name)
				s.mu.Unlock()
			}
			return next(ctx, method, req)
		}
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "echoes text"},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
			return textResult(in.Text), nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "secret", Description: "returns the credential the server holds"},
		func(context.Context, *mcp.CallToolRequest, any) (*mcp.CallToolResult, secretOut, error) {
			return textResult("secret: " + s.opts.Secret), secretOut{s.opts.Secret}, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "header", Description: "returns an HTTP request header as the server received it"},
		func(_ context.Context, req *mcp.CallToolRequest, in headerArgs) (*mcp.CallToolResult, headerOut, error) {
			var v string
			if req.Extra != nil {
				v = req.Extra.Header.Get(in.Name)
			}
			return textResult(in.Name + ": " + v), headerOut{in.Name, v}, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "delete_thing", Description: "deletes a thing"},
		func(_ context.Context, _ *mcp.CallToolRequest, in deleteArgs) (*mcp.CallToolResult, any, error) {
			return textResult("deleted " + in.ID), nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "calls", Description: "lists the tool calls the server received"},
		func(context.Context, *mcp.CallToolRequest, any) (*mcp.CallToolResult, callsOut, error) {
			calls := s.Calls()
			return textResult(fmt.Sprint(calls)), callsOut{calls}, nil
		})
	return srv
}
