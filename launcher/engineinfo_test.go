package launcher

import (
	"strings"
	"testing"
)

func TestEngineInfoNote(t *testing.T) {
	for _, tt := range []struct {
		info EngineInfo
		note bool
	}{
		{EngineInfo{Name: "Podman Engine", Version: "4.2.0"}, true},
		{EngineInfo{Name: "Podman Engine", Version: "3.4.4"}, true},
		{EngineInfo{Name: "Podman Engine", Version: "4.3.1"}, false},
		{EngineInfo{Name: "Podman Engine", Version: "4.10.0-dev"}, false},
		{EngineInfo{Name: "Docker Engine", Version: "1.13.0"}, false},
	} {
		note := tt.info.Note()
		if (note != "") != tt.note || tt.note && !strings.Contains(note, MinPodman) {
			t.Errorf("%v: Note() = %q, want a note: %v", tt.info, note, tt.note)
		}
	}
}
