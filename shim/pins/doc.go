// Package pins owns tool pinning: the canonical form and digest of a tool's
// definition (name, title, description, input and output schema,
// annotations), the per-server record of trusted definitions in the state
// directory, and the readable diff `mcp-sandbox trust` shows between a
// trusted definition and the one a server offers now.
package pins
