// Package remote is the remote bridge of mcp-sandbox: it carries raw
// JSON-RPC messages between the relay and a remote MCP server over the
// streamable HTTP transport (with the legacy HTTP+SSE transport as a
// fallback), and runs the whole OAuth 2.1 authorization flow on the user's
// behalf.
//
// The package owns
//
//   - transport choice ("auto" tries streamable HTTP and falls back to legacy
//     SSE on 400/404/405, as the MCP specification's backwards-compatibility
//     section describes),
//   - the streamable HTTP session: Mcp-Session-Id, MCP-Protocol-Version
//     (learned from the relayed initialize result), the standalone GET stream
//     for server-initiated messages, SSE resumption with Last-Event-ID and
//     retry, and a single re-initialization when the server forgets the
//     session (404),
//   - OAuth: discovery, client registration, PKCE and token exchange are done
//     by the Go SDK's auth package; this package adds the browser seam, the
//     loopback redirect listener, refresh with the RFC 8707 resource
//     parameter, and persistence of the refresh token and client
//     registration in a [SecretStore] (the OS keychain in production),
//     serialized across processes by a file lock.
//
// Request ids are remapped: the remote server only ever sees small integer
// ids chosen by the bridge, and each response gets back the exact raw id
// bytes the host used (servers commonly decode ids as float64, which would
// corrupt ids above 2^53). notifications/cancelled is rewritten to match.
//
// Access tokens live in memory only. No token, refresh token or client secret
// is ever logged, written to ErrOut or put into an error message, and the
// only Authorization header the bridge sends is its own (or a static one the
// configuration names explicitly); nothing from the MCP host is forwarded as
// a credential. Every token the bridge holds is added to the Redactor of
// Options (one shared with the relay and the logs), so should the server echo
// the bearer token it received, it becomes [redacted:oauth-token] in the
// messages the bridge hands to the relay, in any encoding the redactor knows,
// and inside JSON strings only.
//
// Files by topic: conn.go is the Conn (Dial, ReadMessage, WriteMessage,
// Close) and hands each message to a transport (transport.go: the small
// interface, the choice on the first message, the HTTP helpers both
// transports share); streamable.go is streamable HTTP with its session,
// resumption and re-initialization; sse.go is the legacy HTTP+SSE
// transport; event.go parses text/event-stream; remap.go is id remapping
// and the routing of what the server sends, apart from both transports;
// jsonrpc.go reads envelopes with the scanner the relay shares
// (shim/internal/envelope).
//
// A typical use, by the relay:
//
//	conn, err := remote.Dial(ctx, remote.Options{
//		Server:      "github",
//		URL:         "https://api.example.com/mcp",
//		Secrets:     store,
//		ErrOut:      os.Stderr,
//		Logger:      log,
//		Interactive: true,
//	})
//	if err != nil {
//		return err
//	}
//	defer conn.Close()
//	// conn.WriteMessage(hostMessage); msg, err := conn.ReadMessage()
package remote
