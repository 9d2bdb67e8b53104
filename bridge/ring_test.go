package bridge

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ssews/ssews/sse"
)

func ids(entries []*Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Event.ID
	}
	return out
}

func TestRingAssignsUniqueIDsAndKeepsUpstreamOnes(t *testing.T) {
	t.Parallel()
	r := newRing(8, 1<<20)
	a := r.Append(sse.Event{Data: "a"}, nil)
	b := r.Append(sse.Event{Data: "b", ID: "up-7"}, nil)
	c := r.Append(sse.Event{Data: "c"}, nil)
	if !strings.HasPrefix(a.Event.ID, r.epoch+"-") || a.Event.ID == c.Event.ID {
		t.Errorf("assigned ids %q, %q; want unique <epoch>-<seq>", a.Event.ID, c.Event.ID)
	}
	if b.Event.ID != "up-7" {
		t.Errorf("upstream id %q; want it kept", b.Event.ID)
	}
	if r2 := newRing(8, 1<<20); r2.epoch == r.epoch {
		t.Errorf("two streams share epoch %q: an old id could match a new stream", r.epoch)
	}
}

func TestRingAfter(t *testing.T) {
	t.Parallel()
	r := newRing(4, 1<<20)
	for i := range 6 {
		r.Append(sse.Event{Data: "x", ID: fmt.Sprint(i)}, nil)
	}
	cases := []struct {
		id    string
		want  string
		found bool
	}{
		{"2", "[3 4 5]", true},
		{"5", "[]", true},
		{"1", "[]", false}, // evicted by the event bound
		{"nope", "[]", false},
	}
	for _, c := range cases {
		got, found := r.After(c.id)
		if fmt.Sprint(ids(got)) != c.want || found != c.found {
			t.Errorf("After(%q) = %v, %v; want %s, %v", c.id, ids(got), found, c.want, c.found)
		}
	}
}

func TestRingByteBound(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1000)
	r := newRing(100, 4*(wireForms*1000+entryOverhead+1)) // room for exactly 4
	for i := range 10 {
		r.Append(sse.Event{Data: big, ID: fmt.Sprint(i)}, nil)
	}
	if r.bytes > r.maxBytes {
		t.Errorf("ring holds %d bytes; bound %d", r.bytes, r.maxBytes)
	}
	if got, _ := r.After("6"); fmt.Sprint(ids(got)) != "[7 8 9]" {
		t.Errorf("After(6) = %v; want [7 8 9]", ids(got))
	}
	if _, found := r.After("5"); found {
		t.Error("entry 5 should have been evicted by the byte bound")
	}
	// One entry larger than the bound is still kept: the newest event always is.
	r.Append(sse.Event{Data: strings.Repeat("y", 10000), ID: "huge"}, nil)
	if got, found := r.After("huge"); !found || len(got) != 0 {
		t.Errorf("the newest entry must stay in the log")
	}
}

func TestRingRepeatedIDResumesAfterNewest(t *testing.T) {
	t.Parallel()
	r := newRing(8, 1<<20)
	r.Append(sse.Event{Data: "a", ID: "7"}, nil)
	r.Append(sse.Event{Data: "b", ID: "7"}, nil) // an event that inherited the id
	r.Append(sse.Event{Data: "c", ID: "8"}, nil)
	got, _ := r.After("7")
	if len(got) != 1 || got[0].Event.Data != "c" {
		t.Errorf("After(7) = %v; want only the event after the newest with id 7 (no duplicate)", ids(got))
	}
}

func TestSubscriberBounds(t *testing.T) {
	t.Parallel()
	small := newEntry(sse.Event{Data: "x"}, nil)
	s := newSubscriber(2, 1<<20, clientSSE)
	for i := range 5 {
		if !s.offer(small) {
			t.Fatalf("a client being set up refused event %d: only bytes bound its queue", i)
		}
	}
	s.take(nil)
	s.start()
	first, second, third := s.offer(small), s.offer(small), s.offer(small)
	if !first || !second || third {
		t.Errorf("event bound: offers %v %v %v; want 2 accepted, the third refused", first, second, third)
	}
	big := newEntry(sse.Event{Data: strings.Repeat("x", 1000)}, nil)
	s = newSubscriber(100, int64(big.size)+500, clientSSE)
	s.start()
	if !s.offer(big) {
		t.Error("first big entry refused")
	}
	if s.offer(big) {
		t.Error("byte bound: second big entry accepted over the bound")
	}
	s.take(nil)
	if !s.offer(big) {
		t.Error("room made by the client must be usable again")
	}
	huge := newEntry(sse.Event{Data: strings.Repeat("x", 5000)}, nil)
	s = newSubscriber(10, int64(huge.size)/2, clientSSE)
	if !s.offer(huge) {
		t.Error("an entry over the byte bound must still go into an empty queue")
	}
}

// TestRingAllocatesSmallEntriesInSlabs: small events cost no allocation of their
// own; a large one gets its own, so that a slab never keeps large evicted data.
func TestRingAllocatesSmallEntriesInSlabs(t *testing.T) {
	r := newRing(1024, 64<<20)
	small := sse.Event{Data: strings.Repeat("x", 100), ID: "1"}
	if n := testing.AllocsPerRun(1000, func() { r.Append(small, nil) }); n > 0.1 {
		t.Errorf("a small event costs %.2f allocations; want one slab per %d", n, entrySlab)
	}
	large := sse.Event{Data: strings.Repeat("x", slabMaxData+1), ID: "2"}
	if n := testing.AllocsPerRun(100, func() { r.Append(large, nil) }); n < 1 {
		t.Errorf("a large event costs %.2f allocations; want its own entry", n)
	}
}

// BenchmarkRingAppend is the log's cost per event of a fast shared stream.
func BenchmarkRingAppend(b *testing.B) {
	r := newRing(1024, 64<<20)
	ev := sse.Event{Type: "update", Data: strings.Repeat("x", 100)}
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev.ID = ids[i%len(ids)]
		r.Append(ev, nil)
		i++
	}
}

// BenchmarkRingAfterOldest is a resume from the oldest of 1,024 entries: the
// longest search of the log, once per resuming client.
func BenchmarkRingAfterOldest(b *testing.B) {
	r := newRing(1024, 64<<20)
	for i := range 1024 {
		r.Append(sse.Event{Data: "x", ID: fmt.Sprint(i)}, nil)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := r.After("0"); !ok {
			b.Fatal("oldest entry not found")
		}
	}
}
