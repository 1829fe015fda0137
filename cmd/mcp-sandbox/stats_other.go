//go:build !unix

package main

import (
	"context"

	"github.com/rs/zerolog"
)

// logStatsOnSignal does nothing where there is no SIGUSR1.
func logStatsOnSignal(context.Context, zerolog.Logger) {}
