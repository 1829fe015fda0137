package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// The commands the README shows, run through the built binary as a user
// types them. `run` is what every other integration test drives; login,
// logout and status are in remote_test.go.

// runCLI runs cmd to its end within deadline and returns stdout, stderr and
// the exit code. A command still running at the deadline is killed and the
// test fails: a command that does not end is the bug.
func runCLI(t *testing.T, cmd *exec.Cmd, deadline time.Duration) (stdout, stderr string, code int, took time.Duration) {
	t.Helper()
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(deadline):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s still running after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(cmd.Args, " "), deadline, out.String(), errOut.String())
	}
	took = time.Since(began)
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code, took
}

// toolRow matches a row of the tools table: name, status, rule.
func toolRow(name, status string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+` + status + `\s`)
}

func TestToolsListsAndExits(t *testing.T) {
	e := newEnv(t, `profile = "safe"`, "[profiles.safe]\ntools.deny = [\"fork\"]\n")
	out, errOut, code, took := runCLI(t, e.command("tools", "probe", "--config", e.config), 2*time.Minute)
	if code != 0 {
		t.Fatalf("tools exited %d\n%s", code, errOut)
	}
	t.Logf("tools took %v (image build included on a first run)", took)
	if !regexp.MustCompile(`^server probe, profile safe, \d+ tools\n`).MatchString(out) {
		t.Errorf("no header line:\n%s", out)
	}
	for _, re := range []*regexp.Regexp{toolRow("identity", "allowed"), toolRow("echo", "allowed"), toolRow("fork", "hidden")} {
		if !re.MatchString(out) {
			t.Errorf("no row matching %s:\n%s", re, out)
		}
	}

	out, errOut, code, _ = runCLI(t, e.command("tools", "probe", "--json", "--config", e.config), time.Minute)
	if code != 0 {
		t.Fatalf("tools --json exited %d\n%s", code, errOut)
	}
	var got struct {
		Server  string
		Profile string
		Tools   []struct {
			Name    string
			Allowed bool
			Rule    string
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("tools --json: %v\n%s", err, out)
	}
	allowed := map[string]bool{}
	for _, tool := range got.Tools {
		allowed[tool.Name] = tool.Allowed
	}
	if got.Server != "probe" || got.Profile != "safe" || !allowed["identity"] || allowed["fork"] {
		t.Errorf("tools --json = %s", out)
	}
}

// TestToolsInterruptedLeavesNoContainer interrupts `tools` while it waits for
// a server that never answers: the container is removed before it exits.
func TestToolsInterruptedLeavesNoContainer(t *testing.T) {
	// The probe only sleeps with this flag: it never answers initialize.
	e := newEnv(t, `args = ["--sleep-child", "1h"]`, "")
	cmd := e.command("tools", "probe", "--config", e.config)
	var errOut syncBuffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	mine := filters.NewArgs(filters.Arg("label", "dev.mcp-sandbox.pid="+strconv.Itoa(cmd.Process.Pid)))
	count := func(all bool) int {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		list, err := e.docker.ContainerList(ctx, container.ListOptions{All: all, Filters: mine})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	deadline := time.Now().Add(2 * time.Minute) // a first run builds the image
	for count(false) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no running container of tools after 2m\n%s", errOut.String())
		}
		select {
		case <-exited:
			t.Fatalf("tools ended before it was interrupted: %v\n%s", waitErr, errOut.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	began := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) || ee.ExitCode() != 1 {
			t.Errorf("tools after SIGINT: %v, want exit status 1", waitErr)
		}
	case <-time.After(45 * time.Second):
		t.Fatalf("tools still running 45s after SIGINT\n%s", errOut.String())
	}
	t.Logf("tools exited %v after SIGINT", time.Since(began))
	if !strings.Contains(errOut.String(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted:\n%s", errOut.String())
	}
	// Teardown is done before the process exits: no waiting here.
	if n := count(true); n != 0 {
		t.Errorf("%d container(s) left after SIGINT", n)
	}
}

// readmeFirstRun returns the first code block after the README heading that
// says "First run": the command a newcomer pastes first.
func readmeFirstRun(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`^#+ .*[Ff]irst run`)
	var block []string
	inSection, inBlock := false, false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case !inSection:
			inSection = heading.MatchString(line)
		case strings.HasPrefix(line, "```"):
			if inBlock {
				return strings.Join(block, "\n")
			}
			inBlock = true
		case inBlock:
			block = append(block, line)
		}
	}
	t.Fatal("README.md has no code block under a \"First run\" heading")
	return ""
}

// copyCheckout copies the files a clone of the repository has (tracked, or
// new and not ignored) into a fresh directory, without build products.
func copyCheckout(t *testing.T) string {
	t.Helper()
	list, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("no git checkout to copy (%v)", err)
	}
	dst := t.TempDir()
	for _, name := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		src := filepath.Join(repoRoot, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or not a plain file
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestReadmeFirstRun runs the README's first-run block verbatim, in a fresh
// copy of the repository, as a newcomer pastes it: it must end, with exit
// status 0, within the deadline, and list the probe's tools.
func TestReadmeFirstRun(t *testing.T) {
	needDocker(t)
	block := readmeFirstRun(t)
	dir := copyCheckout(t)
	cmd := exec.Command("bash", "-eo", "pipefail", "-c", block)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for _, k := range []string{"MCP_SANDBOX_CONFIG", "GOOS", "GOARCH", "CGO_ENABLED"} {
		cmd.Env = append(cmd.Env, k+"=")
	}
	out, errOut, code, took := runCLI(t, cmd, 3*time.Minute)
	if code != 0 {
		t.Fatalf("the README's first run exited %d:\n%s\nstdout:\n%s\nstderr:\n%s", code, block, out, errOut)
	}
	t.Logf("the README's first run took %v", took)
	if !strings.HasPrefix(out, "server probe, profile probe-safe, ") {
		t.Errorf("no header line:\n%s", out)
	}
	for _, re := range []*regexp.Regexp{toolRow("identity", "allowed"), toolRow("fork", "hidden")} {
		if !re.MatchString(out) {
			t.Errorf("no row matching %s:\n%s", re, out)
		}
	}
}

// TestSecretCheckDoctor follows the README's secrets block: check and doctor
// name the missing secret and the command that sets it; after
// `printf %s "$TOKEN" | mcp-sandbox secret set NAME` both pass and
// `secret list` shows it; `secret rm` removes it.
func TestSecretCheckDoctor(t *testing.T) {
	e := newEnv(t, `secrets = { PROBE_TOKEN = "probe-token" }`, "")
	needKeychain(t, e.service)
	cli := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		cmd := e.command(append(args, "--config", e.config)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, errOut, code, _ := runCLI(t, cmd, time.Minute)
		return out, errOut, code
	}

	out, _, code := cli("", "check")
	if code != 3 || !strings.Contains(out, "$PROBE_TOKEN <- probe-token (MISSING: mcp-sandbox secret set probe-token)") {
		t.Errorf("check without the secret: exit %d\n%s", code, out)
	}
	out, _, code = cli("", "doctor")
	if code != 1 || !strings.Contains(out, `secret "probe-token" is missing: mcp-sandbox secret set probe-token`) {
		t.Errorf("doctor without the secret: exit %d\n%s", code, out)
	}

	// The README's pipe form: printf %s, no trailing newline.
	cmd := exec.Command("bash", "-c", `printf %s "$TOKEN" | "$BIN" secret set probe-token --config "$CONFIG"`)
	cmd.Env = append(e.command().Env, "TOKEN="+tokenValue, "BIN="+binary, "CONFIG="+e.config)
	_, errOut, code, _ := runCLI(t, cmd, time.Minute)
	if code != 0 {
		t.Fatalf("secret set: exit %d\n%s", code, errOut)
	}
	t.Cleanup(func() { cli("", "secret", "rm", "probe-token") })
	if strings.Contains(errOut, tokenValue) {
		t.Error("secret set printed the value")
	}

	out, _, code = cli("", "secret", "list")
	if code != 0 || out != "probe-token\n" {
		t.Errorf("secret list: exit %d, %q; want probe-token", code, out)
	}
	out, _, code = cli("", "check")
	if code != 0 || !strings.Contains(out, "$PROBE_TOKEN <- probe-token (in keychain)") {
		t.Errorf("check with the secret: exit %d\n%s", code, out)
	}
	out, _, code = cli("", "doctor")
	if code != 0 || !regexp.MustCompile(`(?m)^ok\s+docker\s+.*Engine .* at \S+://`).MatchString(out) {
		t.Errorf("doctor with the secret: exit %d\n%s", code, out)
	}
	if strings.Contains(out, tokenValue) {
		t.Error("doctor printed the secret")
	}

	if _, errOut, code := cli("", "secret", "rm", "probe-token"); code != 0 {
		t.Errorf("secret rm: exit %d\n%s", code, errOut)
	}
	if out, _, code := cli("", "secret", "list"); code != 0 || out != "" {
		t.Errorf("secret list after rm: exit %d, %q; want nothing", code, out)
	}
}

// TestPrepare: doctor names a missing image and the command that provides
// it; run (here through tools) says in one line that it builds; prepare
// builds a missing image, leaves a present one alone, builds again with
// --rebuild, and covers every server when none is named.
func TestPrepare(t *testing.T) {
	tag := "mcp-sandbox-test/probe-prepare:" + randHex(6)
	e := newEnv(t, "", "[servers.fresh]\nbuild = "+strconv.Quote(probeCtx)+"\nimage = "+strconv.Quote(tag)+"\n")
	removeImage := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = e.docker.ImageRemove(ctx, tag, image.RemoveOptions{Force: true})
	}
	t.Cleanup(removeImage)
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		out, errOut, code, _ := runCLI(t, e.command(append(args, "--config", e.config)...), 2*time.Minute)
		return out, errOut, code
	}
	freshLine := func(out string) string {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "[fresh]") && strings.Contains(line, "image") {
				return line
			}
		}
		return ""
	}

	out, _, _ := cli("doctor")
	if l := freshLine(out); !strings.Contains(l, "image "+tag+" is missing") || !strings.Contains(l, "mcp-sandbox prepare fresh") {
		t.Errorf("doctor before prepare: %q\n%s", l, out)
	}

	_, errOut, code := cli("tools", "fresh")
	if code != 0 {
		t.Fatalf("tools fresh: exit %d\n%s", code, errOut)
	}
	if n := strings.Count(errOut, "image "+tag+" is not here: building it before the server can start"); n != 1 {
		t.Errorf("tools on a missing image logs %d lines saying it builds, want 1:\n%s", n, errOut)
	}
	removeImage()

	out, errOut, code = cli("prepare", "fresh")
	if code != 0 || out != "fresh: image "+tag+" built from "+probeCtx+"\n" {
		t.Fatalf("prepare fresh: exit %d, %q\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "Successfully tagged "+tag) {
		t.Errorf("prepare shows no build progress on stderr:\n%s", errOut)
	}
	out, errOut, code = cli("prepare", "fresh")
	if code != 0 || out != "fresh: image "+tag+" present\n" || errOut != "" {
		t.Errorf("prepare fresh again: exit %d, %q, stderr %q; want present and no progress", code, out, errOut)
	}
	out, _, _ = cli("doctor")
	if l := freshLine(out); !strings.HasPrefix(l, "ok") || !strings.Contains(l, "image "+tag+" present") {
		t.Errorf("doctor after prepare: %q\n%s", l, out)
	}
	out, errOut, code = cli("prepare", "--rebuild", "fresh")
	if code != 0 || out != "fresh: image "+tag+" built from "+probeCtx+"\n" || !strings.Contains(errOut, "Successfully tagged") {
		t.Errorf("prepare --rebuild fresh: exit %d, %q\n%s", code, out, errOut)
	}
	out, errOut, code = cli("prepare")
	if code != 0 || !strings.Contains(out, "fresh: image "+tag+" present\n") || !regexp.MustCompile(`(?m)^probe: image `+regexp.QuoteMeta(probeImage)+` (present|built from)`).MatchString(out) {
		t.Errorf("prepare (all): exit %d, %q\n%s", code, out, errOut)
	}
	if _, errOut, code := cli("prepare", "nosuch"); code != 3 || !strings.Contains(errOut, "nosuch") {
		t.Errorf("prepare nosuch: exit %d\n%s", code, errOut)
	}
	if bytes.Contains([]byte(out), []byte("Step ")) {
		t.Errorf("build progress reached stdout:\n%s", out)
	}
}

// TestRunProfileRebuildNoWatch drives `run NAME --profile P --rebuild
// --no-watch` as a host would: the other profile governs, the image is
// rebuilt (and the log says so in one line).
func TestRunProfileRebuildNoWatch(t *testing.T) {
	e := newEnv(t, `profile = "safe"`, "[profiles.safe]\ntools.deny = [\"fork\"]\n\n[profiles.echo-only]\ntools.allow = [\"echo\"]\n")
	s := e.connect("--profile", "echo-only", "--rebuild", "--no-watch")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var names []string
	for tool, err := range s.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	if len(names) != 1 || names[0] != "echo" {
		t.Errorf("tools under --profile echo-only = %v, want [echo]", names)
	}
	if n := strings.Count(s.stderr.String(), "rebuild requested for image "+probeImage); n != 1 {
		t.Errorf("--rebuild logged %d lines saying it builds, want 1:\n%s", n, s.stderr.String())
	}
}

// TestCheckNamesLineAndColumn: the README's example of a bad key, through
// the binary.
func TestCheckNamesLineAndColumn(t *testing.T) {
	needBuild(t)
	config := filepath.Join(t.TempDir(), "mcp-sandbox.toml")
	if err := os.WriteFile(config, []byte("[servers.a]\nimage = \"x\"\n\n[servers.a.sandbox]\nnetwrk = \"none\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code, _ := runCLI(t, exec.Command(binary, "check", "--config", config), time.Minute)
	if want := config + `:5:1: unknown key "netwrk" in [sandbox] (want network,`; code != 3 || !strings.Contains(errOut, want) {
		t.Errorf("check of a bad key: exit %d, stderr %q; want 3 and %q", code, errOut, want)
	}
}
