package ws

import (
	"context"
	"errors"
	"sync"

	"github.com/gorilla/websocket"
)

// errQueueClosed tells Conn that the queue no longer takes messages; Conn
// turns it into ErrClosed or the error that closed the connection.
var errQueueClosed = errors.New("ws: queue closed")

// item is one queued message: either a plain Message or (outbound only) a
// PreparedMessage shared between connections.
type item struct {
	msg  Message
	pm   *websocket.PreparedMessage
	size int // payload bytes, for the QueueBytes limit
}

// queue is the bounded FIFO between senders and the writer goroutine, and
// between the reader goroutine and Read; "writer" below means whichever
// side pops. It bounds both events and bytes: with 1 MiB messages an event
// limit alone would let a single slow client pin hundreds of MiB.
//
// A channel cannot bound bytes, so this is a ring under a mutex. Channels
// replace a sync.Cond because senders also wait on a context: ready wakes
// the writer after a push, space wakes a blocked sender after a pop, and
// closed wakes them all for good.
type queue struct {
	mu       sync.Mutex
	buf      []item // ring; grows on demand up to maxLen so idle conns stay small
	head     int
	n        int
	bytes    int
	maxLen   int
	maxBytes int // 0 = unlimited
	closed   bool

	// idle is set when the writer found the queue empty and is about to
	// wait on ready. Only then does a push signal ready: a running writer
	// takes the next message without a channel operation or a wake-up.
	idle bool

	// waiting counts senders blocked for room. pop signals space only when
	// there is one, and tells the writer, which then knows that another
	// message is on its way.
	waiting int

	// ready holds one token when the idle writer has something to look
	// at. Its capacity of one makes signalling non-blocking.
	ready chan struct{}

	// space holds one token after a pop that found senders waiting. The
	// sender that takes it passes it on if room remains, so every waiter
	// that fits is woken in turn, without allocating a channel per wait.
	// A stale token costs one spurious retry.
	space chan struct{}

	// done is closed by close, releasing every blocked sender.
	done chan struct{}
}

// backlog is what a pop leaves behind: messages still queued, and senders
// blocked with one more in hand.
type backlog struct {
	queued  int
	waiting int
}

func newQueue(maxLen, maxBytes int) *queue {
	return &queue{
		maxLen:   maxLen,
		maxBytes: maxBytes,
		idle:     true,
		ready:    make(chan struct{}, 1),
		space:    make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
}

// fits reports whether an item of size bytes may join the queue. A message
// larger than maxBytes is still accepted into an empty queue, so that a
// message within the size limit of the route can always be sent.
func (q *queue) fits(size int) bool {
	if q.n >= q.maxLen {
		return false
	}
	return q.maxBytes <= 0 || q.n == 0 || q.bytes+size <= q.maxBytes
}

// push appends it. When the queue is full it returns ErrQueueFull if block
// is false, and otherwise waits until the writer takes a message, ctx is
// done (ctx.Err()) or the queue is closed (errQueueClosed).
func (q *queue) push(ctx context.Context, it item, block bool) error {
	woken, counted := false, false
	for {
		q.mu.Lock()
		if counted {
			q.waiting--
			counted = false
		}
		if q.closed {
			q.mu.Unlock()
			return errQueueClosed
		}
		if q.fits(it.size) {
			q.put(it)
			wake := q.idle
			q.idle = false
			// The token we took may be owed to another waiter.
			pass := woken && q.waiting > 0 && q.fits(0)
			q.mu.Unlock()
			if wake {
				signal(q.ready)
			}
			if pass {
				signal(q.space)
			}
			return nil
		}
		if !block {
			q.mu.Unlock()
			return ErrQueueFull
		}
		q.waiting++
		counted = true
		q.mu.Unlock()

		select {
		case <-q.space:
			woken = true
		case <-q.done:
		case <-ctx.Done():
			q.mu.Lock()
			q.waiting--
			q.mu.Unlock()
			return ctx.Err()
		}
	}
}

// signal leaves a token in ch unless one is already waiting.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// put stores it at the tail; the caller holds q.mu and has checked fits.
func (q *queue) put(it item) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = it
	q.n++
	q.bytes += it.size
}

func (q *queue) grow() {
	size := min(max(2*len(q.buf), 4), q.maxLen)
	buf := make([]item, size)
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}

// pop removes the oldest item and reports the backlog behind it. Taking an
// item frees its room at once, which is what unblocks senders. When the
// queue is empty, ok is false and the writer counts as idle: the next push
// signals ready.
func (q *queue) pop() (it item, bl backlog, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		q.idle = true
		return item{}, backlog{}, false
	}
	it = q.buf[q.head]
	q.buf[q.head] = item{} // drop the reference so the payload can be collected
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	q.bytes -= it.size
	if q.waiting > 0 {
		signal(q.space)
	}
	return it, backlog{queued: q.n, waiting: q.waiting}, true
}

// len reports how many items are queued.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// close stops the queue from taking messages and wakes blocked senders.
// With drop, queued messages are discarded too; without it the writer may
// still pop them (graceful Close drains the queue). Only the first call
// closes done; later calls may still drop.
func (q *queue) close(drop bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if drop {
		q.buf, q.head, q.n, q.bytes = nil, 0, 0, 0
	}
	if !q.closed {
		q.closed = true
		close(q.done)
	}
}
