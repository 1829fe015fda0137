// Package integration holds the end-to-end tests of mcp-sandbox: they build
// the real binary and drive it exactly as an MCP host does (the Go SDK client
// over mcp.CommandTransport, the TypeScript SDK client, the official
// conformance suite), against a real Docker engine and a real OS keychain.
//
// The tests run under plain `go test ./...`. Without a Docker engine or a
// keychain they skip with a message saying so; with
// MCP_SANDBOX_REQUIRE_DOCKER=1 and MCP_SANDBOX_REQUIRE_KEYCHAIN=1 (as .ci/run
// sets them) they fail instead, so CI never skips them silently.
package integration
