package hostconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/tailscale/hujson"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the golden sections of testdata/*.txtar")

const bin = "/opt/mcp-sandbox/bin/mcp-sandbox"

// existing is the fake file system of the fixtures: these host paths exist.
func existing(p string) bool { return p == "/home/u/docs" }

const oldTOML = `# my servers
keychain_service = "mcp-sandbox"

[servers.notes] # hand-written
image = "notes:1"
`

// TestFixtures runs install, uninstall and import on each host's
// real-format fixture and compares the files with the golden sections.
func TestFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			client, err := Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			before := section(t, ar, "before.json")

			// install probe and github (github exists in some fixtures:
			// rewritten in place then).
			doc := parse(t, before, client)
			for _, n := range []string{"probe", "github"} {
				if _, err := doc.SetEntry(n, Launch{Command: bin, Args: []string{"run", n}}); err != nil {
					t.Fatal(err)
				}
			}
			installed := doc.Bytes()
			got["install.json"] = string(installed)
			checkJSON(t, client, before, installed)
			for _, n := range []string{"probe", "github"} {
				e, ok := parse(t, installed, client).Entry(n)
				if !ok || e.Command != bin || !slices.Equal(e.Args, []string{"run", n}) || e.Env != nil {
					t.Errorf("installed entry %s = %+v", n, e)
				}
				if client.StdioType && e.Type != "stdio" {
					t.Errorf("entry %s: type %q, want stdio", n, e.Type)
				}
			}
			// Idempotent: a second install changes nothing.
			again := parse(t, installed, client)
			for _, n := range []string{"probe", "github"} {
				if changed, err := again.SetEntry(n, Launch{Command: bin, Args: []string{"run", n}}); err != nil || changed {
					t.Errorf("second install of %s: changed=%v err=%v", n, changed, err)
				}
			}
			if again.Changed() {
				t.Errorf("second install changed the file:\n%s", Diff("f", installed, again.Bytes()))
			}

			// uninstall both.
			doc = parse(t, installed, client)
			for _, n := range []string{"probe", "github"} {
				if ok, err := doc.RemoveEntry(n); err != nil || !ok {
					t.Fatalf("uninstall %s: %v %v", n, ok, err)
				}
			}
			got["uninstall.json"] = string(doc.Bytes())
			checkJSON(t, client, before, doc.Bytes())
			if ok, _ := doc.RemoveEntry("probe"); ok {
				t.Error("second uninstall found the entry again")
			}

			// import.
			doc = parse(t, before, client)
			var blocks []string
			var notes strings.Builder
			var values []string
			for _, e := range doc.Entries() {
				for _, m := range []map[string]string{e.Env, e.Headers} {
					for k, v := range m {
						if (CredentialName(k) || CredentialValue(v)) && variableIn(e) == "" {
							values = append(values, v)
						}
					}
				}
				conv, err := Convert(e, ConvertOptions{Stat: existing, Home: "/home/u"})
				var cc *CannotConvert
				if errors.As(err, &cc) {
					fmt.Fprintf(&notes, "%s: left as it was: %s\n", e.Name, cc.Reason)
					continue
				} else if err != nil {
					t.Fatal(err)
				}
				conv.Server.Pin = true
				blocks = append(blocks, conv.Server.TOML(client.Title))
				for _, s := range conv.Secrets {
					fmt.Fprintf(&notes, "%s: keychain item %s (%s)\n", e.Name, s.Item, s.Use)
				}
				for _, n := range conv.Notes {
					fmt.Fprintf(&notes, "%s: %s\n", e.Name, n)
				}
				if _, err := doc.SetEntry(e.Name, Launch{Command: bin, Args: []string{"run", conv.Server.Name}}); err != nil {
					t.Fatal(err)
				}
			}
			imported := doc.Bytes()
			checkJSON(t, client, before, imported)
			toml := AppendTOML([]byte(oldTOML), blocks...)
			if !bytes.HasPrefix(toml, []byte(oldTOML)) {
				t.Error("the existing TOML text was not kept")
			}
			checkLoads(t, toml)
			got["import.json"] = string(imported)
			got["import.toml"] = string(toml)
			got["import.notes"] = notes.String()
			got["import.diff"] = Diff(client.Name+".json", before, imported)
			for _, v := range values {
				for _, k := range []string{"import.json", "import.toml", "import.notes"} {
					if strings.Contains(got[k], v) {
						t.Errorf("%s holds the credential %q", k, v)
					}
				}
			}
			// Import is idempotent: the rewritten entries are left alone.
			again = parse(t, imported, client)
			for _, e := range again.Entries() {
				if _, err := Convert(e, ConvertOptions{Stat: existing}); err == nil {
					t.Errorf("entry %s converts a second time", e.Name)
				}
			}

			compareGolden(t, file, ar, got)
		})
	}
}

func parse(t *testing.T, data []byte, c Client) *Document {
	t.Helper()
	d, err := Parse("f.json", data, c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func section(t *testing.T, ar *txtar.Archive, name string) []byte {
	for _, f := range ar.Files {
		if f.Name == name {
			return f.Data
		}
	}
	t.Fatalf("no section %s", name)
	return nil
}

// checkJSON checks an edited file: it parses, keeps every top-level key
// but the servers' in order and unchanged, keeps every comment, and is
// strict JSON when the original was.
func checkJSON(t *testing.T, c Client, before, after []byte) {
	t.Helper()
	v, err := hujson.Parse(after)
	if err != nil {
		t.Fatalf("edited file does not parse: %v\n%s", err, after)
	}
	if old, _ := hujson.Parse(before); old.IsStandard() && !v.IsStandard() {
		t.Errorf("edited file is no longer strict JSON:\n%s", after)
	}
	std := func(b []byte) []byte {
		b, err := hujson.Standardize(slices.Clone(b))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !json.Valid(std(after)) {
		t.Fatalf("not JSON:\n%s", after)
	}
	var o, n orderedTop
	if err := json.Unmarshal(std(before), &o); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(std(after), &n)
	o.drop(c.Key)
	n.drop(c.Key)
	if diff := cmp.Diff(o, n); diff != "" {
		t.Errorf("unrelated keys changed (-before +after):\n%s", diff)
	}
	oc, _ := hujson.Parse(before)
	want := comments(&oc)
	have := comments(&v)
	for _, c := range want {
		if !slices.Contains(have, c) {
			t.Errorf("comment %q was dropped", c)
		}
	}
}

// orderedTop is a top-level object as an ordered list of key, raw value.
type orderedTop []struct {
	Key string
	Val string
}

func (o *orderedTop) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		*o = append(*o, struct{ Key, Val string }{k.(string), string(raw)})
	}
	return nil
}

func (o *orderedTop) drop(k string) {
	*o = slices.DeleteFunc(*o, func(e struct{ Key, Val string }) bool { return e.Key == k })
}

// checkLoads loads the imported mcp-sandbox.toml as check and run do and
// asserts that every imported server is pinned through its own profile.
func checkLoads(t *testing.T, text []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mcp-sandbox.toml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := profiles.Load(path)
	if err != nil {
		t.Fatalf("the imported config does not load: %v\n%s", err, text)
	}
	for name, srv := range cfg.Servers {
		if name == "notes" {
			continue
		}
		pol, err := cfg.Policy(name, "")
		if err != nil {
			t.Fatalf("server %s: %v", name, err)
		}
		if pol == nil || !pol.Pin() || srv.Profile != name+"-imported" {
			t.Errorf("server %s: profile %q; want its own pinned profile", name, srv.Profile)
		}
	}
}

func compareGolden(t *testing.T, file string, ar *txtar.Archive, got map[string]string) {
	t.Helper()
	names := []string{"install.json", "uninstall.json", "import.json", "import.toml", "import.notes", "import.diff"}
	if *update {
		out := &txtar.Archive{Comment: ar.Comment, Files: []txtar.File{{Name: "before.json", Data: section(t, ar, "before.json")}}}
		for _, n := range names {
			out.Files = append(out.Files, txtar.File{Name: n, Data: []byte(got[n])})
		}
		if err := os.WriteFile(file, txtar.Format(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, n := range names {
		if diff := cmp.Diff(string(section(t, ar, n)), got[n]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", n, diff)
		}
	}
}
