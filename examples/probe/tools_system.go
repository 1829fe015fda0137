package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxReadFile bounds read_file so a stray /dev/zero cannot exhaust memory.
const maxReadFile = 16 << 20

// defaultDialTimeout applies when dial is called without timeout_ms.
const defaultDialTimeout = 2 * time.Second

// encodings lists the values read_env and read_file accept for "encoding",
// in the order the schema advertises them.
var encodings = []string{"raw", "base64", "base64url", "percent", "json", "hex"}

// addSystemTools registers the tools that test what the process may reach:
// its identity, the filesystem, the network and its environment.
func (p *probe) addSystemTools(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "identity",
		Description: "Report uid, gid, groups, capabilities, no_new_privs, seccomp mode, hostname, pid and whether the root filesystem is read-only.",
	}, p.identity)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "write_file",
		Description: "Try to write content to path (created 0600, truncated). Reports {ok, error}; a refusal is a result, not a failure.",
	}, writeFile)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "read_file",
		Description: "Return the contents of path (up to 16 MiB), optionally encoded like read_env.",
		InputSchema: schemaWithEncodingEnum[readFileIn](),
	}, readFile)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "list_dir",
		Description: "List the entries of a directory.",
	}, listDir)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "delete_file",
		Description: "Refuses to delete anything; exists for tool filtering tests.",
	}, deleteFile)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "dial",
		Description: "Try a TCP connection to address (host:port); with send, write it and return what arrives until EOF, 4 KiB or the timeout. Reports {ok, error, received}.",
	}, dial)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "fetch",
		Description: "HTTP GET a URL with Go's default client, which honours HTTP_PROXY/HTTPS_PROXY. Reports {ok, status, bytes, body (first KiB), error}.",
	}, fetch)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "network",
		Description: "List network interfaces and their addresses.",
	}, network)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "env",
		Description: "List the names (never the values) of all environment variables.",
	}, envNames)
	mcp.AddTool(srv, &mcp.Tool{
		Name: "read_env",
		Description: "Return the value of environment variable name, encoded as asked (raw, base64, base64url, percent, json, hex), " +
			"optionally wrapped in a sentence. The value appears in both the text content and structuredContent.",
		InputSchema: schemaWithEncodingEnum[readEnvIn](),
	}, readEnv)
	mcp.AddTool(srv, &mcp.Tool{
		Name: "env_hash",
		Description: "Return the SHA-256 of environment variable name's value, never the value: " +
			"proves the server holds a secret without showing it.",
	}, envHash)
}

// schemaWithEncodingEnum infers T's input schema and restricts its
// "encoding" property to the known encodings, so a typo is rejected before
// the handler runs.
func schemaWithEncodingEnum[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("infer schema: %v", err)) // a programming error, caught by any test
	}
	enum := make([]any, len(encodings))
	for i, e := range encodings {
		enum[i] = e
	}
	s.Properties["encoding"].Enum = enum
	return s
}

type identityOut struct {
	OS             string `json:"os"`
	UID            int    `json:"uid" jsonschema:"real user id; -1 where the OS has none"`
	GID            int    `json:"gid"`
	Groups         []int  `json:"groups" jsonschema:"supplementary group ids"`
	CapEff         string `json:"cap_eff" jsonschema:"effective capability set, hex as in /proc/self/status; empty if unknown"`
	CapPrm         string `json:"cap_prm" jsonschema:"permitted capability set"`
	CapBnd         string `json:"cap_bnd" jsonschema:"bounding capability set"`
	NoNewPrivs     bool   `json:"no_new_privs"`
	Seccomp        int    `json:"seccomp" jsonschema:"0 disabled, 1 strict, 2 filter"`
	StatusError    string `json:"status_error,omitempty" jsonschema:"why cap_*/no_new_privs/seccomp are unknown"`
	Hostname       string `json:"hostname"`
	ReadOnlyRoot   bool   `json:"read_only_root" jsonschema:"creating a file in / failed with EROFS"`
	RootWriteError string `json:"root_write_error,omitempty" jsonschema:"why creating a file in / failed, if it did"`
	PID            int    `json:"pid"`
	PidsMax        string `json:"pids_max,omitempty" jsonschema:"the pids cgroup limit (pids.max), if readable"`
	MemoryMax      string `json:"memory_max,omitempty" jsonschema:"the memory cgroup limit in bytes (memory.max, or memory.limit_in_bytes on cgroup v1), if readable"`
}

func (p *probe) identity(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, identityOut, error) {
	out := identityOut{
		OS:        runtime.GOOS,
		UID:       os.Getuid(),
		GID:       os.Getgid(),
		Groups:    []int{},
		PID:       os.Getpid(),
		PidsMax:   readCgroupLimit("pids.max", "pids/pids.max"),
		MemoryMax: readCgroupLimit("memory.max", "memory/memory.limit_in_bytes"),
	}
	if groups, err := os.Getgroups(); err == nil && groups != nil {
		out.Groups = groups
	}
	if st, err := readProcStatus(); err != nil {
		out.StatusError = err.Error()
	} else {
		out.CapEff, out.CapPrm, out.CapBnd = st.CapEff, st.CapPrm, st.CapBnd
		out.NoNewPrivs, out.Seccomp = st.NoNewPrivs, st.Seccomp
	}
	out.Hostname, _ = os.Hostname()

	// The kernel checks for a read-only mount before it checks permissions,
	// so EROFS means read-only even for a user who could not write anyway.
	f, err := os.CreateTemp(p.rootDir, ".probe-write-test-*")
	if err == nil {
		f.Close()
		os.Remove(f.Name())
	} else {
		out.ReadOnlyRoot = errors.Is(err, syscall.EROFS)
		out.RootWriteError = err.Error()
	}

	text := fmt.Sprintf("uid=%d gid=%d groups=%v cap_eff=%s cap_prm=%s no_new_privs=%t seccomp=%d read_only_root=%t hostname=%s pid=%d",
		out.UID, out.GID, out.Groups, orUnknown(out.CapEff), orUnknown(out.CapPrm), out.NoNewPrivs, out.Seccomp,
		out.ReadOnlyRoot, out.Hostname, out.PID)
	return textResult(text), out, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

type writeFileIn struct {
	Path    string `json:"path"`
	Content string `json:"content,omitempty"`
}

// outcome is the result of an attempt that may be refused.
type outcome struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty" jsonschema:"the error text, e.g. ending in 'read-only file system'"`
}

func writeFile(ctx context.Context, _ *mcp.CallToolRequest, in writeFileIn) (*mcp.CallToolResult, outcome, error) {
	if err := os.WriteFile(in.Path, []byte(in.Content), 0o600); err != nil {
		return textResult("write failed: " + err.Error()), outcome{Error: err.Error()}, nil
	}
	return textResult(fmt.Sprintf("wrote %d bytes to %s", len(in.Content), in.Path)), outcome{OK: true}, nil
}

type readFileIn struct {
	Path     string `json:"path"`
	Encoding string `json:"encoding,omitempty" jsonschema:"how to encode the contents; default raw"`
}

type readFileOut struct {
	Path    string `json:"path"`
	Content string `json:"content" jsonschema:"the contents, encoded as asked"`
	Size    int    `json:"size" jsonschema:"length of the raw contents in bytes"`
}

func readFile(ctx context.Context, _ *mcp.CallToolRequest, in readFileIn) (*mcp.CallToolResult, readFileOut, error) {
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, readFileOut{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReadFile+1))
	if err != nil {
		return nil, readFileOut{}, fmt.Errorf("read %s: %w", in.Path, err)
	}
	if len(b) > maxReadFile {
		return nil, readFileOut{}, fmt.Errorf("read %s: larger than %d bytes", in.Path, maxReadFile)
	}
	content, err := encode(string(b), in.Encoding)
	if err != nil {
		return nil, readFileOut{}, err
	}
	return textResult(content), readFileOut{Path: in.Path, Content: content, Size: len(b)}, nil
}

type listDirIn struct {
	Path string `json:"path"`
}

type dirEntry struct {
	Name string `json:"name"`
	Dir  bool   `json:"dir"`
}

type listDirOut struct {
	Entries []dirEntry `json:"entries"`
}

func listDir(ctx context.Context, _ *mcp.CallToolRequest, in listDirIn) (*mcp.CallToolResult, listDirOut, error) {
	des, err := os.ReadDir(in.Path)
	if err != nil {
		return nil, listDirOut{}, err
	}
	out := listDirOut{Entries: []dirEntry{}}
	var names []string
	for _, de := range des {
		out.Entries = append(out.Entries, dirEntry{Name: de.Name(), Dir: de.IsDir()})
		name := de.Name()
		if de.IsDir() {
			name += "/"
		}
		names = append(names, name)
	}
	return textResult(strings.Join(names, "\n")), out, nil
}

type deleteFileIn struct {
	Path string `json:"path"`
}

func deleteFile(ctx context.Context, _ *mcp.CallToolRequest, in deleteFileIn) (*mcp.CallToolResult, any, error) {
	return nil, nil, fmt.Errorf("refusing to delete %s: probe never deletes", in.Path)
}

type dialIn struct {
	Address   string `json:"address" jsonschema:"host:port"`
	TimeoutMS int    `json:"timeout_ms,omitempty" jsonschema:"connect timeout in milliseconds; default 2000"`
	Send      string `json:"send,omitempty" jsonschema:"written after connecting; then what arrives is read until EOF, 4 KiB or the timeout"`
}

type dialOut struct {
	OK         bool   `json:"ok"`
	Error      string `json:"error,omitempty"`
	RemoteAddr string `json:"remote_addr,omitempty"`
	Received   string `json:"received,omitempty"`
}

func dial(ctx context.Context, _ *mcp.CallToolRequest, in dialIn) (*mcp.CallToolResult, dialOut, error) {
	d := net.Dialer{Timeout: defaultDialTimeout}
	if in.TimeoutMS > 0 {
		d.Timeout = time.Duration(in.TimeoutMS) * time.Millisecond
	}
	conn, err := d.DialContext(ctx, "tcp", in.Address)
	if err != nil {
		return textResult("dial failed: " + err.Error()), dialOut{Error: err.Error()}, nil
	}
	defer conn.Close()
	remote := conn.RemoteAddr().String()
	out := dialOut{OK: true, RemoteAddr: remote}
	if in.Send != "" {
		out.Received, out.Error = exchange(conn, in.Send, d.Timeout)
	}
	return textResult("connected to " + remote), out, nil
}

type iface struct {
	Name  string   `json:"name"`
	Flags string   `json:"flags"`
	Addrs []string `json:"addrs"`
}

type networkOut struct {
	Interfaces []iface `json:"interfaces"`
}

func network(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, networkOut, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, networkOut{}, fmt.Errorf("list interfaces: %w", err)
	}
	out := networkOut{Interfaces: []iface{}}
	var lines []string
	for _, ni := range ifs {
		it := iface{Name: ni.Name, Flags: ni.Flags.String(), Addrs: []string{}}
		if addrs, err := ni.Addrs(); err == nil {
			for _, a := range addrs {
				it.Addrs = append(it.Addrs, a.String())
			}
		}
		out.Interfaces = append(out.Interfaces, it)
		lines = append(lines, fmt.Sprintf("%s %s", it.Name, strings.Join(it.Addrs, " ")))
	}
	return textResult(strings.Join(lines, "\n")), out, nil
}

type envOut struct {
	Names []string `json:"names"`
}

func envNames(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, envOut, error) {
	names := []string{}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	slices.Sort(names)
	return textResult(strings.Join(names, "\n")), envOut{Names: names}, nil
}

type readEnvIn struct {
	Name     string `json:"name"`
	Encoding string `json:"encoding,omitempty" jsonschema:"how to encode the value; default raw"`
	Wrap     bool   `json:"wrap,omitempty" jsonschema:"embed the value in a sentence: 'the value is <v> ok'"`
}

type readEnvOut struct {
	Name  string `json:"name"`
	Value string `json:"value" jsonschema:"the value, encoded and wrapped exactly like the text content"`
	Set   bool   `json:"set"`
}

func readEnv(ctx context.Context, _ *mcp.CallToolRequest, in readEnvIn) (*mcp.CallToolResult, readEnvOut, error) {
	raw, set := os.LookupEnv(in.Name)
	v, err := encode(raw, in.Encoding)
	if err != nil {
		return nil, readEnvOut{}, err
	}
	if in.Wrap {
		v = "the value is " + v + " ok"
	}
	return textResult(v), readEnvOut{Name: in.Name, Value: v, Set: set}, nil
}

// encode renders s in one of the encodings:
//
//   - "" or "raw": unchanged
//   - "base64": standard alphabet, padded (RFC 4648 §4)
//   - "base64url": URL-safe alphabet, unpadded (RFC 4648 §5, as in JWTs)
//   - "percent": query escaping as url.QueryEscape does (space becomes '+')
//   - "json": a JSON string literal, quotes included, as encoding/json
//     writes it without HTML escaping
//   - "hex": lower-case hex
//
// These are the forms in which a leaky server might hand a secret back, so
// redaction tests use them.
func encode(s, encoding string) (string, error) {
	switch encoding {
	case "", "raw":
		return s, nil
	case "base64":
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "base64url":
		return base64.RawURLEncoding.EncodeToString([]byte(s)), nil
	case "percent":
		return url.QueryEscape(s), nil
	case "json":
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			return "", fmt.Errorf("encode json: %w", err)
		}
		return strings.TrimSuffix(buf.String(), "\n"), nil
	case "hex":
		return hex.EncodeToString([]byte(s)), nil
	}
	return "", fmt.Errorf("unknown encoding %q (want one of %s)", encoding, strings.Join(encodings, ", "))
}

type envHashIn struct {
	Name string `json:"name"`
}

type envHashOut struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256" jsonschema:"hex SHA-256 of the value; empty when unset"`
	Set    bool   `json:"set"`
	Length int    `json:"length" jsonschema:"length of the value in bytes"`
}

func envHash(ctx context.Context, _ *mcp.CallToolRequest, in envHashIn) (*mcp.CallToolResult, envHashOut, error) {
	v, set := os.LookupEnv(in.Name)
	out := envHashOut{Name: in.Name, Set: set, Length: len(v)}
	if set {
		sum := sha256.Sum256([]byte(v))
		out.SHA256 = hex.EncodeToString(sum[:])
	}
	return textResult(fmt.Sprintf("%s: set=%v sha256=%s", in.Name, set, out.SHA256)), out, nil
}
