package bridge

import (
	"errors"
	"sync"
	"sync/atomic"
)

// Why a shared stream lets a client go. The client's handler reads it after kicked.
var (
	errSlowClient    = errors.New("client too slow: queue full")
	errStreamEnded   = errors.New("upstream ended the stream")
	errStreamRefused = errors.New("upstream refused the stream")
)

// subscriber is one client of a shared stream: a queue bounded in events and bytes
// that the hub fills without ever blocking, and that the client's own handler drains.
// A client that lets it fill is disconnected rather than made to lose events: it
// resumes from the replay buffer when it comes back.
type subscriber struct {
	queue    chan *Entry
	bytes    atomic.Int64
	maxBytes int64
	kind     string // clientWS or clientSSE, for metrics

	kicked   chan struct{} // closed when the hub lets the client go
	kickOnce sync.Once
	reason   error // why, set before kicked is closed
}

func newSubscriber(events int, maxBytes int64, kind string) *subscriber {
	return &subscriber{
		queue:    make(chan *Entry, max(1, events)),
		maxBytes: maxBytes,
		kind:     kind,
		kicked:   make(chan struct{}),
	}
}

// offer queues e without blocking; false means the queue is full in events or bytes.
// A single entry larger than the byte bound still goes into an empty queue, so a big
// but legal event reaches a client that keeps up.
func (s *subscriber) offer(e *Entry) bool {
	if n := s.bytes.Add(int64(e.size)); n > s.maxBytes && n != int64(e.size) {
		s.bytes.Add(-int64(e.size))
		return false
	}
	select {
	case s.queue <- e:
		return true
	default:
		s.bytes.Add(-int64(e.size))
		return false
	}
}

// taken records that the client's handler took e off the queue.
func (s *subscriber) taken(e *Entry) { s.bytes.Add(-int64(e.size)) }

// kick lets the client go for reason; only the first reason counts.
func (s *subscriber) kick(reason error) {
	s.kickOnce.Do(func() {
		s.reason = reason
		close(s.kicked)
	})
}
