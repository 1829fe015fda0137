package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/cmd/mcp-sandbox/hostconfig"
	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// hostFlags are the flags of install, uninstall and import.
type hostFlags struct {
	commonFlags
	client  string
	file    string
	project string
	dryRun  bool
}

func newHostFlagSet(name, usage string, s Streams, hf *hostFlags) *flag.FlagSet {
	fs := newFlagSet(name, usage, s, &hf.commonFlags)
	fs.StringVar(&hf.client, "client", "", "the MCP host: "+clientNames())
	fs.StringVar(&hf.file, "file", "", "edit the host configuration file `PATH` instead of the host's user file")
	fs.StringVar(&hf.project, "project", "", "edit the host's file in project `DIR` (.mcp.json, .cursor/mcp.json, .vscode/mcp.json)")
	fs.BoolVar(&hf.dryRun, "dry-run", false, "print a unified diff of every file that would change, and change nothing")
	return fs
}

func clientNames() string {
	var n []string
	for _, c := range hostconfig.Clients() {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}

// hostFile resolves the client and its file.
func (hf *hostFlags) hostFile() (hostconfig.Client, string, error) {
	if hf.client == "" {
		return hostconfig.Client{}, "", usagef("--client is required (%s)", clientNames())
	}
	c, err := hostconfig.Lookup(hf.client)
	if err != nil {
		return c, "", usagef("%v", err)
	}
	switch {
	case hf.file != "" && hf.project != "":
		return c, "", usagef("give --file or --project, not both")
	case hf.file != "":
		p, err := filepath.Abs(hf.file)
		return c, p, err
	case hf.project != "":
		p, err := c.ProjectFile(hf.project)
		if err != nil {
			return c, "", usagef("%v", err)
		}
		p, err = filepath.Abs(p)
		return c, p, err
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return c, "", err
	}
	return c, c.UserFile(hostconfig.Env{GOOS: runtime.GOOS, Home: home, Getenv: os.Getenv}), nil
}

// readHostFile reads and parses the host file; a missing file is empty.
func readHostFile(c hostconfig.Client, path string) (*hostconfig.Document, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	doc, err := hostconfig.Parse(path, data, c)
	if err != nil {
		return nil, configErr(err)
	}
	return doc, nil
}

// launchFor is the host entry that runs server name: this binary's absolute
// path, "run NAME", and --config when the config is not where mcp-sandbox
// looks by default (a host passes no $MCP_SANDBOX_CONFIG).
func launchFor(name, configFile string) (hostconfig.Launch, error) {
	bin, err := os.Executable()
	if err != nil {
		return hostconfig.Launch{}, fmt.Errorf("cannot find this program's path: %w", err)
	}
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		bin = real
	}
	args := []string{"run", name}
	if def, err := defaultConfigPath(); err != nil || filepath.Clean(def) != filepath.Clean(configFile) {
		args = append(args, "--config", configFile)
	}
	return hostconfig.Launch{Command: bin, Args: args}, nil
}

func defaultConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "mcp-sandbox", "mcp-sandbox.toml"), nil
}

// runsUs reports whether a host entry runs mcp-sandbox, and which server.
func runsUs(e hostconfig.Entry) (string, bool) {
	base := strings.TrimSuffix(filepath.Base(filepath.ToSlash(e.Command)), ".exe")
	self, _ := os.Executable()
	if real, err := filepath.EvalSymlinks(self); err == nil {
		self = real
	}
	if base != "mcp-sandbox" && e.Command != self || len(e.Args) < 2 || e.Args[0] != "run" {
		return "", false
	}
	return e.Args[1], true
}

// writeOrDiff writes the files that changed, or with dry-run prints their
// diffs (with the given values redacted) to out.
type fileChange struct {
	path     string
	old, new []byte
}

func applyChanges(s Streams, dryRun bool, changes []fileChange, hide []string) error {
	red := redactor(hide)
	for _, c := range changes {
		if string(c.old) == string(c.new) {
			continue
		}
		if dryRun {
			diff := hostconfig.Diff(c.path, c.old, c.new)
			if red != nil {
				diff = red.String(diff)
			}
			fmt.Fprint(s.Out, diff)
			continue
		}
		backup, err := hostconfig.WriteFile(c.path, c.new, time.Now())
		if err != nil {
			return fmt.Errorf("write %s: %w", c.path, err)
		}
		if backup != "" {
			fmt.Fprintf(s.ErrOut, "wrote %s (backup: %s)\n", c.path, backup)
		} else {
			fmt.Fprintf(s.ErrOut, "wrote %s\n", c.path)
		}
	}
	return nil
}

func redactor(values []string) *redact.Redactor {
	if len(values) == 0 {
		return nil
	}
	var secrets []redact.Secret
	for i, v := range values {
		if len(v) >= redact.MinLength {
			secrets = append(secrets, redact.Secret{Name: fmt.Sprintf("value %d", i+1), Value: v})
		}
	}
	if len(secrets) == 0 {
		return nil
	}
	r, err := redact.New(secrets)
	if err != nil {
		return nil
	}
	return r
}

func cmdInstall(ctx context.Context, s Streams, args []string) error {
	var hf hostFlags
	flags := newHostFlagSet("install", "--client C [--file PATH | --project DIR] [--dry-run] [NAME…]", s, &hf)
	names, err := parseInterspersed(flags, args)
	if err != nil {
		return err
	}
	client, file, err := hf.hostFile()
	if err != nil {
		return err
	}
	cfg, err := loadConfig(hf.config)
	if err != nil {
		return err
	}
	all := len(names) == 0
	if all {
		for n := range cfg.Servers {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return configErr(fmt.Errorf("%s defines no servers", cfg.Path))
		}
	}
	for _, n := range names {
		if _, err := cfg.Server(n); err != nil {
			return configErr(err)
		}
	}
	doc, err := readHostFile(client, file)
	if err != nil {
		return err
	}
	var done []string
	for _, n := range names {
		// An entry of that name that runs something else is the user's
		// own server: replacing it would lose it (and its env).
		if e, ok := doc.Entry(n); ok {
			if _, ours := runsUs(e); !ours {
				if !all {
					return configErr(fmt.Errorf("entry %q in %s runs %q, not mcp-sandbox; move it with import, or remove or rename it first (nothing was changed)", n, file, e.Command))
				}
				fmt.Fprintf(s.ErrOut, "skipped %s: the entry of that name in %s runs %q, not mcp-sandbox\n", n, file, e.Command)
				continue
			}
		}
		done = append(done, n)
		l, err := launchFor(n, cfg.Path)
		if err != nil {
			return err
		}
		if _, err := doc.SetEntry(n, l); err != nil {
			return configErr(err)
		}
	}
	for _, n := range doc.Notes {
		fmt.Fprintln(s.ErrOut, "note:", n)
	}
	if !doc.Changed() {
		fmt.Fprintf(s.ErrOut, "%s already runs %s under mcp-sandbox; nothing to change\n", file, strings.Join(done, ", "))
		return nil
	}
	if err := applyChanges(s, hf.dryRun, []fileChange{{file, doc.Original(), doc.Bytes()}}, nil); err != nil {
		return err
	}
	if !hf.dryRun {
		fmt.Fprintf(s.ErrOut, "%s now starts %s through mcp-sandbox; restart %s to pick it up\n", client.Title, strings.Join(done, ", "), client.Title)
	}
	return nil
}

func cmdUninstall(ctx context.Context, s Streams, args []string) error {
	var hf hostFlags
	flags := newHostFlagSet("uninstall", "--client C [--file PATH | --project DIR] [--dry-run] [--restore | NAME…]", s, &hf)
	restore := flags.Bool("restore", false, "put back the host file as it was before mcp-sandbox first changed it (its oldest backup)")
	names, err := parseInterspersed(flags, args)
	if err != nil {
		return err
	}
	client, file, err := hf.hostFile()
	if err != nil {
		return err
	}
	if *restore {
		if len(names) > 0 {
			return usagef("--restore puts back the whole file; it takes no server names")
		}
		bs, err := hostconfig.Backups(file)
		if err != nil {
			return err
		}
		if len(bs) == 0 {
			return configErr(fmt.Errorf("%s has no mcp-sandbox backup to restore", file))
		}
		if hf.dryRun {
			old, _ := os.ReadFile(file)
			back, err := os.ReadFile(bs[0])
			if err != nil {
				return err
			}
			fmt.Fprint(s.Out, hostconfig.Diff(file, old, back))
			return nil
		}
		from, err := hostconfig.Restore(file, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(s.ErrOut, "restored %s from %s\n", file, from)
		return nil
	}
	doc, err := readHostFile(client, file)
	if err != nil {
		return err
	}
	var removed []string
	if len(names) == 0 {
		for _, e := range doc.Entries() {
			if _, ok := runsUs(e); ok {
				names = append(names, e.Name)
			}
		}
	}
	for _, n := range names {
		e, ok := doc.Entry(n)
		if !ok {
			fmt.Fprintf(s.ErrOut, "%s has no entry %q\n", file, n)
			continue
		}
		if _, ours := runsUs(e); !ours {
			return configErr(fmt.Errorf("entry %q in %s does not run mcp-sandbox; not removing it (nothing was changed)", n, file))
		}
		if _, err := doc.RemoveEntry(n); err != nil {
			return err
		}
		removed = append(removed, n)
	}
	for _, n := range doc.Notes {
		fmt.Fprintln(s.ErrOut, "note:", n)
	}
	if !doc.Changed() {
		fmt.Fprintf(s.ErrOut, "%s has no mcp-sandbox entries to remove\n", file)
		return nil
	}
	if err := applyChanges(s, hf.dryRun, []fileChange{{file, doc.Original(), doc.Bytes()}}, nil); err != nil {
		return err
	}
	if !hf.dryRun {
		fmt.Fprintf(s.ErrOut, "removed %s from %s\n", strings.Join(removed, ", "), file)
	}
	return nil
}

// freeName returns base, or base-2, base-3… when taken holds it.
func freeName(base string, taken map[string]bool) string {
	n := base
	for i := 2; taken[n]; i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	return n
}

// importItem is one converted entry on its way through import.
type importItem struct {
	entry string
	conv  *hostconfig.Conversion
	block string
}

func cmdImport(ctx context.Context, s Streams, args []string) error {
	var hf hostFlags
	flags := newHostFlagSet("import", "--client C [--file PATH | --project DIR] [--yes] [--dry-run]", s, &hf)
	yes := flags.Bool("yes", false, "accept every default (credentials to the keychain, mounts read-only unless the server is known to write) without asking")
	pos, err := parseInterspersed(flags, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("import takes no arguments (got %q)", pos)
	}
	client, file, err := hf.hostFile()
	if err != nil {
		return err
	}
	var ask func(string, bool) bool
	if !*yes && !hf.dryRun {
		if !s.InTTY || !s.ErrTTY {
			return usagef("import asks about each credential and mount; run it in a terminal, or pass --yes to accept the defaults (see them first with --dry-run)")
		}
		ask = terminalAsk(s)
	}
	cfgPath, err := configPath(hf.config)
	if err != nil {
		return configErr(err)
	}
	if cfgPath, err = filepath.Abs(cfgPath); err != nil {
		return err
	}
	cfgText, err := os.ReadFile(cfgPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var cfg *profiles.Config
	if len(cfgText) > 0 {
		if cfg, err = profiles.Parse(cfgPath, cfgText); err != nil {
			return configErr(fmt.Errorf("fix the configuration first: %w", err))
		}
	} else {
		cfgText = []byte("# mcp-sandbox configuration (see `mcp-sandbox help`).\n")
	}
	doc, err := readHostFile(client, file)
	if err != nil {
		return err
	}
	home, _ := os.UserHomeDir()
	opts := hostconfig.ConvertOptions{
		Stat: func(p string) bool { _, err := os.Stat(p); return err == nil },
		Home: home,
		Ask:  ask,
		ItemName: func(server, key string) string {
			n, err := keychain.ItemName("import", server, key)
			if err != nil {
				return server + "." + key
			}
			return n
		},
	}
	from := client.Title + " (" + filepath.Base(file) + ")"

	var items []importItem
	var skipped [][2]string
	newText := cfgText
	taken := map[string]bool{}
	takenProfile := map[string]bool{}
	if cfg != nil {
		for n := range cfg.Servers {
			taken[n] = true
		}
		for n := range cfg.Profiles {
			takenProfile[n] = true
		}
	}
	for _, e := range doc.Entries() {
		if srv, ours := runsUs(e); ours {
			skipped = append(skipped, [2]string{e.Name, "it already runs mcp-sandbox (server " + srv + ")"})
			continue
		}
		conv, err := hostconfig.Convert(e, opts)
		var cc *hostconfig.CannotConvert
		if errors.As(err, &cc) {
			skipped = append(skipped, [2]string{e.Name, cc.Reason})
			continue
		} else if err != nil {
			return err
		}
		if taken[conv.Server.Name] {
			skipped = append(skipped, [2]string{e.Name, fmt.Sprintf("%s already defines a server %q; rename one of them", cfgPath, conv.Server.Name)})
			continue
		}
		if i := slices.IndexFunc(conv.Secrets, func(sec hostconfig.Secret) bool { return len(sec.Value) < redact.MinLength }); i >= 0 {
			skipped = append(skipped, [2]string{e.Name, fmt.Sprintf("the value of %s is shorter than %d bytes and cannot be redacted safely", conv.Secrets[i].Use, redact.MinLength)})
			continue
		}
		// Every imported server pins its tool definitions, through a
		// profile of its own (pin is a profile key).
		conv.Server.Pin = true
		conv.Server.Profile = freeName(conv.Server.Name+"-imported", takenProfile)
		block := conv.Server.TOML(from)
		cand := hostconfig.AppendTOML(newText, block)
		if _, err := profiles.Parse(cfgPath, cand); err != nil {
			skipped = append(skipped, [2]string{e.Name, err.Error()})
			continue
		}
		newText = cand
		taken[conv.Server.Name] = true
		takenProfile[conv.Server.Profile] = true
		items = append(items, importItem{entry: e.Name, conv: conv, block: block})
	}

	w := s.ErrOut
	for _, sk := range skipped {
		fmt.Fprintf(w, "left as it was: %s: %s\n", sk[0], sk[1])
	}
	if len(items) == 0 {
		fmt.Fprintf(w, "nothing to import from %s\n", file)
		return nil
	}
	// Credentials anywhere in the host file stay out of what is printed
	// (a diff's context lines can show entries left as they were).
	var hide []string
	for _, e := range doc.Entries() {
		for _, m := range []map[string]string{e.Env, e.Headers} {
			for k, v := range m {
				if hostconfig.CredentialName(k) || hostconfig.CredentialValue(v) {
					hide = append(hide, v)
				}
			}
		}
	}
	for _, it := range items {
		fmt.Fprintf(w, "import: %s → [servers.%s] (%s)\n", it.entry, it.conv.Server.Name, it.conv.Server.Source)
		for _, sec := range it.conv.Secrets {
			fmt.Fprintf(w, "  keychain: %s ← %s\n", sec.Item, sec.Use)
			hide = append(hide, sec.Value)
		}
		for _, n := range it.conv.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if len(items) > 0 {
		fmt.Fprintln(w, "the imported servers pin their tool definitions (pin = true in their [profiles.NAME-imported]); a changed or new tool stays hidden until mcp-sandbox trust NAME")
	}

	// The host file as it will be once every server is ready.
	for _, it := range items {
		l, err := launchFor(it.conv.Server.Name, cfgPath)
		if err != nil {
			return err
		}
		if _, err := doc.SetEntry(it.entry, l); err != nil {
			return configErr(err)
		}
	}
	if hf.dryRun {
		return applyChanges(s, true, []fileChange{{file, doc.Original(), doc.Bytes()}, {cfgPath, cfgText0(cfgText, cfg), newText}}, hide)
	}

	// 1. Credentials into the keychain.
	store := keychain.New(keychain.Options{Service: keychain.ServiceName(serviceOf(cfg))})
	for _, it := range items {
		for _, sec := range it.conv.Secrets {
			if err := store.Set(ctx, sec.Item, sec.Value); err != nil {
				return fmt.Errorf("store %s in the keychain: %w (nothing else was changed)", sec.Use, err)
			}
		}
	}
	// 2. The new servers into mcp-sandbox.toml.
	if err := applyChanges(s, false, []fileChange{{cfgPath, cfgText0(cfgText, cfg), newText}}, nil); err != nil {
		return err
	}
	newCfg, err := profiles.Parse(cfgPath, newText)
	if err != nil {
		return configErr(err)
	}
	// 3. Prepare each server; 4. rewrite only the entries that are ready.
	doc, err = readHostFile(client, file)
	if err != nil {
		return err
	}
	var failed []string
	for _, it := range items {
		fmt.Fprintf(w, "preparing %s…\n", it.conv.Server.Name)
		if err := prepareServer(ctx, s, newCfg, it.conv.Server.Name); err != nil {
			fmt.Fprintf(w, "left as it was: %s: preparing server %s failed: %v\n  [servers.%s] stays in %s; once it is ready: mcp-sandbox install --client %s %s\n",
				it.entry, it.conv.Server.Name, err, it.conv.Server.Name, cfgPath, client.Name, it.conv.Server.Name)
			failed = append(failed, it.entry)
			continue
		}
		l, err := launchFor(it.conv.Server.Name, cfgPath)
		if err != nil {
			return err
		}
		if _, err := doc.SetEntry(it.entry, l); err != nil {
			return configErr(err)
		}
	}
	if err := applyChanges(s, false, []fileChange{{file, doc.Original(), doc.Bytes()}}, nil); err != nil {
		return err
	}
	fmt.Fprintf(w, "imported %d of %d entries; restart %s to use them. The backup next to %s still holds the old entries, credentials included: delete it once you are satisfied.\n",
		len(items)-len(failed), len(doc.Entries()), client.Title, filepath.Base(file))
	if len(failed) > 0 {
		return fmt.Errorf("%d entries could not be prepared and were left as they were", len(failed))
	}
	return nil
}

// cfgText0 is the file's old content for the diff: empty for a new file.
func cfgText0(text []byte, cfg *profiles.Config) []byte {
	if cfg == nil {
		return nil
	}
	return text
}

func serviceOf(cfg *profiles.Config) string {
	if cfg == nil {
		return ""
	}
	return cfg.KeychainService
}

// prepareServer makes a local server ready to start, as `prepare` does:
// its image is built or pulled when missing, so the host's next start does
// not wait. Remote servers need nothing.
func prepareServer(ctx context.Context, s Streams, cfg *profiles.Config, name string) error {
	srv, err := cfg.Server(name)
	if err != nil {
		return err
	}
	if srv.Remote() {
		return nil
	}
	l, err := launcher.New(launcher.Options{Progress: s.ErrOut})
	if err != nil {
		return err
	}
	defer l.Close()
	// Secrets do not go into images: an empty set is enough here.
	_, err = l.Prepare(ctx, containerSpec(srv, &keychain.Resolved{}, false))
	return err
}

// terminalAsk asks yes/no questions on the terminal.
func terminalAsk(s Streams) func(string, bool) bool {
	r := bufio.NewReader(s.In)
	return func(q string, def bool) bool {
		hint := "[y/N]"
		if def {
			hint = "[Y/n]"
		}
		for {
			fmt.Fprintf(s.ErrOut, "%s %s ", q, hint)
			line, err := r.ReadString('\n')
			switch strings.ToLower(strings.TrimSpace(line)) {
			case "":
				return def
			case "y", "yes":
				return true
			case "n", "no":
				return false
			}
			if err != nil {
				return def
			}
		}
	}
}

// configErr marks err (a host file or configuration problem) for exit
// code 3.
func configErr(err error) error {
	if err == nil {
		return nil
	}
	return &configError{err}
}
