package egress

import (
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{in: "api.github.com", want: "api.github.com:443"},
		{in: "API.GitHub.com.:8443", want: "api.github.com:8443"},
		{in: "*.slack.com", want: "*.slack.com:443"},
		{in: "192.168.1.20:5432", want: "192.168.1.20:5432"},
		{in: "10.1.0.0/16:443", want: "10.1.0.0/16:443"},
		{in: "[2001:db8::1]:443", want: "[2001:db8::1]:443"},
		{in: "10.1.0.1/16", err: "host bits"},
		{in: "*.com", err: "top-level"},
		{in: "name:0", err: "port"},
		{in: "name:", err: "empty port"},
		{in: "bad name", err: "not a host name"},
	} {
		r, err := ParseRule(c.in)
		switch {
		case c.err != "":
			if err == nil || !contains(err.Error(), c.err) {
				t.Errorf("ParseRule(%q) = %v, %v; want an error with %q", c.in, r, err, c.err)
			}
		case err != nil || r.String() != c.want:
			t.Errorf("ParseRule(%q) = %v, %v; want %s", c.in, r, err, c.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestFilter(t *testing.T) {
	f, err := NewFilter([]string{"a.test:7000", "*.w.test", "10.1.0.0/16:5432", "b.test:8000", "c.test:8000"}, map[string]string{"a.test": "172.17.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host string
		port int
		want bool
	}{
		{"a.test", 7000, true}, {"A.TEST.", 7000, true}, {"a.test", 7001, false}, {"a.test", 443, false},
		{"x.w.test", 443, true}, {"y.x.w.test", 443, true}, {"w.test", 443, false}, {"x.w.test", 80, false},
		{"10.1.2.3", 5432, true}, {"10.2.0.1", 5432, false}, {"10.1.2.3", 443, false},
		{"172.17.0.1", 7000, false}, {"other.test", 7000, false},
	} {
		if got := f.Allowed(c.host, c.port); got != c.want {
			t.Errorf("Allowed(%s, %d) = %t, want %t", c.host, c.port, got, c.want)
		}
	}
	if n, ok := f.Sole(7000); !ok || n != "a.test" {
		t.Errorf("Sole(7000) = %q, %t; want a.test", n, ok)
	}
	if _, ok := f.Sole(8000); ok {
		t.Error("Sole(8000) found one name; two share the port")
	}
	if _, ok := f.Sole(443); ok {
		t.Error("Sole(443) found a name; a wildcard covers the port")
	}
	if !f.Listed("q.w.test") || f.Listed("other.test") {
		t.Error("Listed: want q.w.test listed and other.test not")
	}
}
