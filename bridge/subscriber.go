package bridge

import (
	"errors"
	"sync"
)

// Why a shared stream lets a client go. The client's handler reads it after kicked.
var (
	errSlowClient    = errors.New("client too slow: queue full")
	errStreamEnded   = errors.New("upstream ended the stream")
	errStreamRefused = errors.New("upstream refused the stream")
)

// subscriber is one client of a shared stream: a queue bounded in events and bytes
// that the hub fills without ever blocking, and that the client's own handler drains
// a batch at a time (so it writes them back to back and flushes once). A client that
// lets it fill is disconnected rather than made to lose events: it resumes from the
// replay buffer when it comes back. The queue grows only as events wait in it, so an
// idle client holds no buffer.
type subscriber struct {
	mu        sync.Mutex
	pending   []*Entry
	bytes     int64
	maxEvents int
	maxBytes  int64
	// started is set once the client's stream runs (start): until then the queue
	// holds what arrives while the client is set up, bounded in bytes alone, for a
	// client cannot fall behind before it could read. A fast stream would otherwise
	// fill the event bound in the time a handshake takes.
	started bool
	kind    string // clientWS or clientSSE, for metrics

	// ready holds a token while pending is not empty.
	ready chan struct{}
	// direct, once set (hub.attach, under the hub's lock), delivers batches instead
	// of queueing them: written to the client's socket at once where it takes them,
	// queued in the connection's own bounded queue otherwise.
	direct func(*batch) bool
	// onKick, when set (under the hub's lock), is called when the client is let go.
	onKick func()
	// heartbeat, when set (under the hub's lock), is called on the hub's heartbeat
	// timer: a client the hub writes to directly gets its keep-alive from there,
	// not from a timer of its own.
	heartbeat func()

	kicked   chan struct{} // closed when the hub lets the client go
	kickOnce sync.Once
	reason   error // why, set before kicked is closed
}

func newSubscriber(events int, maxBytes int64, kind string) *subscriber {
	return &subscriber{
		maxEvents: events,
		maxBytes:  maxBytes,
		kind:      kind,
		ready:     make(chan struct{}, 1),
		kicked:    make(chan struct{}),
	}
}

// offerBatch hands b to the client without blocking: delivered directly once the
// client is attached, queued until then. False means the client is too slow.
func (s *subscriber) offerBatch(b *batch) bool {
	if s.direct != nil {
		return s.direct(b)
	}
	for _, e := range b.entries {
		if !s.offer(e) {
			return false
		}
	}
	return true
}

// offer queues e without blocking; false means the queue is full in events (once
// started) or bytes.
// A single entry larger than the byte bound still goes into an empty queue, so a big
// but legal event reaches a client that keeps up.
func (s *subscriber) offer(e *Entry) bool {
	s.mu.Lock()
	n := len(s.pending)
	if (s.started && n >= s.maxEvents) || (n > 0 && s.bytes+int64(e.size) > s.maxBytes) {
		s.mu.Unlock()
		return false
	}
	s.pending = append(s.pending, e)
	s.bytes += int64(e.size)
	s.mu.Unlock()
	if n == 0 {
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// start tells the queue that the client's stream runs: from now on it is bounded
// in events too.
func (s *subscriber) start() {
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
}

// take returns everything queued, oldest first, and empties the queue. spare (the
// batch the caller is done with) becomes the next queue, so a busy client reuses two
// slices; one that went idle with a big batch gives it back.
func (s *subscriber) take(spare []*Entry) []*Entry {
	clear(spare)
	if cap(spare) > 64 {
		spare = nil
	}
	s.mu.Lock()
	batch := s.pending
	s.pending = spare[:0]
	s.bytes = 0
	s.mu.Unlock()
	return batch
}

// kick lets the client go for reason; only the first reason counts.
func (s *subscriber) kick(reason error) {
	s.kickOnce.Do(func() {
		s.reason = reason
		close(s.kicked)
		if s.onKick != nil {
			s.onKick()
		}
	})
}
