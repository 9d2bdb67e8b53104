package bridge

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/ssews/ssews/internal/sockio"
)

// sseConnWriter writes a shared EventSource client's stream on its taken-over
// connection. The hub hands it each batch's bytes (deliver, under the hub's lock):
// while the socket takes them at once, the hub writes them itself with one
// non-blocking write, so a batch costs the client no goroutine at all; what the
// socket cannot take waits in a queue bounded in chunks and bytes, which a goroutine
// started for the purpose writes out (flush) and that ends once the queue is empty.
// Once anything waits, later bytes queue behind it, so the stream's order holds.
type sseConnWriter struct {
	conn    net.Conn
	raw     syscall.RawConn // nil: no non-blocking write (TLS), every chunk queues
	timeout time.Duration
	// spawn runs the flushing goroutine; fail is told once that a write failed.
	spawn func(func())
	fail  func(error)

	mu       sync.Mutex
	pending  [][]byte
	bytes    int
	busy     bool // a flushing goroutine is running
	failed   bool // a write failed: the session is ending
	maxQueue int
	maxBytes int
}

func newSSEConnWriter(conn net.Conn, timeout time.Duration, maxQueue, maxBytes int, spawn func(func()), fail func(error)) *sseConnWriter {
	return &sseConnWriter{conn: conn, raw: rawSocket(conn), timeout: timeout, maxQueue: maxQueue, maxBytes: maxBytes, spawn: spawn, fail: fail}
}

// deliver writes bufs, in order, or queues what the socket does not take at once;
// false means the queue is full (the client is too slow). bufs is the caller's: it
// is read, never changed.
func (w *sseConnWriter) deliver(bufs [][]byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed {
		return true // the session is ending and will leave
	}
	var rest []byte // the part of a buffer the socket took only some of
	if !w.busy && w.raw != nil {
		n := sockio.TryWritev(w.raw, bufs)
		for len(bufs) > 0 && n >= len(bufs[0]) {
			n -= len(bufs[0])
			bufs = bufs[1:]
		}
		if len(bufs) == 0 {
			return true
		}
		rest, bufs = bufs[0][n:], bufs[1:]
	}
	count, size := len(bufs), len(rest)
	if rest != nil {
		count++
	}
	for _, b := range bufs {
		size += len(b)
	}
	if len(w.pending)+count > w.maxQueue || (len(w.pending) > 0 && w.bytes+size > w.maxBytes) {
		return false
	}
	if rest != nil {
		w.pending = append(w.pending, rest)
	}
	w.pending = append(w.pending, bufs...)
	w.bytes += size
	if !w.busy {
		w.busy = true
		w.spawn(w.flush)
	}
	return true
}

// flush writes out everything queued, blocking with the write timeout, until the
// queue is empty or a write fails.
func (w *sseConnWriter) flush() {
	var spare [][]byte
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.busy = false
			w.pending = nil // an idle client holds no queue
			w.mu.Unlock()
			return
		}
		batch := w.pending
		w.pending, w.bytes = spare[:0], 0
		w.mu.Unlock()

		_ = w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
		bufs := net.Buffers(batch)
		if _, err := bufs.WriteTo(w.conn); err != nil {
			w.mu.Lock()
			w.failed, w.busy = true, false
			w.mu.Unlock()
			w.fail(err)
			return
		}
		clear(batch)
		spare = batch
	}
}
