package keychain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// indexName is the item holding the JSON array of names written through
// this package, which List returns. It is stored like a secret (chunked
// when large).
const indexName = reservedPrefix + "index"

// indexAttempts bounds the read-modify-write-verify rounds of updateIndex.
const indexAttempts = 4

// readIndex returns the sorted names in the index; a missing index is empty.
func (s *Store) readIndex(ctx context.Context) ([]string, error) {
	raw, err := s.read(ctx, indexName)
	if errors.Is(err, errAbsent) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var names []string
	if err := json.Unmarshal([]byte(raw), &names); err != nil {
		return nil, fmt.Errorf("index item %q is not a JSON array of names (%v): %w", indexName, err, errDamaged)
	}
	valid := make([]string, 0, len(names))
	for _, n := range names {
		if ValidName(n) == nil {
			valid = append(valid, n)
		}
	}
	slices.Sort(valid)
	return slices.Compact(valid), nil
}

// updateIndex adds name to the index (add) or removes it. The keychain has
// no transactions, and two processes may update the index at once (two
// sessions refreshing OAuth tokens), so it reads, modifies, writes and then
// reads again to check that its change survived, retrying after a short
// random pause if another writer overwrote it. The index only serves List:
// a lost entry never loses a secret.
func (s *Store) updateIndex(ctx context.Context, name string, add bool) error {
	for attempt := 1; attempt <= indexAttempts; attempt++ {
		if attempt > 1 {
			if err := pause(ctx, time.Duration(5+rand.IntN(20*attempt))*time.Millisecond); err != nil {
				return err
			}
		}
		names, err := s.readIndex(ctx)
		if errors.Is(err, errDamaged) {
			// Rebuilt from what this and later calls add.
			s.log.Warn().Err(err).Msg("index damaged; starting a new one")
			names, err = []string{}, nil
		}
		if err != nil {
			return err
		}
		if slices.Contains(names, name) == add {
			return nil
		}
		if add {
			names = append(names, name)
			slices.Sort(names)
		} else {
			names = slices.DeleteFunc(names, func(n string) bool { return n == name })
		}
		data, err := json.Marshal(names)
		if err != nil {
			return fmt.Errorf("encode index: %w", err)
		}
		if err := s.write(ctx, indexName, string(data)); err != nil {
			return fmt.Errorf("write index: %w", err)
		}
		names, err = s.readIndex(ctx)
		if err == nil && slices.Contains(names, name) == add {
			return nil
		}
		// Another writer replaced the index after us (or it became
		// unreadable): go round again.
	}
	return fmt.Errorf("index kept being overwritten by another writer (%d attempts)", indexAttempts)
}

// pause sleeps for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
