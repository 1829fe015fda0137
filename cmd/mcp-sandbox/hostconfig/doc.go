// Package hostconfig owns the MCP hosts' own configuration files: which file
// each host (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf) reads on
// each OS and under which key its servers sit; reading the entries there;
// editing those files without disturbing anything mcp-sandbox does not own
// (key order, unrelated keys, whitespace, JSONC comments); backups, atomic
// writes and restores; and converting a host's entry (npx, uvx, uv tool run,
// pipx run, docker run, url) into the mcp-sandbox.toml text of a sandboxed
// server, with credentials split out for the keychain.
//
// It never touches the keychain, Docker or the network: the command in
// cmd/mcp-sandbox wires those. Edits go through [Document], which parses a
// host file with github.com/tailscale/hujson (JSON with comments and
// trailing commas), changes only the members it is asked to, re-emits every
// other byte as it was, and refuses an edit that would drop a comment.
//
//	doc, err := hostconfig.Parse(path, data, client)
//	doc.SetEntry("github", hostconfig.Launch{Command: bin, Args: []string{"run", "github"}})
//	err = hostconfig.WriteFile(path, doc.Bytes(), now) // backup, then temp file + rename
package hostconfig
