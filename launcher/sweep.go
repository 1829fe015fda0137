package launcher

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
)

// Sweep removes the containers, egress networks and Files volumes that launchers on this host
// left behind when they died: objects labelled managed by mcp-sandbox, with
// this host's name, whose pid label names a process that no longer exists (or
// that exists but started at another time than the label records, i.e. a
// reused pid). Objects of live launchers, of other hosts, and with unreadable
// labels are kept. It returns the number of containers removed.
func (l *Launcher) Sweep(ctx context.Context) (removed int, err error) {
	if err := l.ready(ctx); err != nil {
		return 0, err
	}
	f := filters.NewArgs(
		filters.Arg("label", LabelManaged+"=true"),
		filters.Arg("label", LabelHost+"="+l.host),
	)
	list, err := l.api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return 0, fmt.Errorf("sweep: list containers: %w", err)
	}
	var errs []error
	for _, c := range list {
		if !l.orphaned(c.Labels) {
			continue
		}
		err := l.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		switch {
		case err == nil:
			removed++
			l.log.Debug().Str("container", shortID(c.ID)).Str("server", c.Labels[LabelServer]).
				Str("pid", c.Labels[LabelPID]).Msg("removed orphaned container")
		case cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err):
			// Gone already, or someone else is removing it.
		default:
			errs = append(errs, fmt.Errorf("sweep: remove container %s: %w", shortID(c.ID), err))
		}
	}
	if err := l.sweepNetworks(ctx, f); err != nil {
		errs = append(errs, err)
	}
	vols, err := l.api.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("sweep: list volumes: %w", err))
		return removed, errors.Join(errs...)
	}
	for _, v := range vols.Volumes {
		if !l.orphaned(v.Labels) {
			continue
		}
		if err := l.api.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("sweep: remove volume %s: %w", v.Name, err))
		}
	}
	return removed, errors.Join(errs...)
}

// orphaned reports whether labels name a launcher process on this host that
// is gone.
func (l *Launcher) orphaned(labels map[string]string) bool {
	if labels[LabelHost] != l.host {
		return false
	}
	pid, err := strconv.Atoi(labels[LabelPID])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == l.pid && (labels[LabelPIDStart] == "" || labels[LabelPIDStart] == l.pidStart) {
		return false
	}
	return !processAlive(pid, labels[LabelPIDStart])
}

// parseStatStartTime extracts field 22 from the content of /proc/<pid>/stat.
// The command name (field 2) is in parentheses and may contain spaces and
// parentheses itself, so fields are counted from the last ')'.
func parseStatStartTime(stat string) (string, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return "", false
	}
	fields := strings.Fields(stat[i+1:])
	const idx = 22 - 3 // the fields after ')' start with field 3
	if len(fields) <= idx {
		return "", false
	}
	if _, err := strconv.ParseUint(fields[idx], 10, 64); err != nil {
		return "", false
	}
	return fields[idx], true
}
