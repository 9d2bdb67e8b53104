package bridge

import (
	"sync"

	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// StreamLog is the history of one shared stream: it gives every event an id and
// replays what came after an id. The hub's fan-out only talks to this interface, so a
// log kept in a broker (Redis Streams, say) can give every ssews instance the same ids
// and replay without touching the fan-out. The in-memory ring is the first
// implementation. Callers serialise Append and After.
type StreamLog interface {
	// Append stores ev and returns its entry. An event without an id gets one that
	// is unique for the life of the log.
	Append(ev sse.Event, orig *ws.Message) *Entry
	// After returns the entries that came after the one with id, oldest first, and
	// false when id is not in the log (never seen, or evicted).
	After(id string) ([]*Entry, bool)
}

// Entry is one event of a shared stream, encoded at most once per wire format however
// many clients it goes to.
type Entry struct {
	Event sse.Event
	// orig is the upstream's own message when the upstream speaks WebSocket: WebSocket
	// clients of a WebSocket upstream get it as it came, text or binary.
	orig *ws.Message
	// size bounds queues and the log in bytes: what the entry may come to hold.
	size int

	sseOnce sync.Once
	sseWire []byte

	// Per frame kind: the message's frame bytes (wire) and the size of its
	// payload, made once, written as they are to every client of that kind.
	frameOnce [3]sync.Once
	wires     [3][]byte
	payloads  [3]int
}

// entryOverhead is what an entry costs beyond its data: fields, framing, bookkeeping.
const entryOverhead = 256

// wireForms is how many copies of its data an entry may hold: the event, the
// upstream's own message, its SSE bytes and a WebSocket frame.
const wireForms = 4

func newEntry(ev sse.Event, orig *ws.Message) *Entry {
	e := new(Entry)
	e.init(ev, orig)
	return e
}

// init makes e, a zero Entry, the entry of ev.
func (e *Entry) init(ev sse.Event, orig *ws.Message) {
	e.Event, e.orig = ev, orig
	e.size = wireForms*len(ev.Data) + len(ev.ID) + len(ev.Type) + entryOverhead
}

// sse is the event's wire form for EventSource clients, with its id so any client
// can resume from it. Every entry of the log has one; an entry without (the gap
// event) leaves the client's last event id as it was, rather than resetting it.
func (e *Entry) sse() []byte {
	var buf []byte
	return e.sseInto(&buf)
}

// sseInto is sse, encoding into the room left in *buf if the entry has no wire form
// yet: a batch encodes its entries into one buffer, one allocation for all of them.
// The entry's bytes are capped, so nothing appended to *buf later can touch them.
func (e *Entry) sseInto(buf *[]byte) []byte {
	e.sseOnce.Do(func() {
		start := len(*buf)
		*buf = sse.AppendEvent(*buf, &e.Event, e.Event.ID != "")
		e.sseWire = (*buf)[start:len(*buf):len(*buf)]
	})
	return e.sseWire
}

// sseSize is room for the entry's SSE bytes when its data has no line break.
func (e *Entry) sseSize() int {
	const fields = len("event: \nid: \ndata: \n\n")
	return fields + len(e.Event.Type) + len(e.Event.ID) + len(e.Event.Data)
}

// frame kinds, the index of Entry.frames.
const (
	frameJSON = iota
	frameRaw
	frameOrig
)

// frameKind is the kind of WebSocket message a client of the given format gets.
func (e *Entry) frameKind(format config.Format) int {
	switch {
	case e.orig != nil:
		return frameOrig
	case format == config.FormatRaw:
		return frameRaw
	}
	return frameJSON
}

// wire is the event's WebSocket frame bytes for a client of the given format, for
// ws.Conn.TryWriteFrames and SendFrame, and the size of its payload: made once per
// kind for every client.
func (e *Entry) wire(format config.Format) ([]byte, int) {
	kind := e.frameKind(format)
	e.frameOnce[kind].Do(func() {
		switch kind {
		case frameOrig:
			e.wires[kind], e.payloads[kind] = ws.ServerFrame(e.orig.Binary, e.orig.Data), len(e.orig.Data)
		case frameRaw:
			e.wires[kind], e.payloads[kind] = rawFrame(&e.Event)
		default:
			// Retry goes with the event on which the upstream set it.
			e.wires[kind], e.payloads[kind] = jsonFrame(&e.Event, e.Event.HasRetry)
		}
	})
	return e.wires[kind], e.payloads[kind]
}
