// Command conformance is the client the official MCP conformance suite runs
// (`conformance client --command "conformance-driver MCP_SANDBOX_BINARY"`): it
// plays an MCP host in front of `mcp-sandbox run`, so the suite's client
// scenarios test mcp-sandbox's remote bridge end to end.
//
// For each scenario it writes a throw-away configuration with one remote
// server at the URL the suite passes last, uses a keychain service of its own
// (a fresh token store), stores pre-registered credentials from
// $MCP_CONFORMANCE_CONTEXT, and starts `mcp-sandbox run` with $BROWSER set to
// this program in browser mode, which follows the authorization URL's
// redirects to the loopback callback as a user's browser would. Then it sends
// initialize, tools/list and tools/call test-tool over stdio, closes stdin and
// waits for mcp-sandbox to exit.
//
//	conformance MCP_SANDBOX_BINARY SERVER_URL
//	conformance --browser URL
package main
