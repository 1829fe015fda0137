// Package shim is the message relay between an MCP host and an MCP server.
//
// The host speaks newline-delimited JSON-RPC on our stdin and stdout; the
// server is reached through an [Upstream]: a container's attached stdio
// (package launcher, through [ProcessUpstream]) or a remote server over HTTP
// (package shim/remote). The methods the profile governs are one table
// (methods.go); what a reload may change is one [Settings] value swapped
// with [Relay.Apply]. A [Relay] sits
// between the two and passes every message through, byte for byte, except
// where mcp-sandbox has to act:
//
//   - tools/call, prompts/get, resources/read, resources/subscribe and
//     resources/unsubscribe for something the profile hides never reach the
//     server; the host gets a JSON-RPC error (-32602) naming the profile;
//   - tools/list, prompts/list, resources/list and resources/templates/list
//     results are filtered entry by entry, with pagination cursors kept;
//   - notifications/resources/updated for a hidden URI is dropped;
//   - the initialize result advertises listChanged, so the host listens for
//     the notifications/*/list_changed the relay sends when the profile is
//     reloaded ([Relay.SetPolicy]);
//   - every message to the host is scrubbed of injected secret values
//     (package shim/redact);
//   - tools/call, prompts/get and resources/read are audited ([Auditor]).
//
// The relay decodes only the envelope (id, method) and the few members policy
// reads, by exact key with the last duplicate winning, and never remaps ids.
// It does not use the SDK's typed sessions or its stdio connection: both
// re-encode messages, which loses unknown fields, large integer ids and the
// difference between a null id and none.
//
// When the server goes away, every request still pending is answered with a
// JSON-RPC error, so the host never waits forever.
package shim
