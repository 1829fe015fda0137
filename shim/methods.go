package shim

import "github.com/mcp-sandbox/mcp-sandbox/profiles"

// A policedMethod is a host request whose target the profile decides on.
// Adding a method the profile governs is one entry in [policedMethods]; the
// relay's request path, its notification guard, its block message and its
// audit all read this table.
type policedMethod struct {
	// kind is the rules that decide on the target.
	kind profiles.Kind
	// targetKey is the params member naming the target ("name" or "uri").
	// Empty means the target is a completion reference (params.ref, typed
	// ref/prompt or ref/resource) and kind is taken from it.
	targetKey string
	// audit says whether the call gets an audit line; such calls also
	// record the hash of params.arguments.
	audit bool
	// noun names the target in the host's error message.
	noun string
}

// policedMethods are the requests the profile decides on before they reach
// the server.
var policedMethods = map[string]policedMethod{
	"tools/call":            {kind: profiles.Tools, targetKey: "name", audit: true, noun: "tool"},
	"prompts/get":           {kind: profiles.Prompts, targetKey: "name", audit: true, noun: "prompt"},
	"resources/read":        {kind: profiles.Resources, targetKey: "uri", audit: true, noun: "resource"},
	"resources/subscribe":   {kind: profiles.Resources, targetKey: "uri", noun: "resource"},
	"resources/unsubscribe": {kind: profiles.Resources, targetKey: "uri", noun: "resource"},
	// Completions name a prompt or a resource template; a hidden one must
	// not leak its arguments' values.
	"completion/complete": {noun: "completion target"},
}

// A listMethod is a host request whose result lists entries the profile
// filters.
type listMethod struct {
	kind profiles.Kind
	// listKey is the result member holding the list; nameKey the entry
	// member the rules match.
	listKey, nameKey string
}

// listMethods are the list results filtered entry by entry.
var listMethods = map[string]listMethod{
	"tools/list":               {profiles.Tools, "tools", "name"},
	"prompts/list":             {profiles.Prompts, "prompts", "name"},
	"resources/list":           {profiles.Resources, "resources", "uri"},
	"resources/templates/list": {profiles.Resources, "resourceTemplates", "uriTemplate"},
}

// listChanged are the notifications telling the host a list changed, one per
// kind, in the order they are sent.
var listChanged = []struct {
	kind   profiles.Kind
	method string
	// capability is the server capability that must be offered for the
	// host to listen; "" means always (tools).
	capability string
}{
	{profiles.Tools, "notifications/tools/list_changed", ""},
	{profiles.Prompts, "notifications/prompts/list_changed", "prompts"},
	{profiles.Resources, "notifications/resources/list_changed", "resources"},
}

// policed reports whether the profile decides on requests of this method.
func policed(method string) bool {
	_, ok := policedMethods[method]
	return ok
}

// auditable reports whether calls of this method get an audit line.
func auditable(method string) bool { return policedMethods[method].audit }
