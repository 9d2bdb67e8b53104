package bridge

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ssews/ssews/sse"
)

// sseResponse writes an event stream to one client: every write has a deadline, and
// flushes happen only when no further event is waiting. Methods named ...Locked take
// its lock, for the writer that shares it with the heartbeat timer; the others expect
// a single writer.
type sseResponse struct {
	mu     sync.Mutex
	closed bool // the handler returned: the ResponseWriter is no longer ours
	// lastFlush is when bytes last went to the client, for the heartbeat.
	lastFlush time.Time

	w    http.ResponseWriter // nil on a taken-over connection
	sink sseSink
	// conn is the sink of a taken-over connection. It and the writer are part of
	// the response, not objects of their own: an event on the relay loop touches
	// one stream's memory in fewer places.
	conn    connSink
	enc     sse.Writer
	timeout time.Duration
	// deadline is the write deadline last set: it covers the writes since the last
	// flush as long as it leaves most of the timeout (arm).
	deadline time.Time
	// now is when the writes since the last flush began.
	now time.Time
	// dirty says something was written since the last flush.
	dirty bool
	// onBehind, while the stream is in the relay loop, takes it out when a
	// heartbeat was not all taken (startRelay).
	onBehind func()
	// loop, while the stream is in the relay loop, is the loop: its writes never
	// wait, so they need no deadline, and the time of the loop's wake-up is
	// close enough for the heartbeat.
	loop *relayLoop
}

// newSSEResponse writes a stream through w; start sends its head.
func newSSEResponse(w http.ResponseWriter, timeout time.Duration) *sseResponse {
	return newSSEResponseTo(&responseSink{ResponseWriter: w, rc: http.NewResponseController(w)}, w, timeout)
}

// newConnSSEResponse writes a stream on a connection taken over by hijackSSE, which
// has sent its head already.
func newConnSSEResponse(conn net.Conn, timeout time.Duration) *sseResponse {
	s := &sseResponse{conn: connSink{conn: conn}, lastFlush: time.Now()}
	s.init(&s.conn, nil, timeout)
	return s
}

func newSSEResponseTo(sink sseSink, w http.ResponseWriter, timeout time.Duration) *sseResponse {
	s := &sseResponse{}
	s.init(sink, w, timeout)
	return s
}

func (s *sseResponse) init(sink sseSink, w http.ResponseWriter, timeout time.Duration) {
	s.w, s.sink, s.timeout = w, sink, timeout
	s.enc.Reset(sink)
}

// setStreamHeaders sets the headers of an event stream: its type, and no caching
// or buffering on the way (X-Accel-Buffering is nginx's).
func setStreamHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
}

// start sends the headers and the stream's reconnection time.
func (s *sseResponse) start(retryMS int64) error {
	setStreamHeaders(s.w.Header())
	s.w.WriteHeader(http.StatusOK)
	s.arm()
	if err := s.enc.WriteRetry(retryMS); err != nil {
		return err
	}
	s.dirty = true
	return s.flush()
}

// event writes ev (buffered until the next flush) and returns the bytes written.
func (s *sseResponse) event(ev *sse.Event) (int64, error) {
	s.arm()
	before := s.sink.written()
	if err := s.enc.WriteEvent(ev); err != nil {
		return 0, err
	}
	s.dirty = true
	return s.sink.written() - before, nil
}

// eventLocked is event under the lock, for a stream with a heartbeat timer.
func (s *sseResponse) eventLocked(ev *sse.Event) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.event(ev)
}

// flushLocked is flush under the lock.
func (s *sseResponse) flushLocked() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush()
}

// heartbeat writes a comment whenever interval passes without bytes going to the
// client. It runs from a timer, not a goroutine of its own, so an idle client costs no
// stack for it; a failed write calls fail. The returned stop must be called before
// the handler returns.
func (s *sseResponse) heartbeat(interval time.Duration, fail func()) (stop func()) {
	var t *time.Timer
	t = time.AfterFunc(interval, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		if idle := time.Since(s.lastFlush); idle < interval {
			t.Reset(interval - idle)
			return
		}
		if err := s.comment(); err != nil {
			fail()
			return
		}
		if s.onBehind != nil && s.behindLocked() {
			s.onBehind()
		}
		t.Reset(interval)
	})
	return func() {
		t.Stop()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
	}
}

// startRelay makes the stream's flushes write without waiting, for the relay loop:
// what the client does not take at once stays buffered (behind), and onBehind runs
// when a heartbeat leaves bytes so. false when the stream cannot: it is not on a
// taken-over connection with a socket of its own.
func (s *sseResponse) startRelay(onBehind func(), loop *relayLoop) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.sink.(*connSink)
	if !ok || !cs.startRelay() {
		return false
	}
	s.onBehind, s.loop = onBehind, loop
	return true
}

// behind reports bytes written and flushed that the client has not taken yet.
func (s *sseResponse) behind() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.behindLocked()
}

func (s *sseResponse) behindLocked() bool {
	cs, ok := s.sink.(*connSink)
	return ok && cs.behind()
}

// socket is the client's descriptor while on the relay loop, for the loop to hear
// when a client that fell behind takes writes again; -1 when there is none.
func (s *sseResponse) socket() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs, ok := s.sink.(*connSink); ok && cs.relaying {
		return cs.fd
	}
	return -1
}

// stopRelay makes flushes wait again; the next one sends what the client has not
// taken, within the write timeout.
func (s *sseResponse) stopRelay() {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.sink.(*connSink)
	if !ok {
		return
	}
	cs.stopRelay()
	s.onBehind, s.loop = nil, nil
	if cs.behind() {
		s.now = time.Time{} // a deadline for the write that waits
		s.arm()
		s.dirty = true
	}
}

// comment writes a heartbeat, which also shows the client is still there.
func (s *sseResponse) comment() error {
	s.arm()
	if err := s.enc.WriteComment(""); err != nil {
		return err
	}
	s.dirty = true
	return s.flush()
}

// arm gives the writes until the next flush a deadline between 3/4 of the write
// timeout and all of it: the deadline set last stays while it leaves that much, so
// a stream moves the poller's timer once per quarter of the timeout, not per event.
func (s *sseResponse) arm() {
	if !s.now.IsZero() {
		return // armed since the last flush
	}
	if s.loop != nil {
		s.now = s.loop.clock()
		return
	}
	s.now = time.Now()
	if s.deadline.Sub(s.now) >= s.timeout-s.timeout/4 {
		return
	}
	s.deadline = s.now.Add(s.timeout)
	// An error means the writer cannot take deadlines (a test recorder); writes
	// then still fail once the client is gone.
	_ = s.sink.SetWriteDeadline(s.deadline)
}

// flush sends what was written, if anything, and what the client did not take of
// the last flush on the relay loop.
func (s *sseResponse) flush() error {
	if !s.dirty && !s.behindLocked() {
		return nil
	}
	s.dirty = false
	s.lastFlush = s.now
	s.now = time.Time{}
	return s.sink.Flush()
}

// wire writes an event already encoded (shared mode) and returns the bytes written.
func (s *sseResponse) wire(b []byte) (int64, error) {
	s.arm()
	n, err := s.sink.Write(b)
	s.dirty = true
	return int64(n), err
}

// sseSink is where an event stream's bytes go: the ResponseWriter, or an HTTP/1.x
// connection taken over for the stream.
type sseSink interface {
	io.Writer
	// Flush sends what was written.
	Flush() error
	SetWriteDeadline(time.Time) error
	// written counts the bytes written, for the metrics.
	written() int64
}

// responseSink writes through net/http: chunked over HTTP/1.1, a stream of HTTP/2.
type responseSink struct {
	http.ResponseWriter
	rc *http.ResponseController
	n  int64
}

func (s *responseSink) Write(p []byte) (int, error) {
	n, err := s.ResponseWriter.Write(p)
	s.n += int64(n)
	return n, err
}

func (s *responseSink) written() int64 { return s.n }

func (s *responseSink) Flush() error {
	if err := s.rc.Flush(); !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

func (s *responseSink) SetWriteDeadline(t time.Time) error { return s.rc.SetWriteDeadline(t) }

// connSink writes to a taken-over connection through a buffer that it borrows only
// while it holds bytes not yet flushed: an idle stream holds none.
//
// While a stream is in the relay loop (startRelay) its flushes never wait: what the
// client does not take at once stays in the buffer, which then grows past its
// size until the stream, out of the loop, flushes with a deadline.
type connSink struct {
	conn net.Conn
	buf  *[]byte
	n    int64 // bytes written (buffered or not)
	// relaying: writes go to fd without waiting (startRelay). The descriptor
	// is safe to use until stopRelay: the connection closes after that.
	relaying bool
	fd       int
}

// connBufSize is a connSink's buffer: large enough that a fast stream's flush is a
// few events per write system call at the very least.
const connBufSize = 16 << 10

var connBuffers = sync.Pool{New: func() any { b := make([]byte, 0, connBufSize); return &b }}

func (s *connSink) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if s.inPlace(p) {
		// p is in place already, and must not be flushed from under it.
		*s.buf = (*s.buf)[:len(*s.buf)+len(p)]
		return len(p), nil
	}
	if s.buf == nil {
		s.buf = connBuffers.Get().(*[]byte)
	}
	if !s.relaying && len(*s.buf)+len(p) > connBufSize && len(*s.buf) > 0 {
		if err := s.Flush(); err != nil {
			return 0, err
		}
		s.buf = connBuffers.Get().(*[]byte)
	}
	*s.buf = append(*s.buf, p...)
	return len(p), nil
}

// AvailableBuffer lends the buffer's free room, for the stream's sse.Writer to
// encode the next block in place (a Write of it then appends without a copy).
func (s *connSink) AvailableBuffer() []byte {
	if s.buf == nil {
		s.buf = connBuffers.Get().(*[]byte)
	}
	return (*s.buf)[len(*s.buf):]
}

// inPlace reports whether p was encoded in the room AvailableBuffer lent.
func (s *connSink) inPlace(p []byte) bool {
	if s.buf == nil || len(p) == 0 {
		return false
	}
	b := *s.buf
	return len(p) <= cap(b)-len(b) && &p[0] == &b[len(b):cap(b)][0]
}

func (s *connSink) written() int64 { return s.n }

// Flush writes what is buffered: all of it, within the write deadline, or, in the
// relay loop, what the client takes at once.
func (s *connSink) Flush() error {
	if s.buf == nil {
		return nil
	}
	b := *s.buf
	var err error
	if s.relaying {
		var n int
		if n, err = writeNow(s.fd, b); err == nil && n < len(b) {
			*s.buf = b[:copy(b, b[n:])]
			return nil // behind
		}
	} else {
		_, err = s.conn.Write(b)
	}
	s.release()
	return err
}

// release gives the buffer back.
func (s *connSink) release() {
	if cap(*s.buf) <= 4*connBufSize { // not one a slow client grew
		*s.buf = (*s.buf)[:0]
		connBuffers.Put(s.buf)
	}
	s.buf = nil
}

// behind reports bytes the client has not taken.
func (s *connSink) behind() bool { return s.buf != nil && len(*s.buf) > 0 }

// startRelay makes flushes write without waiting; false when the connection has
// no socket of its own (TLS).
func (s *connSink) startRelay() bool {
	raw := rawSocket(s.conn)
	if raw == nil || raw.Control(func(fd uintptr) { s.fd = int(fd) }) != nil {
		return false
	}
	s.relaying = true
	return true
}

// stopRelay makes flushes wait again.
func (s *connSink) stopRelay() { s.relaying = false }

func (s *connSink) SetWriteDeadline(t time.Time) error { return s.conn.SetWriteDeadline(t) }
