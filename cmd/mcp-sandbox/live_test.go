package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim"
)

func parseConfig(t *testing.T, toml string) *profiles.Config {
	t.Helper()
	cfg, err := profiles.Parse(filepath.Join(t.TempDir(), "c.toml"), []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReloadSettings: a reload applies audit_arguments, the profile and the
// audit destination together, and applies nothing when it also changed what
// needs a restart.
func TestReloadSettings(t *testing.T) {
	dir := t.TempDir()
	one, two := filepath.Join(dir, "one.jsonl"), filepath.Join(dir, "two.jsonl")
	cur := parseConfig(t, "[audit]\npath = \""+one+"\"\n[servers.s]\nimage = \"x\"\n")
	audits := &auditLogs{log: zerolog.Nop()}
	defer audits.close()
	first, err := audits.use(cur)
	if err != nil {
		t.Fatal(err)
	}

	live := parseConfig(t, "[audit]\npath = \""+two+"\"\n[servers.s]\nimage = \"x\"\naudit_arguments = true\nprofile = \"p\"\n[profiles.p]\ntools.allow = [\"a\"]\n")
	set, restart, err := reloadSettings(cur, live, "s", "", audits)
	if err != nil || restart != nil {
		t.Fatalf("live reload: restart %q, err %v", restart, err)
	}
	if !set.AuditArguments || set.Policy.Name() != "p" || set.Audit == nil || set.Audit == first {
		t.Errorf("live reload applied %+v, want audit_arguments, profile p and a new audit file", set)
	}
	same, _, err := reloadSettings(cur, live, "s", "", audits)
	if err != nil || same.Audit != set.Audit {
		t.Errorf("an unchanged audit path reopened the file (%v)", err)
	}

	restartCfg := parseConfig(t, "keychain_service = \"k\"\n[servers.s]\nimage = \"x\"\naudit_arguments = true\n")
	set, restart, err = reloadSettings(cur, restartCfg, "s", "", audits)
	if err != nil || len(restart) == 0 || set != (shim.Settings{}) {
		t.Fatalf("keychain_service edit: settings %+v restart %q err %v, want a restart and nothing applied", set, restart, err)
	}
	if msg := restartMessage(restart); !strings.Contains(msg, "keychain_service") {
		t.Errorf("restart message %q does not name keychain_service", msg)
	}
}
