package hostconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff"
)

// backupInfix joins a file's name and its backup's timestamp:
// claude_desktop_config.json.mcp-sandbox-backup-20261202T021500Z.
const backupInfix = ".mcp-sandbox-backup-"

// WriteFile replaces path's content with data: it first copies the current
// file (if any) to a timestamped backup next to it (mode 0600: it may hold
// the credentials an import moved to the keychain), then writes a temporary
// file in the same directory with the old file's mode (0600 for a new
// file) and renames it over path, so a reader sees the old or the new file,
// never half of one. A symlink at path is followed. It returns the backup's
// path ("" when there was no file).
func WriteFile(path string, data []byte, now time.Time) (backup string, err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	mode := fs.FileMode(0o600)
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
		if backup, err = writeBackup(path, old, now); err != nil {
			return "", err
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", err
		}
	default:
		return "", err
	}
	return backup, atomicWrite(path, data, mode)
}

func writeBackup(path string, data []byte, now time.Time) (string, error) {
	stamp := now.UTC().Format("20060102T150405Z")
	for i := 1; ; i++ {
		name := path + backupInfix + stamp
		if i > 1 {
			name += fmt.Sprintf("-%d", i)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		return name, nil
	}
}

func atomicWrite(path string, data []byte, mode fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Backups returns path's backups, oldest first.
func Backups(path string) ([]string, error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	all, err := filepath.Glob(globQuote(path) + backupInfix + "*")
	if err != nil {
		return nil, err
	}
	// Timestamps sort as text; "-2" suffixes sort after their stamp.
	slices.SortFunc(all, func(a, b string) int { return strings.Compare(backupKey(a), backupKey(b)) })
	return all, nil
}

func backupKey(name string) string {
	i := strings.LastIndex(name, backupInfix)
	stamp := name[i+len(backupInfix):]
	if len(stamp) == len("20060102T150405Z") {
		stamp += "-1"
	}
	return stamp
}

func globQuote(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	if filepath.Separator == '\\' {
		return s
	}
	return r.Replace(s)
}

// Restore puts back the oldest backup of path (the file as it was before
// mcp-sandbox first changed it), after backing up the current file in
// turn. It returns the backup it restored.
func Restore(path string, now time.Time) (string, error) {
	bs, err := Backups(path)
	if err != nil {
		return "", err
	}
	if len(bs) == 0 {
		return "", fmt.Errorf("%s has no mcp-sandbox backup to restore", path)
	}
	data, err := os.ReadFile(bs[0])
	if err != nil {
		return "", err
	}
	if cur, err := os.ReadFile(path); err == nil && string(cur) == string(data) {
		return bs[0], nil
	}
	if _, err := WriteFile(path, data, now); err != nil {
		return "", err
	}
	return bs[0], nil
}

// Diff returns a unified diff from old to new of the file at path, "" when
// they are equal.
func Diff(path string, old, new []byte) string {
	return udiff.Unified("a/"+filepath.ToSlash(path), "b/"+filepath.ToSlash(path), string(old), string(new))
}
