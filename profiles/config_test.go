package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeEnv is a fixed environment for expansion.
type fakeEnv struct {
	vars map[string]string
	home string
}

func (e fakeEnv) LookupEnv(k string) (string, bool) {
	v, ok := e.vars[k]
	return v, ok
}

func (e fakeEnv) UserHomeDir() (string, error) {
	if e.home == "" {
		return "", errors.New("no home directory")
	}
	return e.home, nil
}

const testFile = "/cfg/mcp-sandbox.toml"

// fullConfig uses every key of the schema.
const fullConfig = `keychain_service = "mcp-test"

[audit]
path = "~/state/audit.jsonl"

[servers.probe]
build      = "examples/probe"
image      = "mcp-probe:dev"
dockerfile = "Dockerfile.dev"
args       = ["stdio", "-v"]
env        = { FOO = "bar" }
secrets    = { GITHUB_TOKEN = "github-pat" }
secret_files = { "/run/secrets/token" = "github-pat" }
profile    = "readonly"
audit_arguments = true

[servers.probe.sandbox]
network   = "bridge"
read_only = false
memory    = "1g"
cpus      = 2
pids      = 100
user      = "1000:1000"
tmpfs     = "16MiB"
mounts    = ["~/notes:/data", "$WORK/src:/src:rw", "${WORK}/x/../y:/y/:ro", "rel:/rel"]
workdir   = "/data"

[servers.remote]
url = "https://example.com/mcp"
transport = "sse"
headers = { "X-Api-Key" = "secret:api-key", "X-Plain" = "v" }
profile = "readonly"

[servers.remote.oauth]
client_id = "cid"
client_secret = "secret:oauth-secret"
scopes = ["read", "write"]
redirect_port = 8765
client_metadata_url = "https://example.com/client.json"

[servers.local]
url = "http://127.0.0.1:8080/mcp"

[profiles.readonly]
extends = "base"
tools.allow     = ["get_*", "list_*"]
tools.deny      = ["*delete*"]
prompts.allow   = ["*"]
prompts.deny    = []
resources.allow = ["file:///data/**"]
resources.deny  = []

[profiles.base]
`

func TestParseFull(t *testing.T) {
	env := fakeEnv{vars: map[string]string{"WORK": "/work"}, home: "/home/u"}
	cfg, err := parse(testFile, []byte(fullConfig), env)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if cfg.Path != testFile || cfg.KeychainService != "mcp-test" {
		t.Errorf("Path, KeychainService = %q, %q", cfg.Path, cfg.KeychainService)
	}
	if diff := cmp.Diff(Audit{Path: "/home/u/state/audit.jsonl"}, cfg.Audit); diff != "" {
		t.Errorf("Audit mismatch (-want +got):\n%s", diff)
	}
	wantServers := map[string]*Server{
		"probe": {
			Name:           "probe",
			Build:          "/cfg/examples/probe",
			Image:          "mcp-probe:dev",
			Dockerfile:     "Dockerfile.dev",
			Args:           []string{"stdio", "-v"},
			Env:            map[string]string{"FOO": "bar"},
			Secrets:        map[string]string{"GITHUB_TOKEN": "github-pat"},
			SecretFiles:    map[string]string{"/run/secrets/token": "github-pat"},
			Profile:        "readonly",
			AuditArguments: true,
			Sandbox: Sandbox{
				Network: "bridge",
				Memory:  1 << 30,
				CPUs:    2,
				Pids:    100,
				User:    "1000:1000",
				Tmpfs:   16 << 20,
				Mounts: []Mount{
					{Source: "/home/u/notes", Target: "/data", ReadOnly: true},
					{Source: "/work/src", Target: "/src"},
					{Source: "/work/y", Target: "/y", ReadOnly: true},
					{Source: "/cfg/rel", Target: "/rel", ReadOnly: true},
				},
				Workdir: "/data",
			},
		},
		"remote": {
			Name:      "remote",
			URL:       "https://example.com/mcp",
			Transport: "sse",
			Headers:   map[string]string{"X-Api-Key": "secret:api-key", "X-Plain": "v"},
			Profile:   "readonly",
			OAuth: &OAuth{
				ClientID:          "cid",
				ClientSecret:      "oauth-secret",
				Scopes:            []string{"read", "write"},
				RedirectPort:      8765,
				ClientMetadataURL: "https://example.com/client.json",
			},
		},
		"local": {Name: "local", URL: "http://127.0.0.1:8080/mcp", Transport: "auto"},
	}
	if diff := cmp.Diff(wantServers, cfg.Servers); diff != "" {
		t.Errorf("Servers mismatch (-want +got):\n%s", diff)
	}
	wantProfiles := map[string]*Profile{
		"readonly": {
			Name:      "readonly",
			Extends:   "base",
			Tools:     Rules{Allow: []string{"get_*", "list_*"}, Deny: []string{"*delete*"}},
			Prompts:   Rules{Allow: []string{"*"}, Deny: []string{}},
			Resources: Rules{Allow: []string{"file:///data/**"}, Deny: []string{}},
		},
		"base": {Name: "base"},
	}
	if diff := cmp.Diff(wantProfiles, cfg.Profiles); diff != "" {
		t.Errorf("Profiles mismatch (-want +got):\n%s", diff)
	}
	if !cfg.Servers["remote"].Remote() || cfg.Servers["probe"].Remote() {
		t.Errorf("Remote() wrong: remote=%v probe=%v", cfg.Servers["remote"].Remote(), cfg.Servers["probe"].Remote())
	}
}

func TestParseDefaults(t *testing.T) {
	cfg := mustParse(t, `
[audit]
path = "off"
[servers.a]
image = "x"
[servers.b]
image = "x"
[servers.b.sandbox]
cpus = 0.5
`)
	if diff := cmp.Diff(Audit{Disabled: true}, cfg.Audit); diff != "" {
		t.Errorf("Audit mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(DefaultSandbox(), cfg.Servers["a"].Sandbox); diff != "" {
		t.Errorf("default sandbox mismatch (-want +got):\n%s", diff)
	}
	want := DefaultSandbox()
	want.CPUs = 0.5
	if diff := cmp.Diff(want, cfg.Servers["b"].Sandbox); diff != "" {
		t.Errorf("partial sandbox mismatch (-want +got):\n%s", diff)
	}
	if got := cfg.Servers["a"].Transport; got != "" {
		t.Errorf("local Transport = %q, want empty", got)
	}
	want = Sandbox{Network: "none", ReadOnly: true, Memory: 512 << 20, CPUs: 1, Pids: 256, User: "65534:65534", Tmpfs: 64 << 20}
	if diff := cmp.Diff(want, DefaultSandbox()); diff != "" {
		t.Errorf("DefaultSandbox mismatch (-want +got):\n%s", diff)
	}
	empty := mustParse(t, "")
	if len(empty.Servers) != 0 || empty.Servers == nil || empty.Profiles == nil {
		t.Errorf("empty config: Servers=%v Profiles=%v, want empty non-nil maps", empty.Servers, empty.Profiles)
	}
}

// TestParseErrors checks that each problem is found and placed. Each want
// entry is "line:col: message fragment", in the order reported.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		desc string
		src  string
		want []string
	}{
		{"syntax error", "[servers.a]\nimage = \"x\nfoo", []string{"2:11: strings cannot contain newlines"}},
		{"duplicate key", "a = 1\na = 2", []string{"2:6: already been defined"}},
		{"unknown top-level key", "\n\n  colour = 1", []string{"3:3: unknown key \"colour\""}},
		{"unknown table", "[serverz.a]\nimage = \"x\"", []string{"1:2: unknown key \"serverz\""}},
		{"unknown server key", "[servers.a]\nimage = \"x\"\n  imgae = \"y\"", []string{"3:3: unknown key \"imgae\""}},
		{"unknown sandbox key", "[servers.a]\nimage = \"x\"\n[servers.a.sandbox]\nnetwrok = \"none\"", []string{"4:1: unknown key \"netwrok\""}},
		{"unknown rules key", "[profiles.p]\ntools.alow = [\"x\"]", []string{"2:7: unknown key \"alow\""}},
		{"unknown rules key inline", "[profiles.p]\ntools = { allow = [\"a\"], dney = [\"x\"] }", []string{"2:26: unknown key \"dney\""}},
		{"unknown profile key", "[profiles.p]\ntool.allow = [\"x\"]", []string{"2:1: unknown key \"tool\""}},
		{"unknown quoted key", "[servers.a]\nimage = \"x\"\n\"we ird\" = 1", []string{"3:1: unknown key \"we ird\""}},
		{"no image build or url", "[servers.a]\nargs = []", []string{"1:10: needs one of image, build, package or url"}},
		{"url and image", "[servers.a]\nurl = \"https://x\"\nimage = \"y\"", []string{"3:1: image is for local servers"}},
		{"url and build", "[servers.a]\nbuild = \"y\"\nurl = \"https://x\"", []string{"2:1: build is for local servers"}},
		{"http to remote host", "[servers.a]\nurl = \"http://example.com/mcp\"", []string{"2:7: loopback"}},
		{"http to localhost ok, ftp not", "[servers.a]\nurl = \"http://localhost:1/x\"\n[servers.b]\nurl = \"ftp://127.0.0.1/\"", []string{"4:7: scheme"}},
		{"http to 127.9.9.9 and ::1 ok", "[servers.a]\nurl = \"http://127.9.9.9/\"\n[servers.b]\nurl = \"http://[::1]:9/\"\n[servers.c]\nurl = \"http://[::2]/\"", []string{"6:7: "}},
		{"url without host", "[servers.a]\nurl = \"https:///x\"", []string{"2:7: no host"}},
		{"url with credentials", "[servers.a]\nurl = \"https://u:p@x/\"", []string{"2:7: credentials"}},
		{"unknown profile", "[servers.a]\nimage = \"x\"\nprofile = \"nope\"", []string{"3:11: unknown profile \"nope\""}},
		{"empty glob", "[profiles.p]\ntools.allow = [\"a\", \"\"]", []string{"2:21: empty pattern"}},
		{"empty deny glob", "[profiles.p]\nresources.deny = [\n  \"\",\n]", []string{"3:3: empty pattern"}},
		{"pattern not string", "[profiles.p]\ntools.deny = [\"a\", 3]", []string{"2:20: deny[1] must be a string, not an integer"}},
		{"bad memory", "[servers.a]\nimage = \"x\"\nsandbox.memory = \"512x\"", []string{"3:18: invalid size \"512x\""}},
		{"memory too small", "[servers.a]\nimage = \"x\"\nsandbox.memory = \"1k\"", []string{"3:18: memory must be at least"}},
		{"bad tmpfs", "[servers.a]\nimage = \"x\"\nsandbox.tmpfs = \"-1m\"", []string{"3:17: invalid size"}},
		{"bad network", "[servers.a]\nimage = \"x\"\n[servers.a.sandbox]\nnetwork = \"host\"", []string{"4:11: invalid network \"host\""}},
		{"bad cpus", "[servers.a]\nimage = \"x\"\nsandbox = { cpus = 0.0, pids = -1 }", []string{"3:20: cpus must be a positive", "3:32: pids must be positive"}},
		{"nan cpus", "[servers.a]\nimage = \"x\"\nsandbox.cpus = nan", []string{"3:16: cpus must be a positive"}},
		{"root user", "[servers.a]\nimage = \"x\"\nsandbox.user = \"0:0\"", []string{"3:16: user \"0:0\" runs as root"}},
		{"root by name", "[servers.a]\nimage = \"x\"\nsandbox.user = \"root\"", []string{"3:16: "}},
		{"image default user", "[servers.a]\nimage = \"x\"\nsandbox.user = \"\"", []string{"3:16: "}},
		{"mount syntax", "[servers.a]\nimage = \"x\"\nsandbox.mounts = [\"/a\", \"/b:/c:rx\", \"/d:e\", \"/f:/\"]",
			[]string{"3:19: invalid mount \"/a\"", "3:25: invalid mount mode \"rx\"", "3:37: target \"e\" must be an absolute", "3:45: cannot mount over /"}},
		{"mount twice", "[servers.a]\nimage = \"x\"\nsandbox.mounts = [\"/a:/m\", \"/b:/m/\"]", []string{"3:28: mounted twice"}},
		{"mount unset var", "[servers.a]\nimage = \"x\"\nsandbox.mounts = [\"$NOPE/x:/x\"]", []string{"3:19: NOPE is unset"}},
		{"mount ~user", "[servers.a]\nimage = \"x\"\nsandbox.mounts = [\"~bob/x:/x\"]", []string{"3:19: ~user"}},
		{"secret env name", "[servers.a]\nimage = \"x\"\nsecrets = { \"1BAD\" = \"item\", OK = \"\" }", []string{"3:13: invalid environment variable name \"1BAD\"", "3:35: keychain item name must not be empty"}},
		{"env name", "[servers.a]\nimage = \"x\"\n[servers.a.env]\n\"A-B\" = \"v\"", []string{"4:1: invalid environment variable name \"A-B\""}},
		{"env and secret clash", "[servers.a]\nimage = \"x\"\nenv = { T = \"1\" }\nsecrets = { T = \"t\" }", []string{"4:13: T is set in both env and secrets"}},
		{"secret file path", "[servers.a]\nimage = \"x\"\nsecret_files = { \"rel/path\" = \"x\" }", []string{"3:18: secret file \"rel/path\" must be a clean absolute"}},
		{"remote key on local", "[servers.a]\nimage = \"x\"\ntransport = \"sse\"\n[servers.a.oauth]\nclient_id = \"c\"", []string{"3:1: transport is for remote servers", "4:12: oauth is for remote servers"}},
		{"local key on remote", "[servers.a]\nurl = \"https://x\"\nenv = {}\n[servers.a.sandbox]", []string{"3:1: env is for local servers", "4:12: sandbox is for local servers"}},
		{"bad transport", "[servers.a]\nurl = \"https://x\"\ntransport = \"ws\"", []string{"3:13: invalid transport \"ws\""}},
		{"client_secret literal", "[servers.a]\nurl = \"https://x\"\noauth.client_secret = \"hunter2\"", []string{"3:23: client_secret must be a keychain reference"}},
		{"redirect port", "[servers.a]\nurl = \"https://x\"\noauth.redirect_port = 70000", []string{"3:23: redirect_port 70000 out of range"}},
		{"metadata url http", "[servers.a]\nurl = \"https://x\"\noauth.client_metadata_url = \"http://localhost/c.json\"", []string{"3:29: client_metadata_url"}},
		{"header secret empty", "[servers.a]\nurl = \"https://x\"\nheaders = { \"X-K\" = \"secret:\", \"Bad Header\" = \"v\" }", []string{"3:21: keychain item name", "3:32: invalid header name"}},
		{"reserved header", "[servers.a]\nurl = \"https://x\"\nheaders = { accept = \"text/plain\", Mcp-Session-Id = \"s\" }", []string{"3:13: header \"accept\" is set by the transport", "3:36: header \"Mcp-Session-Id\" is set by the transport"}},
		{"metadata url without path", "[servers.a]\nurl = \"https://x\"\noauth.client_metadata_url = \"https://c.example\"", []string{"3:29: client_metadata_url: client metadata URL \"https://c.example\" must be an https URL with a path"}},
		{"dockerfile without build", "[servers.a]\nimage = \"x\"\ndockerfile = \"D\"", []string{"3:1: dockerfile needs build"}},
		{"extends unknown", "[profiles.a]\nextends = \"zz\"", []string{"2:11: profile \"a\" extends unknown profile \"zz\""}},
		{"extends cycle", "[profiles.a]\nextends = \"b\"\n[profiles.b]\nextends = \"a\"\n[profiles.c]\nextends = \"c\"",
			[]string{"2:11: extends cycle: a -> b -> a", "4:11: extends cycle: b -> a -> b", "6:11: extends cycle: c -> c"}},
		{"wrong types", "keychain_service = 1\n[servers.a]\nimage = \"x\"\nargs = \"stdio\"\naudit_arguments = \"yes\"",
			[]string{"1:20: keychain_service must be a string, not an integer", "4:8: args must be an array of strings", "5:19: audit_arguments must be a boolean, not a string"}},
		{"server not a table", "servers = 3", []string{"1:11: servers must be a table"}},
		{"bad server name", "[servers.\"a b\"]\nimage = \"x\"", []string{"1:10: invalid server name"}},
		{"many errors sorted", "[servers.b]\nimage = \"x\"\nbogus = 1\n[servers.a]\nimage = \"x\"\nprofile = \"p\"\n[audit]\npath = 7",
			[]string{"3:1: unknown key \"bogus\"", "6:11: unknown profile \"p\"", "8:8: path must be a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := parse(testFile, []byte(tt.src), fakeEnv{home: "/home/u"})
			if err == nil {
				t.Fatalf("parse succeeded, want errors %q", tt.want)
			}
			got := errorList(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				pos, frag, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], testFile+":"+pos+": ") || !strings.Contains(got[i], frag) {
					t.Errorf("error %d = %q, want position %s and %q", i, got[i], pos, frag)
				}
			}
		})
	}
}

// errorList flattens a Parse error into its messages, checking that each is
// a positioned *Error.
func errorList(t *testing.T, err error) []string {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []string
	for _, e := range errs {
		var pe *Error
		if !errors.As(e, &pe) {
			t.Fatalf("error %v (%T) is not an *Error", e, e)
		}
		if pe.Line < 1 || pe.Column < 1 || pe.File != testFile {
			t.Errorf("error %q has no proper position", pe)
		}
		out = append(out, pe.Error())
	}
	return out
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "c.toml", Line: 3, Column: 7, Msg: "bad"}
	if got, want := e.Error(), "c.toml:3:7: bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"512m", 512 << 20, false},
		{"512M", 512 << 20, false},
		{"512mb", 512 << 20, false},
		{"512MiB", 512 << 20, false},
		{"1g", 1 << 30, false},
		{"1.5g", 3 << 29, false},
		{"64k", 64 << 10, false},
		{"2t", 2 << 40, false},
		{"100", 100, false},
		{"100b", 100, false},
		{"", 0, true},
		{"m", 0, true},
		{"12x", 0, true},
		{"1ib", 0, true},
		{"-1m", 0, true},
		{"+1m", 0, true},
		{"1e3", 0, true},
		{"nan", 0, true},
		{"inf", 0, true},
		{"1..2m", 0, true},
		{"99999999999t", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestExpandPath(t *testing.T) {
	env := fakeEnv{vars: map[string]string{"A": "/a", "B": "b", "EMPTY": ""}, home: "/home/u"}
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"~", "/home/u", false},
		{"~/x/../y", "/home/u/y", false},
		{"$A/x", "/a/x", false},
		{"${A}x", "/ax", false},
		{"$A$B", "/ab", false},
		{"rel/$B", "/base/rel/b", false},
		{"/p/$$B", "/p/$B", false},
		{"/p/$", "/p/$", false},
		{"/p/$-", "/p/$-", false},
		{"$NOPE/x", "", true},
		{"$EMPTY/x", "", true},
		{"${A", "", true},
		{"${1}", "", true},
		{"~bob", "", true},
	}
	for _, tt := range tests {
		got, err := expandPath(tt.in, "/base", env)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("expandPath(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := expandPath("~/x", "/", fakeEnv{}); err == nil {
		t.Errorf("expandPath without a home directory: want an error")
	}
}

func TestServerLookup(t *testing.T) {
	cfg := mustParse(t, "[servers.b]\nimage = \"x\"\n[servers.a]\nimage = \"y\"")
	if s, err := cfg.Server("a"); err != nil || s.Image != "y" {
		t.Errorf("Server(a) = %v, %v", s, err)
	}
	_, err := cfg.Server("c")
	if !errors.Is(err, ErrUnknownServer) {
		t.Fatalf("Server(c) error = %v, want ErrUnknownServer", err)
	}
	if !strings.Contains(err.Error(), `"c"`) || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("Server(c) error = %q, want the name and the known names", err)
	}
}

func TestNeedsRestart(t *testing.T) {
	base := func() *Server {
		return &Server{
			Name: "s", Image: "i", Args: []string{"a"}, Env: map[string]string{"E": "1"},
			Secrets: map[string]string{"S": "s"}, Profile: "p", Sandbox: DefaultSandbox(),
		}
	}
	tests := []struct {
		desc   string
		change func(*Server)
		want   bool
	}{
		{"identical", func(*Server) {}, false},
		{"profile only", func(s *Server) { s.Profile = "q" }, false},
		{"audit_arguments only", func(s *Server) { s.AuditArguments = true }, false},
		{"image", func(s *Server) { s.Image = "j" }, true},
		{"args", func(s *Server) { s.Args = append(s.Args, "b") }, true},
		{"env", func(s *Server) { s.Env["E"] = "2" }, true},
		{"secrets", func(s *Server) { s.Secrets = nil }, true},
		{"url", func(s *Server) { s.URL = "https://x" }, true},
		{"oauth", func(s *Server) { s.OAuth = &OAuth{} }, true},
		{"sandbox memory", func(s *Server) { s.Sandbox.Memory++ }, true},
		{"sandbox mounts", func(s *Server) { s.Sandbox.Mounts = []Mount{{Source: "/a", Target: "/b"}} }, true},
	}
	for _, tt := range tests {
		o := base()
		tt.change(o)
		if got := base().NeedsRestart(o); got != tt.want {
			t.Errorf("%s: NeedsRestart = %v, want %v", tt.desc, got, tt.want)
		}
	}
	var nilServer *Server
	if !nilServer.NeedsRestart(base()) || nilServer.NeedsRestart(nil) {
		t.Errorf("nil NeedsRestart wrong")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(path, []byte("[servers.a]\nbuild = \"ctx\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Servers["a"].Build, filepath.Join(dir, "ctx"); got != want {
		t.Errorf("Build = %q, want %q", got, want)
	}
	if cfg.Path != path {
		t.Errorf("Path = %q, want %q", cfg.Path, path)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("x = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+":1:1: ") {
		t.Errorf("Load(bad) = %v, want error at %s:1:1", err, path)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(fullConfig)
	f.Add(policyConfig)
	f.Add("")
	f.Add("[servers.a]\nimage = \"x\"\nsandbox = { mounts = [\"~/a:/b:ro\"], memory = 1 }")
	f.Add("a = \"\"\"\nx\"\"\"\"\nb.'c'.\"d\\u0041\" = [1, {e = [2]}]\n[[t]]\nk = 1979-05-27T07:32:00Z # c")
	f.Add("[profiles.a]\nextends = \"a\"\ntools = { allow = [\"\"] }")
	f.Fuzz(func(t *testing.T, src string) {
		_, err := parse(testFile, []byte(src), fakeEnv{vars: map[string]string{"X": "/x"}, home: "/home"})
		if err == nil {
			return
		}
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			pe, ok := e.(*Error)
			if !ok {
				t.Fatalf("error %v (%T) is not an *Error", e, e)
			}
			if pe.Line < 1 || pe.Column < 1 {
				t.Fatalf("error %q has no position", pe)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	env := fakeEnv{vars: map[string]string{"WORK": "/work"}, home: "/home/u"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(testFile, []byte(fullConfig), env); err != nil {
			b.Fatal(err)
		}
	}
}
