// Command sandboxprobe is the program inside the launcher's test image. It
// runs the steps named by its arguments in order, so one small static binary
// covers every test:
//
//	info         print one JSON line: uid, gid, effective capabilities, no_new_privs
//	cat:PATH     print one JSON line: the file's mode, owner and content (or the error)
//	write:PATH   print one JSON line saying whether PATH could be created
//	stderr:TEXT  write TEXT and a newline to stderr
//	bigerr:N     write one stderr line of N bytes
//	exit:N       exit with status N
//	echo         copy stdin to stdout until EOF
//	block        wait forever, ignoring stdin
//
// Without arguments it runs "stderr:sandboxprobe ready" and "echo".
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	steps := os.Args[1:]
	if len(steps) == 0 {
		steps = []string{"stderr:sandboxprobe ready", "echo"}
	}
	out := json.NewEncoder(os.Stdout)
	for _, step := range steps {
		verb, arg, _ := strings.Cut(step, ":")
		switch verb {
		case "info":
			_ = out.Encode(info())
		case "cat":
			_ = out.Encode(catFile(arg))
		case "write":
			res := map[string]string{"path": arg}
			if err := os.WriteFile(arg, []byte("x"), 0o600); err != nil {
				res["error"] = err.Error()
			} else {
				res["ok"] = "written"
			}
			_ = out.Encode(res)
		case "stderr":
			fmt.Fprintln(os.Stderr, arg)
		case "bigerr":
			n, _ := strconv.Atoi(arg)
			fmt.Fprintln(os.Stderr, strings.Repeat("e", n))
		case "exit":
			n, _ := strconv.Atoi(arg)
			os.Exit(n)
		case "echo":
			buf := make([]byte, 1<<20)
			if _, err := io.CopyBuffer(os.Stdout, os.Stdin, buf); err != nil {
				fmt.Fprintln(os.Stderr, "echo:", err)
				os.Exit(2)
			}
		case "block":
			select {}
		default:
			fmt.Fprintln(os.Stderr, "unknown step", step)
			os.Exit(3)
		}
	}
}

func info() map[string]any {
	res := map[string]any{"uid": os.Getuid(), "gid": os.Getgid()}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		res["error"] = err.Error()
		return res
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch key {
		case "CapEff", "CapBnd", "NoNewPrivs":
			res[strings.ToLower(key)] = strings.TrimSpace(val)
		}
	}
	return res
}

func catFile(path string) map[string]any {
	res := map[string]any{"path": path}
	fi, err := os.Stat(path)
	if err != nil {
		res["error"] = err.Error()
		return res
	}
	res["mode"] = fi.Mode().Perm().String()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		res["uid"] = int(st.Uid)
		res["gid"] = int(st.Gid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		res["error"] = err.Error()
		return res
	}
	res["content"] = string(b)
	return res
}
