package envelope

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		msg             string
		id, method      string
		has, bad, ambig bool
		params          string
	}{
		{msg: `{"jsonrpc":"2.0","id": 7 ,"method":"m","params":{"a":1}}`, id: "7", method: "m", has: true, params: `{"a":1}`},
		{msg: `{"id":"a","ID":"b","method":"m"}`, id: `"a"`, method: "m", has: true, ambig: true},
		{msg: `{"id":1,"id":2,"result":{}}`, id: "2", ambig: true},
		{msg: `{"id":1,"method":5}`, id: "1", bad: true},
		{msg: `{"id":1,"method":"m","method":5}`, id: "1", method: "m", bad: true, ambig: true},
		{msg: `{"id":1,"Result":{},"result":{}}`, id: "1", ambig: true},
		{msg: `{"i\u0064":"x","method":"n"}`, id: `"x"`, method: "n", has: true},
	}
	for _, tt := range tests {
		e, ok := Parse([]byte(tt.msg))
		if !ok {
			t.Fatalf("Parse(%s) not an object", tt.msg)
		}
		if string(e.ID) != tt.id || tt.msg[e.IDStart:e.IDEnd] != tt.id {
			t.Errorf("Parse(%s) id = %s at [%d:%d], want %s", tt.msg, e.ID, e.IDStart, e.IDEnd, tt.id)
		}
		if e.Method != tt.method || e.HasMethod != tt.has || e.BadMethod != tt.bad || e.Ambiguous != tt.ambig {
			t.Errorf("Parse(%s) = method %q has %v bad %v ambiguous %v, want %q %v %v %v",
				tt.msg, e.Method, e.HasMethod, e.BadMethod, e.Ambiguous, tt.method, tt.has, tt.bad, tt.ambig)
		}
		if string(e.Params) != tt.params || (e.Params != nil && tt.msg[e.ParamsStart:e.ParamsStart+len(e.Params)] != tt.params) {
			t.Errorf("Parse(%s) params = %s at %d, want %s", tt.msg, e.Params, e.ParamsStart, tt.params)
		}
	}
	if _, ok := Parse([]byte(` [1] `)); ok {
		t.Error("Parse of an array reported an object")
	}
}

func TestSetAndFind(t *testing.T) {
	tests := []struct{ in, key, val, want string }{
		{`{}`, "k", `1`, `{"k":1}`},
		{` { } `, "k", `1`, ` { "k":1} `},
		{`{"a":"}","k":0 ,"k":2}`, "k", `3`, `{"a":"}","k":0 ,"k":3}`},
		{`{"a":"\"x"}`, "k", `true`, `{"a":"\"x","k":true}`},
	}
	for _, tt := range tests {
		if got := string(Set([]byte(tt.in), tt.key, []byte(tt.val))); got != tt.want {
			t.Errorf("Set(%s, %s, %s) = %s, want %s", tt.in, tt.key, tt.val, got, tt.want)
		}
	}
	if s, e, ok := Find([]byte(`{"k":[1,{"k":2}],"k":"v"}`), "k"); !ok || s != 21 || e != 24 {
		t.Errorf("Find = %d, %d, %v; want the last duplicate at 21:24", s, e, ok)
	}
}

func TestStringEnd(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{{`ab"`, 2}, {`a\"b"`, 4}, {`a\\"`, 3}, {`a\\\"`, 5}, {`abc`, 3}} {
		if got := StringEnd([]byte(tt.in), 0); got != tt.want {
			t.Errorf("StringEnd(%s) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
