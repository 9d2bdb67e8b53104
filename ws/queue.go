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

// item is one queued message: a plain Message or (outbound only) a
// PreparedMessage or the bytes of a frame, both shared between connections.
type item struct {
	msg   Message
	pm    *websocket.PreparedMessage
	frame []byte // from ServerFrame
	size  int    // payload bytes, for the QueueBytes limit
}

// queue is the bounded FIFO between senders and the writer goroutine, and
// between the reader goroutine and Read; "writer" below means whichever
// side pops. It bounds both events and bytes: with 1 MiB messages an event
// limit alone would let a single slow client pin hundreds of MiB.
//
// A channel cannot bound bytes, so this is a ring under a mutex. Channels
// replace a sync.Cond because senders also wait on a context: space wakes a
// blocked sender after a pop, and closed wakes them all for good. The side
// that pops is woken after a push: the outbound queue starts a writer run
// (start), the inbound one signals Read through ready.
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
	// wait on ready (or, with start, has ended its run). Only then does a
	// push signal ready or call start: a running writer takes the next
	// message without a channel operation or a wake-up.
	idle bool

	// start, when set, runs a writer instead of signalling ready: the
	// outbound queue's writer is a goroutine that runs while there is
	// something to write and ends when there is not (park), so an idle
	// connection holds none. kicked makes the writer run once more with
	// nothing queued (a ping is due, a close began); final means no writer
	// runs again.
	start  func()
	kicked bool
	final  bool

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

// newWriterQueue is a queue whose writer is started on demand by start
// (see queue.start).
func newWriterQueue(maxLen, maxBytes int, start func()) *queue {
	return &queue{
		maxLen:   maxLen,
		maxBytes: maxBytes,
		idle:     true,
		start:    start,
		space:    make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
}

// wakeLocked wakes the writer after q.idle was found set; the caller
// holds q.mu and has cleared idle.
func (q *queue) wakeLocked() {
	if q.start != nil {
		q.start()
		return
	}
	signal(q.ready)
}

// kick makes the writer run once more even if nothing is queued: started
// if it is idle, and told to look again (park) if it is running.
func (q *queue) kick() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.final {
		return
	}
	q.kicked = true
	if q.idle {
		q.idle = false
		q.wakeLocked()
	}
}

// claim takes the writer's part for a write on the caller's goroutine
// (TryWriteFrames; outbound queue only): true when the writer is idle and
// nothing is queued. No run starts until unclaim.
func (q *queue) claim() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.idle || q.n > 0 || q.closed || q.final {
		return false
	}
	q.idle = false
	return true
}

// unclaim gives the writer's part back, and starts a run when run is set or
// anything was queued or kicked meanwhile.
func (q *queue) unclaim(run bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if run || q.n > 0 || q.kicked {
		q.wakeLocked()
		return
	}
	q.idle = true
}

// park ends a writer's run when nothing is queued and nobody kicked: the
// next push or kick starts a new one. False means look again.
func (q *queue) park() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n > 0 || q.kicked {
		q.kicked = false
		return false
	}
	q.idle = true
	return true
}

// finish records that no writer runs again.
func (q *queue) finish() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.final, q.idle = true, true
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
			if q.idle && !q.final {
				q.idle = false
				q.wakeLocked()
			}
			// The token we took may be owed to another waiter.
			pass := woken && q.waiting > 0 && q.fits(0)
			q.mu.Unlock()
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
// signals ready. (A writer started on demand is idle only once it parks.)
func (q *queue) pop() (it item, bl backlog, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		if q.start == nil {
			q.idle = true
		}
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
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// close stops the queue from taking messages and wakes blocked senders.
// With drop, queued messages are discarded too; without it the writer may
// still pop them (graceful Close drains the queue). Only the first call
// closes done; later calls may still drop.
func (q *queue) close(drop bool) {
	if q == nil {
		return // the inbound queue of a connection with OnMessage
	}
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
