package bridge

import (
	"strings"
	"testing"

	"github.com/ssews/ssews/sse"
)

// TestEntrySSECarriesIDsButNoEmptyOne: a logged event goes out with its id, so any
// client can resume from it; the gap event has none and writes no id line, which
// would reset the client's last event id.
func TestEntrySSECarriesIDsButNoEmptyOne(t *testing.T) {
	logged := newEntry(sse.Event{ID: "e-1", Data: "x"}, nil)
	if got := string(logged.sse()); !strings.Contains(got, "id: e-1\n") {
		t.Errorf("logged event %q; want its id line", got)
	}
	gap := gapEntry("gap", "gone-1")
	got := string(gap.sse())
	for _, line := range strings.Split(got, "\n") {
		if line == "id" || strings.HasPrefix(line, "id:") {
			t.Errorf("gap event %q has an id line", got)
		}
	}
	if !strings.Contains(got, "event: gap\n") {
		t.Errorf("gap event %q; want its type", got)
	}
}
