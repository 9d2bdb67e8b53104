package bridge

import (
	"strings"
	"testing"

	"github.com/ssews/ssews/sse"
)

// TestBatchSSEEncodesEachEntryOnce: a batch's SSE bytes, encoded into one buffer,
// are each entry's own (the same as encoding it alone, whatever its data, also when
// the buffer had to grow), capped so that nothing appended after them can change
// them, and an entry keeps them for every later batch and replay.
func TestBatchSSEEncodesEachEntryOnce(t *testing.T) {
	t.Parallel()
	events := []sse.Event{
		{Data: "plain", ID: "1"},
		{Type: "update", Data: strings.Repeat("line\n", 50), ID: "2"}, // more than the size hint
		{Data: "", ID: ""},
		{Type: "t", Data: "x\ny", ID: "4"},
	}
	entries := make([]*Entry, len(events))
	for i, ev := range events {
		entries[i] = newEntry(ev, nil)
	}
	entries[3].sse() // encoded alone before the batch: kept as it is
	wire, total := newBatch(entries).sse()
	sum := 0
	for i, w := range wire {
		want := sse.AppendEvent(nil, &events[i], events[i].ID != "")
		if string(w) != string(want) {
			t.Errorf("entry %d: batch bytes %q; want %q", i, w, want)
		}
		if cap(w) != len(w) {
			t.Errorf("entry %d: %d bytes with room for %d: an append could overwrite the next entry", i, len(w), cap(w))
		}
		if again := entries[i].sse(); &again[0] != &w[0] {
			t.Errorf("entry %d encoded twice", i)
		}
		sum += len(w)
	}
	if total != sum {
		t.Errorf("batch size %d; want %d", total, sum)
	}
}
