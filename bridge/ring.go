package bridge

import (
	"strconv"
	"time"

	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// ring is the in-memory StreamLog: the last maxEvents entries, and no more than
// maxBytes of them. It keeps no index from id to entry: a map insert and delete per
// event cost a fast stream a tenth of its CPU, while a resume, once per client
// connection, scans at most the replay bound (1,024 entries by default, a few
// microseconds) from the newest entry back.
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
	epoch     string
	assignSeq uint64
	// slab is where the next entries go: a fast stream allocates them entrySlab at
	// a time rather than one per event.
	slab []Entry
}

// entrySlab is how many entries one allocation holds, for events of up to
// slabMaxData bytes. A slab stays in memory while any of its entries is referenced,
// so a log may keep up to entrySlab-1 evicted small events beyond its bounds: 64 KiB
// of data at most; larger events get an allocation of their own.
const (
	entrySlab   = 64
	slabMaxData = 1 << 10
)

// newEntry is the entry of ev, from the slab when ev is small.
func (r *ring) newEntry(ev sse.Event, orig *ws.Message) *Entry {
	if len(ev.Data) > slabMaxData || orig != nil && len(orig.Data) > slabMaxData {
		return newEntry(ev, orig)
	}
	if len(r.slab) == 0 {
		r.slab = make([]Entry, entrySlab)
	}
	e := &r.slab[0]
	r.slab = r.slab[1:]
	e.init(ev, orig)
	return e
}

var _ StreamLog = (*ring)(nil)

func newRing(maxEvents, maxBytes int) *ring {
	return &ring{
		entries:  make([]*Entry, max(1, maxEvents)),
		maxBytes: maxBytes,
		epoch:    strconv.FormatInt(time.Now().UnixNano(), 36),
	}
}

// Append implements StreamLog.
func (r *ring) Append(ev sse.Event, orig *ws.Message) *Entry {
	if ev.ID == "" {
		r.assignSeq++
		ev.ID = r.epoch + "-" + strconv.FormatUint(r.assignSeq, 10)
	}
	e := r.newEntry(ev, orig)
	if r.next-r.first == uint64(len(r.entries)) {
		r.evict()
	}
	r.entries[r.next%uint64(len(r.entries))] = e
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
	r.first++
}

// After implements StreamLog.
func (r *ring) After(id string) ([]*Entry, bool) {
	seq, ok := r.find(id)
	if !ok {
		return nil, false
	}
	out := make([]*Entry, 0, r.next-seq-1)
	for s := seq + 1; s < r.next; s++ {
		out = append(out, r.entries[s%uint64(len(r.entries))])
	}
	return out, true
}

// find returns the sequence number of the newest entry held with id.
func (r *ring) find(id string) (uint64, bool) {
	for seq := r.next; seq > r.first; seq-- {
		if r.entries[(seq-1)%uint64(len(r.entries))].Event.ID == id {
			return seq - 1, true
		}
	}
	return 0, false
}
