// Package remotetest provides test doubles for remote MCP servers, for use
// by tests only: an OAuth 2.1 authorization server ([AuthServer]) and a Go
// SDK MCP server on the streamable HTTP and legacy SSE transports
// ([MCPServer]), optionally protected by bearer tokens from the
// authorization server.
//
// Both listen on the loopback interface only (net/http/httptest) and are
// shut down by the test's cleanup. They record what they saw (endpoint call
// counts, every secret issued, every HTTP request, every tool call) so that
// tests can assert what crossed the wire, and they have a few knobs to make
// them misbehave the way real servers do (short-lived access tokens, a wrong
// issuer in the authorization response, scopes that are never granted,
// forgotten sessions).
//
// A typical use:
//
//	as := remotetest.NewAuthServer(t, nil)
//	srv := remotetest.NewMCPServer(t, as, nil)
//	// point the client under test at srv.URL(); a browser stand-in that
//	// follows the authorization URL's redirects completes the login.
//	if got := as.Count(remotetest.CountAuthorize); got != 1 { ... }
package remotetest
