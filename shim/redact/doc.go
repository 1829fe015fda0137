// Package redact removes injected secret values from everything the model
// can see and from mcp-sandbox's own logs.
//
// The relay injects secrets (API keys, tokens) into an MCP server's
// environment. A server may echo them back: in a tool result, an error
// message, a log notification, a server-to-client request. Before any of
// that reaches the host, the relay passes each raw JSON-RPC message through
// [Redactor.Message], which replaces every occurrence of a secret value with
// the marker "[redacted:NAME]". Log writers are wrapped with
// [Redactor.Writer] and free-form text with [Redactor.String].
//
// # What is found
//
// For each secret the package searches for the value itself and for the
// encodings a server is likely to apply to it:
//
//   - JSON string escaping. Inside a message every JSON string is matched
//     in its decoded form, so `\"`, `\\`, `\/`, `\u00e9` and a plain ASCII
//     value spelled with `\u0041` escapes are all seen through. Escaped
//     spellings (as produced by common JSON encoders) are also searched for
//     literally, which covers JSON documents embedded in text and JSON log
//     lines handled as plain text.
//   - Base64, standard and URL-safe alphabets, padded and unpadded, including
//     a value embedded anywhere inside a longer base64 blob: for each of the
//     three byte alignments the characters that depend only on the value's
//     bits are searched for.
//   - Percent-encoding as produced by url.QueryEscape and url.PathEscape,
//     with upper- and lower-case hex digits.
//   - Hexadecimal, lower- and upper-case.
//
// # How it is replaced
//
// In a message, replacements happen inside JSON string values and object
// keys only; bytes outside strings are never touched, so valid JSON stays
// valid JSON. A string that needs a replacement is decoded, scrubbed and
// re-encoded with minimal escaping; every other byte of the message is kept
// as it came. Numbers, booleans and structure are left alone: a secret that
// a server returns as a bare JSON number is not redacted.
//
// Matches that overlap, whether of one secret or of several, are merged into
// a single marker named after the longest match (ties: the earlier match,
// then the secret listed first), so that no fragment of either value
// survives next to the marker. A match inside a base64 blob replaces only
// the characters derived from the secret, which deliberately breaks the
// blob: a corrupt attachment is better than a leaked credential. The one to
// three base64 characters at either edge of such a match mix secret and
// non-secret bits and are left in place; they reveal at most a few bits.
//
// # Limits
//
// Redaction is a safety net against accidental disclosure, not a defence
// against a server that sets out to exfiltrate a secret it was given: any
// transformation not listed above (reversal, base64 with line breaks,
// compression, splitting across strings) passes through. Values shorter
// than [MinLength] bytes are refused by [New] because they would match too
// much unrelated text.
//
// # Cost
//
// The common case is a message that contains no secret, and it costs one
// sampled pass plus a look at each backslash escape. [New] indexes a 4-byte
// window of every needle at every offset a sampled scan can land on;
// [Redactor.Message] probes the message at a fixed stride (the shortest
// needle length minus three) against a small bitset. Each escape sequence
// that decodes to a byte some needle contains is then checked by comparing
// those needles with the raw text on either side of it. Only when a probe
// or an escape hits does Message walk the JSON string boundaries, decode
// the strings concerned and rewrite those that change. With no hit it
// returns its argument without allocating.
package redact
