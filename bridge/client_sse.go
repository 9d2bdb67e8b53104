package bridge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/ssews/ssews/sse"
)

// pumped is one event on its way from the upstream reader to the client writer, or
// (flush set) the word that the reader is about to wait on the network.
type pumped struct {
	ev    sse.Event
	flush bool
}

// pumpEvents reads f and hands each event to out until ctx is done or the feed
// ends for good. The channel is unbuffered: in per-client mode the client's pace is
// the upstream's pace, and TCP carries the backpressure.
func pumpEvents(ctx context.Context, f *feed, out chan<- pumped) error {
	f.setWaitHook(func() {
		select {
		case out <- pumped{flush: true}:
		case <-ctx.Done():
		}
	})
	for {
		ev, err := f.next(ctx)
		if err != nil {
			return err
		}
		select {
		case out <- pumped{ev: ev}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// serveSSE serves an EventSource client from the route's upstream, whatever it speaks:
// the stream is re-encoded event by event (never copied bytes), so nothing an upstream
// sends can forge a field, and our own retry and heartbeats are written.
func (rt *route) serveSSE(w http.ResponseWriter, r *http.Request, cr *clientRequest) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	f := newFeed(rt.dial(cr), cr.lastEventID, rt.cfg.Retry, rt.metrics, rt.log.With("client", cr.remoteAddr))
	if err := f.connect(ctx); err != nil {
		rt.refuse(w, cr, err)
		return
	}
	disconnected := rt.connected(clientSSE, cr)
	defer disconnected()

	events := make(chan pumped)
	pumpDone := make(chan error, 1)
	go func() { pumpDone <- pumpEvents(ctx, f, events) }()
	defer func() {
		cancel()
		<-pumpDone
		f.close()
	}()

	out := newSSEResponse(w, rt.srv.opts.WriteTimeout)
	cm := rt.metrics.clients[clientSSE]
	retry := rt.cfg.Retry.Milliseconds()
	if err := out.start(retry); err != nil {
		return
	}
	heartbeat := time.NewTimer(rt.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case p := <-events:
			if p.flush {
				if err := out.flush(); err != nil {
					return
				}
				continue
			}
			if p.ev.HasRetry && p.ev.Retry == retry {
				p.ev.HasRetry = false // the client has this reconnection time already
			} else if p.ev.HasRetry {
				retry = p.ev.Retry
			}
			n, err := out.event(&p.ev)
			if err != nil {
				rt.log.Debug("client write failed", "client", cr.remoteAddr, "err", err)
				return
			}
			cm.events.Inc()
			cm.bytes.Add(float64(n))
			heartbeat.Reset(rt.cfg.Heartbeat)
		case err := <-pumpDone:
			pumpDone <- err // for the deferred wait
			if ctx.Err() == nil {
				rt.log.Info("upstream ended the stream", "client", cr.remoteAddr, "err", err)
			}
			return
		case <-heartbeat.C:
			if err := out.comment(); err != nil {
				return
			}
			heartbeat.Reset(rt.cfg.Heartbeat)
		case <-rt.srv.draining:
			return
		case <-ctx.Done():
			return
		}
	}
}

// sseResponse writes an event stream to one client: every write has a deadline, and
// flushes happen only when no further event is waiting.
type sseResponse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	enc     *sse.Writer
	counter countingWriter
	timeout time.Duration
	// armed says a write deadline is set for the writes since the last flush.
	armed bool
	// dirty says something was written since the last flush.
	dirty bool
}

func newSSEResponse(w http.ResponseWriter, timeout time.Duration) *sseResponse {
	s := &sseResponse{w: w, rc: http.NewResponseController(w), timeout: timeout}
	s.counter.w = w
	s.enc = sse.NewWriter(&s.counter)
	return s
}

// start sends the headers and the stream's reconnection time.
func (s *sseResponse) start(retryMS int64) error {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
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

// comment writes a heartbeat, which also shows the client is still there.
func (s *sseResponse) comment() error {
	s.arm()
	if err := s.enc.WriteComment(""); err != nil {
		return err
	}
	s.dirty = true
	return s.flush()
}

func (s *sseResponse) arm() {
	if !s.armed {
		// An error means the writer cannot take deadlines (a test recorder); writes
		// then still fail once the client is gone.
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
		s.armed = true
	}
}

// flush sends what was written, if anything.
func (s *sseResponse) flush() error {
	if !s.dirty {
		return nil
	}
	s.dirty = false
	s.armed = false
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
