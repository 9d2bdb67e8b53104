package bridge

import (
	"strconv"
	"time"

	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// ring is the in-memory StreamLog: the last maxEvents entries, and no more than
// maxBytes of them, with an index from id to position for O(1) resume.
//
// Ids it assigns have the form "<epoch>-<seq>": epoch is the log's creation time in
// base 36 and seq counts events from 1. They are unique for the life of the stream,
// across upstream reconnects, and an id from an earlier stream (another epoch) is
// never mistaken for one of this stream's.
type ring struct {
	entries   []*Entry // circular, by absolute sequence number mod len
	first     uint64   // sequence number of the oldest entry held
	next      uint64   // sequence number the next entry gets
	bytes     int
	maxBytes  int
	index     map[string]uint64 // id -> sequence number of the newest entry with it
	epoch     string
	assignSeq uint64
}

var _ StreamLog = (*ring)(nil)

func newRing(maxEvents, maxBytes int) *ring {
	return &ring{
		entries:  make([]*Entry, max(1, maxEvents)),
		maxBytes: maxBytes,
		index:    make(map[string]uint64, maxEvents),
		epoch:    strconv.FormatInt(time.Now().UnixNano(), 36),
	}
}

// Append implements StreamLog.
func (r *ring) Append(ev sse.Event, orig *ws.Message) *Entry {
	if ev.ID == "" {
		r.assignSeq++
		ev.ID = r.epoch + "-" + strconv.FormatUint(r.assignSeq, 10)
	}
	e := newEntry(ev, orig)
	if r.next-r.first == uint64(len(r.entries)) {
		r.evict()
	}
	r.entries[r.next%uint64(len(r.entries))] = e
	r.index[ev.ID] = r.next
	r.next++
	r.bytes += e.size
	for r.bytes > r.maxBytes && r.next-r.first > 1 {
		r.evict()
	}
	return e
}

// evict drops the oldest entry.
func (r *ring) evict() {
	slot := r.first % uint64(len(r.entries))
	e := r.entries[slot]
	r.entries[slot] = nil
	r.bytes -= e.size
	if seq, ok := r.index[e.Event.ID]; ok && seq == r.first {
		delete(r.index, e.Event.ID)
	}
	r.first++
}

// After implements StreamLog.
func (r *ring) After(id string) ([]*Entry, bool) {
	seq, ok := r.index[id]
	if !ok {
		return nil, false
	}
	out := make([]*Entry, 0, r.next-seq-1)
	for s := seq + 1; s < r.next; s++ {
		out = append(out, r.entries[s%uint64(len(r.entries))])
	}
	return out, true
}
