// Package profiles owns mcp-sandbox's configuration: the schema of
// mcp-sandbox.toml, its defaults and validation, the [Policy] a profile
// turns into, and the [Watch]er that re-reads the file when it is edited.
// It does no I/O beyond reading the config file and watching its directory.
//
// # Loading
//
// [Load] reads a file and [Parse] decodes bytes into a [Config]. Parsing is
// strict: an unknown key is an error (a misspelt "alow" must not silently
// widen access), and so is every value that fails validation. All problems
// are reported at once, each as an [*Error] printing "file:line:col: msg",
// joined with [errors.Join] and sorted by position:
//
//	cfg, err := profiles.Load(path)
//	if err != nil {
//		return err // e.g. "mcp-sandbox.toml:12:1: unknown key "alow" in tools rules"
//	}
//	pol, err := cfg.Policy("github", profileFlag)
//
// Defaults are restrictive: a local server without a [servers.X.sandbox]
// table gets [DefaultSandbox] (no network, read-only root, 512 MiB, one
// CPU, 256 pids, user 65534:65534, 64 MiB /tmp). Paths in build, audit.path
// and mount sources expand a leading ~ and $VAR / ${VAR}; an unset or empty
// variable is an error, and relative paths are relative to the directory of
// the config file. audit.path = "off" disables the audit log.
//
// Mounts that hand the server the machine or the user's credentials (the
// container engine's socket, /, the home directory, credential directories,
// mcp-sandbox's own directories, or a parent of any of them) are errors
// unless the sandbox sets allow_dangerous_mounts = true; then they are kept
// as warnings in [Sandbox.DangerousMounts]. The check resolves symbolic links
// and reads nothing but file metadata (danger.go).
//
// # Matching
//
// A profile has allow and deny lists of glob patterns for tools, prompts
// and resources. Patterns know three metacharacters; every other character,
// including '[', ']' and '\', stands for itself:
//
//   - '?' matches exactly one character (rune);
//   - '*' matches any run of characters, the empty run included;
//   - in resource URIs '*' and '?' do not match '/', and "**" matches any
//     run including '/' ("file:///data/*" is one level, "file:///data/**"
//     the whole tree); in tool and prompt names, which have no path
//     structure, "**" is the same as '*'.
//
// Patterns are compiled once when the Policy is built and matched by an
// automaton in O(len(name) × len(pattern)) time; no pattern backtracks
// exponentially.
//
// Allow patterns match the name exactly as the server sent it,
// case-sensitively. Deny patterns are matched twice: against the name as
// sent, and after folding both pattern and name: compatibility
// decomposition (NFKD, so fullwidth "ｄｅｌｅｔｅ" is "delete"), Unicode case
// folding ("DELETE_file" is "delete_file"), removal of combining marks and
// of invisible characters (zero-width space and joiners, soft hyphen, BOM,
// word joiner, bidi controls, variation selectors), and replacement of
// Cyrillic and Greek letters that look like Latin ones ("dеlete" with a
// Cyrillic е). A server may normalise the names it receives, and a
// look-alike must never slip past a deny; folding can only make a deny
// match more names, never fewer.
//
// For each kind the verdict is:
//
//  1. a name matching any deny pattern is denied (deny wins over allow);
//  2. otherwise, when the allow list is non-empty, the name must match one
//     of its patterns, or it is hidden;
//  3. otherwise (no allow list) the name passes.
//
// A server without a profile passes everything; so does a kind a profile
// has no rules for. A nil [*Policy] stands for "no profile" and answers
// every question with Allowed and Rule "no profile".
//
// A profile may extend another with extends = "parent". Its lists are then
// the parent's (resolved recursively) followed by its own: allow lists are
// united, and so are deny lists, so a child can allow more than its parent
// but can never lift a parent's deny. Unknown parents and cycles are errors.
//
// # Reloading
//
// [Watch] follows the file and hands out a fresh, immutable [*Config] for
// every valid edit; an invalid edit is reported through its error callback
// and the caller keeps the config it has. Compare policies with
// [Policy.Equal] per [Kind] to decide which list_changed notifications a
// reload calls for, and servers with [Server.NeedsRestart] to see whether
// the change needs a new container.
package profiles
