package app

import (
	"strconv"
	"sync"
)

// Sizes of the demo hubs. Both are bounds, not tuning: the demo must never grow
// without limit, however long it runs or however slow a client is.
const (
	// demoHistory is how many events a hub keeps for clients that resume with an id.
	demoHistory = 256
	// demoQueue is how many events a subscriber may fall behind before it is dropped;
	// it then reconnects and resumes from the history, like any real client would.
	demoQueue = 64
)

// demoEvent is one event of a demo upstream.
type demoEvent struct {
	ID   uint64
	Type string
	Data string
	// JSON marks Data as JSON text: the chat sends it as an object in its envelope,
	// which shows how ssews turns non-string data into compact JSON for EventSource.
	JSON bool
}

// idString is the event's id as clients see it.
func (ev demoEvent) idString() string { return strconv.FormatUint(ev.ID, 10) }

// hub broadcasts one demo upstream's events to its subscribers, numbering them, and
// keeps the last demoHistory of them so that a subscriber can resume after an id.
// Every method is safe for concurrent use; none blocks on a subscriber.
type hub struct {
	mu      sync.Mutex
	lastID  uint64
	history []demoEvent // oldest first, at most demoHistory
	subs    map[*subscriber]struct{}
	closed  bool
}

// subscriber is one connection's view of a hub. The hub closes C, exactly once, when
// the subscriber unsubscribes, falls more than demoQueue events behind, or the hub
// closes: the connection's writer ends when C is closed.
type subscriber struct {
	C chan demoEvent
}

func newHub() *hub {
	return &hub{subs: make(map[*subscriber]struct{})}
}

// publish numbers an event, keeps it in the history and offers it to every
// subscriber; one whose queue is full is dropped rather than waited for.
func (h *hub) publish(typ, data string, isJSON bool) demoEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastID++
	ev := demoEvent{ID: h.lastID, Type: typ, Data: data, JSON: isJSON}
	if h.closed {
		return ev
	}
	if len(h.history) == demoHistory {
		copy(h.history, h.history[1:])
		h.history = h.history[:demoHistory-1]
	}
	h.history = append(h.history, ev)
	for s := range h.subs {
		select {
		case s.C <- ev:
		default:
			h.dropLocked(s)
		}
	}
	return ev
}

// subscribe adds a subscriber and returns, with it, the events after lastID that
// are still in the history (none when lastID is empty or not a number this hub
// gave). Both come from one locked moment, so nothing is missed or repeated.
func (h *hub) subscribe(lastID string) (*subscriber, []demoEvent) {
	s := &subscriber{C: make(chan demoEvent, demoQueue)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.C)
		return s, nil
	}
	h.subs[s] = struct{}{}
	after, err := strconv.ParseUint(lastID, 10, 64)
	if err != nil || after >= h.lastID {
		return s, nil
	}
	var backlog []demoEvent
	for _, ev := range h.history {
		if ev.ID > after {
			backlog = append(backlog, ev)
		}
	}
	return s, backlog
}

// unsubscribe removes s; it may be called after the hub dropped s.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(s)
}

// dropLocked removes s and closes its channel, once.
func (h *hub) dropLocked(s *subscriber) {
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.C)
	}
}

// count is the number of subscribers.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// close drops every subscriber and refuses new ones: the connections end.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.dropLocked(s)
	}
}
