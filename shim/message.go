package shim

import (
	"errors"

	"github.com/mcp-sandbox/mcp-sandbox/shim/internal/envelope"
)

// message is what the relay reads of one JSON-RPC message: the raw bytes and
// the raw members of its envelope. Members are located by exact key, the last
// duplicate winning, as JavaScript's JSON.parse does; nothing is decoded
// through Go's case-insensitive struct matching.
type message struct {
	raw       []byte
	id        []byte // raw id token; nil when the message has no "id"
	method    string
	hasMethod bool
	params    []byte
	result    []byte
	err       []byte
	// ambiguous is set when a top-level key differs from an envelope key
	// only in case ("ID", "Method"): a peer decoding case-insensitively, as
	// Go's encoding/json does, could read that one instead; and when an
	// envelope key occurs twice, which a peer keeping the first duplicate
	// reads differently.
	ambiguous bool
}

func (m *message) isRequest() bool      { return m.hasMethod && m.id != nil }
func (m *message) isNotification() bool { return m.hasMethod && m.id == nil }
func (m *message) isResponse() bool     { return !m.hasMethod && m.id != nil }

var (
	errNotObject = errors.New("a JSON-RPC message must be a JSON object")
	errBadMethod = errors.New(`"method" must be a string`)
)

// parseMessage reads the envelope of a message that is already known to be
// valid JSON. For an object with a bad envelope it returns the error and a
// message holding only the raw bytes and the id, so that the answer can
// carry the id.
func parseMessage(raw []byte) (*message, error) {
	e, ok := envelope.Parse(raw)
	if !ok {
		return nil, errNotObject
	}
	if e.BadMethod {
		// The id is still the caller's to answer with.
		return &message{raw: raw, id: e.ID}, errBadMethod
	}
	return &message{
		raw: raw, id: e.ID, method: e.Method, hasMethod: e.HasMethod,
		params: e.Params, result: e.Result, err: e.Error, ambiguous: e.Ambiguous,
	}, nil
}

// The relay's names for the shared scanner (see shim/internal/envelope).
var (
	isBatch         = envelope.IsBatch
	member          = envelope.Member
	stringMember    = envelope.StringMember
	eachElement     = envelope.EachElement
	setMember       = envelope.Set
	idKey           = envelope.IDKey
	hasKeyVariants  = envelope.HasKeyVariants
	dropKeyVariants = envelope.DropKeyVariants
)
