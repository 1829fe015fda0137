package redact

import "encoding/json"

func jsonValid(s string) bool { return json.Valid([]byte(s)) }

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
