package profiles

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// DefaultDebounce is the quiet period [Watch] waits for when
// WatchOptions.Debounce is zero.
const DefaultDebounce = 50 * time.Millisecond

// WatchOptions configures [Watch]. The zero value is ready to use.
type WatchOptions struct {
	// Debounce is how long the file must stay quiet after an event before
	// it is re-read; editors write in several steps. 0 means
	// DefaultDebounce.
	Debounce time.Duration
	// Current is the config the caller already holds, usually from Load.
	// Content identical to it is not reported. Watch still re-reads the
	// file once as soon as the watch is in place, so an edit made between
	// Load and Watch is not lost. When Current is nil, that first read is
	// reported like any later change, so the caller can take its first
	// snapshot from the watcher.
	Current *Config
	// Logger receives debug and warning messages; the zero Logger logs
	// nothing.
	Logger zerolog.Logger
}

// Watch follows the config file at path and calls onChange with each new
// valid snapshot, until ctx is done.
//
// It watches the file's directory, not the file, because editors save in
// three ways and all must be seen: writing in place, writing a temporary
// file and renaming it over the original, and renaming the original to a
// backup before writing a new file. When path is a symbolic link, the
// directory of its target is watched as well. After an event, Watch waits
// for Debounce of quiet, then reads and validates the whole file:
//
//   - valid and different from the last good content: onChange(cfg);
//   - byte-for-byte the same as the last good content: nothing;
//   - invalid, empty, or unreadable (deleted, say): onError(err), with the
//     same positioned errors as [Parse] for invalid content; the last good
//     config stays the caller's to keep, and the same error is not
//     reported twice in a row. An empty file counts as an error here
//     (unlike for Parse) because it is what a reader sees between the
//     truncate and the write of an in-place save.
//
// The first read also waits for Debounce, so the first onChange (when
// WatchOptions.Current is nil) comes Debounce after the watch is in place.
//
// A deleted file that is re-created is picked up. Callbacks run one at a
// time on Watch's goroutine; nil callbacks are skipped. Watch returns nil
// when ctx is done and an error only when the watch cannot be set up.
func Watch(ctx context.Context, path string, opts WatchOptions, onChange func(*Config), onError func(error)) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("watch config %s: %w", path, err)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config %s: %w", abs, err)
	}
	defer fw.Close()

	names := map[string]bool{abs: true}
	dirs := []string{filepath.Dir(abs)}
	if target, err := filepath.EvalSymlinks(abs); err == nil && target != abs {
		names[target] = true
		if d := filepath.Dir(target); d != dirs[0] {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		if err := fw.Add(d); err != nil {
			return fmt.Errorf("watch config directory %s: %w", d, err)
		}
	}
	r := newReloader(abs, opts, onChange, onError)
	relevant := func(name string) bool { return names[filepath.Clean(name)] }
	r.run(ctx, fw.Events, fw.Errors, relevant)
	return nil
}

// reloader is the event loop of Watch, kept apart from fsnotify so tests
// can drive it with their own channels.
type reloader struct {
	path     string
	debounce time.Duration
	log      zerolog.Logger
	onChange func(*Config)
	onError  func(error)

	last    [sha256.Size]byte // content of the last good config
	haveCfg bool
	lastErr string // last error reported, to report it once
}

func newReloader(path string, opts WatchOptions, onChange func(*Config), onError func(error)) *reloader {
	r := &reloader{
		path:     path,
		debounce: opts.Debounce,
		log:      opts.Logger.With().Str("config", path).Logger(),
		onChange: onChange,
		onError:  onError,
	}
	if r.debounce <= 0 {
		r.debounce = DefaultDebounce
	}
	if opts.Current != nil {
		r.last, r.haveCfg = opts.Current.sum, true
	}
	return r
}

func (r *reloader) run(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error, relevant func(string) bool) {
	// The first read waits for quiet too: a writer may be mid-save.
	timer := time.NewTimer(r.debounce)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if !relevant(ev.Name) {
				continue
			}
			r.log.Debug().Str("event", ev.Op.String()).Msg("config event")
			timer.Reset(r.debounce)
		case err, ok := <-errs:
			if !ok {
				return
			}
			// Typically an event queue overflow: events were lost, so
			// re-read to be sure.
			r.log.Warn().Err(err).Msg("config watch error; re-reading")
			timer.Reset(r.debounce)
		case <-timer.C:
			r.reload()
		}
	}
}

// reload reads and parses the file and reports the outcome.
func (r *reloader) reload() {
	data, err := os.ReadFile(r.path)
	if err != nil {
		r.fail(fmt.Errorf("reload config: %w", err))
		return
	}
	if len(data) == 0 {
		// Almost always an in-place save caught between truncate and
		// write; a config with no servers is never what the caller wants
		// to switch to. The write that follows brings another event.
		r.fail(fmt.Errorf("%s: config file is empty; keeping the last good config", r.path))
		return
	}
	sum := sha256.Sum256(data)
	if r.haveCfg && sum == r.last {
		r.lastErr = ""
		r.log.Debug().Msg("config unchanged")
		return
	}
	cfg, err := Parse(r.path, data)
	if err != nil {
		r.fail(err)
		return
	}
	r.last, r.haveCfg, r.lastErr = sum, true, ""
	r.log.Debug().Msg("config reloaded")
	if r.onChange != nil {
		r.onChange(cfg)
	}
}

func (r *reloader) fail(err error) {
	msg := err.Error()
	if msg == r.lastErr {
		return
	}
	r.lastErr = msg
	r.log.Debug().Err(err).Msg("config rejected")
	if r.onError != nil {
		r.onError(err)
	}
}
