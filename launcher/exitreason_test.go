package launcher

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStderrTailKeepsTheLastLines(t *testing.T) {
	var tail stderrTail
	for i := 1; i <= 25; i++ {
		tail.add(fmt.Sprintf("line %d", i))
	}
	var want []string
	for i := 16; i <= 25; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	if diff := cmp.Diff(want, tail.get()); diff != "" {
		t.Errorf("tail (-want +got):\n%s", diff)
	}
	tail.add(strings.Repeat("x", 4000))
	got := tail.get()
	if last := got[len(got)-1]; len(last) > maxTailLine+len("…") || !strings.HasSuffix(last, "…") {
		t.Errorf("a long line is kept as %d bytes", len(last))
	}
}
