// Command mcp-sandbox runs MCP servers in a locked-down Docker container (or
// reaches remote ones over OAuth) and relays MCP between them and the host
// that started it, filtering what the model may use by a TOML profile.
//
// An MCP host registers it as a server's command:
//
//	{"mcpServers": {"github": {"command": "mcp-sandbox", "args": ["run", "github"]}}}
//
// Run "mcp-sandbox help" for the subcommands. This package owns the
// subcommands, flag parsing, wiring and exit codes; policy, Docker, OAuth and
// the relay live in the packages it wires together.
package main
