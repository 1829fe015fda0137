// Command probe is an MCP server whose tools report what its environment lets
// it do. It owns nothing the rest of mcp-sandbox depends on: it exists so that
// people can see what a sandboxed server can reach, and so that the
// integration tests can prove the sandbox from inside a real container.
//
// It speaks MCP over stdio (newline-delimited JSON-RPC on stdin/stdout) and
// logs to stderr only, since stdout is the MCP channel. Run it with no
// arguments to serve; "probe --version" prints the version and exits.
//
// # Tools
//
// The tools fall into three groups.
//
// Identity and reach, each answering "what may this process do?":
// identity (uid, gid, capabilities, no_new_privs, seccomp, whether / is
// read-only), write_file, read_file, list_dir, dial, fetch, network, env and
// read_env. Failures are reported as data ({"ok": false, "error": ...}),
// never as crashes, because a refused write is the answer the caller wants.
//
// Resource limits: fork starts child processes until the kernel refuses
// (then kills and reaps them all), alloc allocates and touches memory in
// chunks, and crash exits without replying.
//
// Protocol behaviour for relay tests: echo, sleep (honours cancellation and
// reports progress), bytes (a text result of exactly n bytes), notify (a
// logging and a progress notification), calls (the tool names this instance
// has received, in order, so a test can prove a filtered call never arrived),
// and the harmless delete_file (always refuses), get_time and list_dir.
//
// read_env returns an environment variable's value, optionally encoded
// (raw, base64, base64url, percent, json, hex) and optionally wrapped in a
// sentence, in both the text content and structuredContent: it is the
// server a redaction test points at a secret.
//
// # Prompts and resources
//
// Prompts greeting and secret_prompt (whose message contains an environment
// variable's value); resources probe://info, file:///data/hello.txt and the
// template probe://env/{name}. They exist for profile filtering and
// redaction tests and are deliberately simple.
//
// # Image
//
// The binary is static (CGO_ENABLED=0), so the Dockerfile next to this file
// copies it into an empty (scratch) image running as uid 65534. There is no
// shell and no /proc tooling in that image, so identity reads
// /proc/self/status itself, and degrades to "unknown" off Linux.
package main
