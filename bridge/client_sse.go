package bridge

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/ssews/ssews/sse"
)

// serveSSE serves an EventSource client from the route's upstream, whatever it speaks:
// the stream is re-encoded event by event (never copied bytes), so nothing an upstream
// sends can forge a field, and our own retry and heartbeats are written.
//
// One goroutine reads the upstream and writes the client, so an event costs no
// hand-over between goroutines and the client's pace is the upstream's (TCP carries
// the backpressure). Writes are flushed when the upstream reader is about to wait.
// Heartbeats come from a timer under the response's lock; shutdown and the client
// leaving cancel ctx, which ends the upstream read.
func (rt *route) serveSSE(w http.ResponseWriter, r *http.Request, cr *clientRequest) {
	ctx, cancel := rt.clientContext(r)
	defer cancel()
	f, ok := rt.openFeed(ctx, w, cr)
	if !ok {
		return
	}
	defer f.close()
	var why error
	disconnected := rt.connected(clientSSE, cr.remoteAddr)
	defer func() { disconnected(why) }()

	out := newSSEResponse(w, rt.srv.opts.WriteTimeout)
	retry := rt.cfg.Retry.Milliseconds()
	if err := out.start(retry); err != nil {
		return
	}
	stopHeartbeat := out.heartbeat(rt.cfg.Heartbeat, cancel)
	defer stopHeartbeat()
	f.setWaitHook(func() {
		if out.flushLocked() != nil {
			cancel()
		}
	})
	cm := rt.metrics.clients[clientSSE]
	var writeErr error
	err := f.stream(ctx, func(ev *sse.Event) error {
		if ev.HasRetry && ev.Retry == retry {
			ev.HasRetry = false // the client has this reconnection time already
		} else if ev.HasRetry {
			retry = ev.Retry
		}
		n, err := out.eventLocked(ev)
		if err != nil {
			writeErr = err
			return err
		}
		cm.events.Inc()
		cm.bytes.Add(float64(n))
		return nil
	})
	switch {
	case writeErr != nil:
		why = fmt.Errorf("client write failed: %w", writeErr)
	case rt.srv.Draining():
		why = errDraining
	case ctx.Err() == nil:
		why = fmt.Errorf("upstream ended the stream: %w", err)
		rt.log.Info("upstream ended the stream", "client", cr.remoteAddr, "err", err)
	}
}

// sseResponse writes an event stream to one client: every write has a deadline, and
// flushes happen only when no further event is waiting. Methods named ...Locked take
// its lock, for the writer that shares it with the heartbeat timer; the others expect
// a single writer.
type sseResponse struct {
	mu     sync.Mutex
	closed bool // the handler returned: the ResponseWriter is no longer ours
	// lastFlush is when bytes last went to the client, for the heartbeat.
	lastFlush time.Time

	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *sse.Writer
	counter countingWriter
	timeout time.Duration
	// deadline is the write deadline last set: it covers the writes since the last
	// flush as long as it leaves most of the timeout (arm).
	deadline time.Time
	// now is when the writes since the last flush began.
	now time.Time
	// dirty says something was written since the last flush.
	dirty bool
}

func newSSEResponse(w http.ResponseWriter, timeout time.Duration) *sseResponse {
	s := &sseResponse{w: w, rc: http.NewResponseController(w), timeout: timeout}
	s.counter.w = w
	s.enc = sse.NewWriter(&s.counter)
	return s
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
	before := s.counter.n
	if err := s.enc.WriteEvent(ev); err != nil {
		return 0, err
	}
	s.dirty = true
	return s.counter.n - before, nil
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
		t.Reset(interval)
	})
	return func() {
		t.Stop()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
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
	s.now = time.Now()
	if s.deadline.Sub(s.now) >= s.timeout-s.timeout/4 {
		return
	}
	s.deadline = s.now.Add(s.timeout)
	// An error means the writer cannot take deadlines (a test recorder); writes
	// then still fail once the client is gone.
	_ = s.rc.SetWriteDeadline(s.deadline)
}

// flush sends what was written, if anything.
func (s *sseResponse) flush() error {
	if !s.dirty {
		return nil
	}
	s.dirty = false
	s.lastFlush = s.now
	s.now = time.Time{}
	err := s.rc.Flush()
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// wire writes an event already encoded (shared mode) and returns the bytes written.
func (s *sseResponse) wire(b []byte) (int64, error) {
	s.arm()
	n, err := s.counter.Write(b)
	s.dirty = true
	return int64(n), err
}
