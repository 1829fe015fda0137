package hostconfig

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Client is one MCP host whose configuration file mcp-sandbox can edit.
type Client struct {
	// Name is the --client value, e.g. "claude-desktop".
	Name string
	// Title is the host's name for people.
	Title string
	// Key is the top-level key holding the server entries: "mcpServers",
	// or "servers" for VS Code.
	Key string
	// StdioType says entries carry "type": "stdio" (VS Code).
	StdioType bool
	// Project is the file's path relative to a project or workspace
	// directory; "" when the host has no project-level file.
	Project string

	user func(Env) string
}

// Env is what the per-OS file locations depend on.
type Env struct {
	// GOOS is "darwin", "windows", "linux", …
	GOOS string
	// Home is the user's home directory.
	Home string
	// Getenv reads APPDATA and XDG_CONFIG_HOME; nil reads nothing.
	Getenv func(string) string
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// join joins path elements with the target OS's separator, so that the
// locations of every OS can be computed (and tested) on any OS.
func (e Env) join(elem ...string) string {
	if e.GOOS == "windows" {
		return strings.Join(elem, `\`)
	}
	return filepath.ToSlash(strings.Join(elem, "/"))
}

// appData is %APPDATA%, defaulting to HOME\AppData\Roaming.
func (e Env) appData() string {
	if v := e.getenv("APPDATA"); v != "" {
		return v
	}
	return e.join(e.Home, "AppData", "Roaming")
}

// xdgConfig is $XDG_CONFIG_HOME, defaulting to ~/.config.
func (e Env) xdgConfig() string {
	if v := e.getenv("XDG_CONFIG_HOME"); v != "" && filepath.IsAbs(v) {
		return v
	}
	return e.join(e.Home, ".config")
}

// userSettings is the per-OS folder of an application's user settings:
// ~/Library/Application Support/APP, %APPDATA%\APP or $XDG_CONFIG_HOME/APP.
func (e Env) userSettings(app string) string {
	switch e.GOOS {
	case "darwin":
		return e.join(e.Home, "Library", "Application Support", app)
	case "windows":
		return e.join(e.appData(), app)
	}
	return e.join(e.xdgConfig(), app)
}

// clients lists the hosts. The locations follow each host's documentation
// (see the README's host table).
var clients = []Client{
	{
		Name: "claude-desktop", Title: "Claude Desktop", Key: "mcpServers",
		user: func(e Env) string { return e.join(e.userSettings("Claude"), "claude_desktop_config.json") },
	},
	{
		Name: "claude-code", Title: "Claude Code", Key: "mcpServers", Project: ".mcp.json",
		user: func(e Env) string { return e.join(e.Home, ".claude.json") },
	},
	{
		Name: "cursor", Title: "Cursor", Key: "mcpServers", Project: filepath.Join(".cursor", "mcp.json"),
		user: func(e Env) string { return e.join(e.Home, ".cursor", "mcp.json") },
	},
	{
		Name: "vscode", Title: "VS Code", Key: "servers", StdioType: true, Project: filepath.Join(".vscode", "mcp.json"),
		user: func(e Env) string { return e.join(e.userSettings("Code"), "User", "mcp.json") },
	},
	{
		Name: "windsurf", Title: "Windsurf", Key: "mcpServers",
		user: func(e Env) string { return e.join(e.Home, ".codeium", "windsurf", "mcp_config.json") },
	},
}

// Clients returns every known host, in a stable order.
func Clients() []Client { return append([]Client(nil), clients...) }

// Lookup returns the host named name.
func Lookup(name string) (Client, error) {
	var names []string
	for _, c := range clients {
		if c.Name == name {
			return c, nil
		}
		names = append(names, c.Name)
	}
	return Client{}, fmt.Errorf("unknown client %q: known clients are %s", name, strings.Join(names, ", "))
}

// UserFile returns the host's user-level configuration file.
func (c Client) UserFile(e Env) string { return c.user(e) }

// ProjectFile returns the host's file inside project directory dir, or an
// error if the host has none.
func (c Client) ProjectFile(dir string) (string, error) {
	if c.Project == "" {
		return "", fmt.Errorf("%s has no project-level configuration file; use --file PATH", c.Title)
	}
	return filepath.Join(dir, c.Project), nil
}
