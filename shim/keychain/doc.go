// Package keychain owns mcp-sandbox's credential store: named secrets kept
// in the operating system's keychain (macOS Keychain, Windows Credential
// Manager, the freedesktop Secret Service on Linux and BSD) behind a small
// API, [Store].
//
// Every secret is one item in the keychain, addressed by a service (by
// default [DefaultService], see [ServiceName] for the lookup order) and a
// name such as "github-pat" or "oauth.github.refresh". Users may also create
// items with their platform's own tools; on Linux for example
//
//	secret-tool store --label=github-pat service mcp-sandbox username github-pat
//
// creates an item that [Store.Get] reads.
//
// A server's configuration names its secrets as data
// ([profiles.Server.SecretRefs]: env vars, files, "secret:" headers, the
// OAuth client secret). [Resolve] reads them once, bounded by
// [ResolveTimeout], into what the launcher, the remote bridge and the
// redactor need; [Probe] only says which are present, for check and doctor.
//
// # What this package guarantees
//
//   - It never prints or logs a secret value and never puts one in an error.
//     An error the platform keychain reports for a write is checked for the
//     data written and withheld if it quotes any of it. (Errors of reads
//     cannot be checked, the value being unknown; no supported platform
//     quotes it.)
//   - Every keychain call is bounded by [Options.Timeout] and by the caller's
//     context, because a locked keychain may wait forever for a password
//     prompt that nobody will answer (see [ErrTimeout]).
//   - Values larger than the platforms' item limits (about 2.5 KB on Windows
//     and 3 KB on macOS) are split into chunks and reassembled transparently;
//     a damaged or half-written chunk set is reported as an error, never
//     returned as garbage.
//   - [Store.List] works although no platform keychain API used here can
//     enumerate items: the store keeps an index item with the names it has
//     written. Items created outside mcp-sandbox are therefore not listed,
//     although Get still finds them.
//
// # Storage layout
//
// For a secret NAME the keychain holds, under the store's service:
//
//	NAME                  the value itself, if it fits in one item (2000 bytes), or
//	                      a header "mcp-sandbox-chunked:v1:<n>:<gen>:<sha256 prefix>"
//	.chunk.NAME.<gen>.<i> piece i (1..n) of a chunked value, each at most 2000 bytes
//	.index                JSON array of the names written through this package
//
// A value that itself begins with "mcp-sandbox-chunked:" or
// "mcp-sandbox-plain:" is stored with an extra "mcp-sandbox-plain:" prefix,
// which Get strips, so no stored value can be mistaken for a header. Names
// starting with "." are reserved for the package's own items.
//
// A chunked write stores the pieces under a fresh random generation <gen>
// first and writes the header last, so a reader sees either the old or the
// new value, never a mixture; pieces of the previous generation are removed
// afterwards.
package keychain
