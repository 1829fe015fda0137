package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const profileA = `
[profiles.edit]
tools.allow = ["echo", "calls", "get_*"]
`

const profileB = `
[profiles.edit]
tools.allow = ["echo", "calls", "identity"]
`

func toolNames(t *testing.T, s *session) []string {
	t.Helper()
	res, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// TestHotReload edits the profile in each of the ways editors save a file;
// each save reaches the host as list_changed and a new filtered list.
func TestHotReload(t *testing.T) {
	e := newEnv(t, `profile = "edit"`, profileA)
	s := e.connect()
	if got, want := toolNames(t, s), []string{"calls", "echo", "get_time"}; !slices.Equal(got, want) {
		t.Fatalf("initial tools %v, want %v", got, want)
	}
	saves := []struct {
		name string
		save func(path string, data []byte) error
	}{
		{"write in place", func(path string, data []byte) error {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				return err
			}
			if _, err := f.Write(data); err != nil {
				return err
			}
			return f.Close()
		}},
		{"rename over", func(path string, data []byte) error {
			tmp := path + ".tmp~"
			if err := os.WriteFile(tmp, data, 0o644); err != nil {
				return err
			}
			return os.Rename(tmp, path)
		}},
		{"backup and rename", func(path string, data []byte) error {
			if err := os.Rename(path, path+"~"); err != nil {
				return err
			}
			return os.WriteFile(path, data, 0o644)
		}},
	}
	profiles := []string{profileB, profileA}
	wants := [][]string{{"calls", "echo", "identity"}, {"calls", "echo", "get_time"}}
	n := 0
	for _, sv := range saves {
		for i := range profiles {
			data := []byte(e.configText(`profile = "edit"`, profiles[i]))
			if err := sv.save(e.config, data); err != nil {
				t.Fatalf("%s: %v", sv.name, err)
			}
			s.waitNote(t, "notifications/tools/list_changed", 10*time.Second)
			if got := toolNames(t, s); !slices.Equal(got, wants[i]) {
				t.Errorf("%s #%d: tools %v, want %v", sv.name, n, got, wants[i])
			}
			n++
		}
	}

	// An invalid edit keeps the last good policy and names line and column.
	bad := strings.Replace(e.configText(`profile = "edit"`, profileB), "tools.allow", "tools.alow", 1)
	if err := os.WriteFile(e.config, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.stderr.String(), "alow") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(s.stderr.String(), "alow") {
		t.Errorf("the invalid edit was not reported in the log:\n%s", s.stderr.String())
	}
	if got, want := toolNames(t, s), wants[1]; !slices.Equal(got, want) {
		t.Errorf("after an invalid edit: tools %v, want the last good %v", got, want)
	}
}

// TestHiddenToolNeverReachesServer calls a hidden tool: the host gets the
// profile's error, the probe never sees the call, and the audit says why.
func TestHiddenToolNeverReachesServer(t *testing.T) {
	e := newEnv(t, `profile = "edit"`, profileA+`tools.deny = ["*delete*"]`+"\n")
	s := e.connect()
	ctx := context.Background()
	for _, name := range []string{"delete_file", "DELETE_FILE", "identity"} {
		_, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{"path": "/x"}})
		if err == nil {
			t.Errorf("calling hidden tool %q succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), `profile "edit"`) || !strings.Contains(err.Error(), name) {
			t.Errorf("error for %q does not name the tool and profile: %v", name, err)
		}
	}
	s.call(t, "echo", map[string]any{"text": "secret-argument-value"})
	var calls struct {
		Calls []string `json:"calls"`
	}
	structured(t, s.call(t, "calls", nil), &calls)
	if want := []string{"echo", "calls"}; !slices.Equal(calls.Calls, want) {
		t.Errorf("the probe received %v, want only %v", calls.Calls, want)
	}
	s.Close()
	waitExit(t, s.cmd, 30*time.Second)

	recs := readAudit(t, e.audit)
	type brief struct{ Name, Decision string }
	var got []brief
	for _, r := range recs {
		got = append(got, brief{r.Name, r.Decision})
		if r.Server != "probe" || r.Profile != "edit" || r.Client != "integration-host/1.0" {
			t.Errorf("audit record %+v: wrong server, profile or client", r)
		}
	}
	want := []brief{{"delete_file", "blocked"}, {"DELETE_FILE", "blocked"}, {"identity", "blocked"}, {"echo", "allowed"}, {"calls", "allowed"}}
	if !slices.Equal(got, want) {
		t.Errorf("audit records %v, want %v", got, want)
	}
	raw, _ := os.ReadFile(e.audit)
	if strings.Contains(string(raw), "secret-argument-value") || strings.Contains(string(raw), `"/x"`) {
		t.Errorf("audit file holds argument values:\n%s", raw)
	}
}

type auditRecord struct {
	Server, Profile, Client, Method, Name, URI, Decision, Rule string
	ArgumentsSHA256                                            string          `json:"arguments_sha256"`
	Arguments                                                  json.RawMessage `json:"arguments"`
}

// TestAuditArgumentsLive turns audit_arguments on in a running session: the
// call before the edit is audited as a hash, the call after it verbatim.
func TestAuditArgumentsLive(t *testing.T) {
	e := newEnv(t, "", "")
	s := e.connect()
	s.call(t, "echo", map[string]any{"text": "before-the-edit"})
	if err := os.WriteFile(e.config, []byte(e.configText("audit_arguments = true", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitStderr(t, `"audit_arguments":true`, 10*time.Second)
	s.call(t, "echo", map[string]any{"text": "after-the-edit"})
	s.Close()
	waitExit(t, s.cmd, 30*time.Second)

	recs := readAudit(t, e.audit)
	if len(recs) != 2 {
		t.Fatalf("audit has %d records, want 2: %+v", len(recs), recs)
	}
	if recs[0].Arguments != nil || recs[0].ArgumentsSHA256 == "" {
		t.Errorf("call before the edit: arguments %s, hash %q; want the hash only", recs[0].Arguments, recs[0].ArgumentsSHA256)
	}
	if got := string(recs[1].Arguments); got != `{"text":"after-the-edit"}` {
		t.Errorf("call after the edit recorded arguments %s, want them verbatim", got)
	}
}

func readAudit(t *testing.T, path string) []auditRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("audit file: %v", err)
	}
	defer f.Close()
	var recs []auditRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}
