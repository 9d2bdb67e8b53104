package bridge

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// sseConnWriter writes a shared EventSource client's stream on its taken-over
// connection. The hub hands it each event's bytes (deliver, under the hub's lock):
// while the socket takes them at once, the hub writes them itself with one
// non-blocking write, so an event costs the client no goroutine wake-up; what the
// socket cannot take waits in a queue bounded in chunks and bytes, which the client's
// goroutine writes out (flush). Once anything waits, later bytes queue behind it, so
// the stream's order holds.
type sseConnWriter struct {
	conn    net.Conn
	raw     syscall.RawConn // nil: no non-blocking write (TLS), every chunk queues
	timeout time.Duration

	mu       sync.Mutex
	pending  [][]byte
	bytes    int
	busy     bool // the client's goroutine is writing a batch
	failed   bool // a write failed: the session is ending
	maxQueue int
	maxBytes int

	wake chan struct{} // holds a token while pending is not empty
}

func newSSEConnWriter(conn net.Conn, timeout time.Duration, maxQueue, maxBytes int) *sseConnWriter {
	w := &sseConnWriter{conn: conn, timeout: timeout, maxQueue: maxQueue, maxBytes: maxBytes, wake: make(chan struct{}, 1)}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw = raw
		}
	}
	return w
}

// deliver writes b, or queues what the socket does not take at once; false means the
// queue is full (the client is too slow).
func (w *sseConnWriter) deliver(b []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed {
		return true // the session is ending and will leave
	}
	if !w.busy && len(w.pending) == 0 && w.raw != nil {
		n := tryWrite(w.raw, b)
		if n == len(b) {
			return true
		}
		b = b[n:]
	}
	if len(w.pending) >= w.maxQueue || (len(w.pending) > 0 && w.bytes+len(b) > w.maxBytes) {
		return false
	}
	w.pending = append(w.pending, b)
	w.bytes += len(b)
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// flush writes out everything queued, blocking with the write timeout; it returns
// once the queue is empty or a write failed.
func (w *sseConnWriter) flush() error {
	var spare [][]byte
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.busy = false
			w.mu.Unlock()
			return nil
		}
		batch := w.pending
		w.pending, w.bytes, w.busy = spare[:0], 0, true
		w.mu.Unlock()

		_ = w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
		bufs := net.Buffers(batch)
		if _, err := bufs.WriteTo(w.conn); err != nil {
			w.mu.Lock()
			w.failed, w.busy = true, false
			w.mu.Unlock()
			return err
		}
		clear(batch)
		spare = batch
	}
}
