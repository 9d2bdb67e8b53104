package bridge

import (
	"encoding/json"
	"sync"

	"github.com/gorilla/websocket"

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

	frameOnce [3]sync.Once
	frames    [3]*websocket.PreparedMessage
	frameLen  [3]int
}

// entryOverhead is what an entry costs beyond its data: fields, framing, bookkeeping.
const entryOverhead = 256

// wireForms is how many copies of its data an entry may hold: the event, its SSE
// bytes and a prepared WebSocket frame (payload and frame).
const wireForms = 4

func newEntry(ev sse.Event, orig *ws.Message) *Entry {
	return &Entry{Event: ev, orig: orig, size: wireForms*len(ev.Data) + len(ev.ID) + len(ev.Type) + entryOverhead}
}

// sse is the event's wire form for EventSource clients, always with its id so any
// client can resume from it.
func (e *Entry) sse() []byte {
	e.sseOnce.Do(func() { e.sseWire = sse.AppendEvent(nil, &e.Event, true) })
	return e.sseWire
}

// frame kinds, the index of Entry.frames.
const (
	frameJSON = iota
	frameRaw
	frameOrig
)

// frame is the event's WebSocket message for a client of the given format, prepared
// once so its frame bytes are shared by every client.
func (e *Entry) frame(format config.Format) (*websocket.PreparedMessage, int) {
	kind := frameJSON
	switch {
	case e.orig != nil:
		kind = frameOrig
	case format == config.FormatRaw:
		kind = frameRaw
	}
	e.frameOnce[kind].Do(func() {
		typ, data := websocket.TextMessage, []byte(nil)
		switch kind {
		case frameOrig:
			data = e.orig.Data
			if e.orig.Binary {
				typ = websocket.BinaryMessage
			}
		case frameRaw:
			data = []byte(e.Event.Data)
		default:
			data = jsonFrameOf(&e.Event)
		}
		pm, err := websocket.NewPreparedMessage(typ, data)
		if err != nil { // only fails for bad message types
			pm, _ = websocket.NewPreparedMessage(websocket.TextMessage, nil)
		}
		e.frames[kind], e.frameLen[kind] = pm, len(data)
	})
	return e.frames[kind], e.frameLen[kind]
}

// jsonFrameOf is the format=json frame of a shared stream's event: retry appears on
// the event on which the upstream set it.
func jsonFrameOf(ev *sse.Event) []byte {
	var b []byte
	if ev.HasRetry {
		b, _ = json.Marshal(&jsonFrameRetry{Event: ev.TypeOrDefault(), Data: ev.Data, ID: ev.ID, Retry: ev.Retry})
	} else {
		b, _ = json.Marshal(&jsonFrame{Event: ev.TypeOrDefault(), Data: ev.Data, ID: ev.ID})
	}
	return b
}
