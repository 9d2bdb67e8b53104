package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"unsafe"

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
// leaving cancel ctx, which ends the upstream read. An HTTP/1.x client's connection
// is taken over (hijackSSE), as for shared clients: the stream is written to it with
// no chunked framing and no net/http buffers, and ends with the connection.
func (rt *route) serveSSE(w http.ResponseWriter, r *http.Request, cr *clientRequest) {
	cs, ok := rt.openClientStream(w, r, cr)
	if !ok {
		return
	}
	if conn, handled := rt.hijackSSE(w, r); handled {
		cs.detach() // the handler's return must not end the stream
		if conn == nil {
			cs.close()
			return
		}
		// The stream goes on in a goroutine of its own, with a stack of the size
		// streaming needs rather than the one the upstream's dial grew, and the
		// handler returns, which frees net/http's goroutine for the connection.
		release := cr.lease.handOff()
		stopWatch := rt.srv.watchClosed(conn, cs.end) // the hang-up net/http no longer hears
		out := newConnSSEResponse(conn, rt.srv.opts.WriteTimeout)
		// While the client keeps up, the upstream is read by a relay loop.
		go rt.streamSSE(cs, out, cr, rt.srv.relayLoop(), func() {
			stopWatch()
			conn.Close()
			release()
		})
		return
	}
	out := newSSEResponse(w, rt.srv.opts.WriteTimeout)
	if err := out.start(rt.cfg.Retry.Milliseconds()); err != nil {
		cs.close()
		return
	}
	rt.streamSSE(cs, out, cr, nil, nil)
}

// streamSSE writes the stream's events to out until it ends, then closes it and
// calls done, if not nil. With loop (a taken-over connection's stream, on a
// goroutine of its own), the upstream is read by the relay loop while the client
// keeps up, and the session goes on, and ends, on the goroutine that takes the
// stream back from the loop (clientStream.run).
func (rt *route) streamSSE(cs *clientStream, out *sseResponse, cr *clientRequest, loop *relayLoop, done func()) {
	s := &sseSession{rt: rt, cs: cs, cr: cr, done: done}
	s.w = sseEventWriter{out: out, fail: cs.end, cm: rt.metrics.clients[clientSSE], retry: rt.cfg.Retry.Milliseconds()}
	s.disconnected = rt.connected(clientSSE, cr.remoteAddr)
	s.stopHeartbeat = out.heartbeat(rt.cfg.Heartbeat, cs.end)
	cs.run(cs.ctx, &s.w, loop, out, s.end)
}

// sseSession is an EventSource client's stream from its start to its end, which
// may come on another goroutine than the start's.
type sseSession struct {
	rt            *route
	cs            *clientStream
	cr            *clientRequest
	w             sseEventWriter
	done          func()
	disconnected  func(error)
	stopHeartbeat func()
}

// end closes the session after its stream returned err.
func (s *sseSession) end(err error) {
	ctx, w := s.cs.ctx, &s.w
	w.count(addNow{})
	var why error
	switch {
	case w.writeErr != nil:
		why = fmt.Errorf("client write failed: %w", w.writeErr)
	case errors.Is(err, errClientStuck):
		why = err
	case s.rt.srv.Draining():
		why = errDraining
	case ctx.Err() == nil:
		why = fmt.Errorf("upstream ended the stream: %w", err)
		s.rt.log.Info("upstream ended the stream", "client", s.cr.remoteAddr, "err", err)
	}
	s.stopHeartbeat()
	s.disconnected(why)
	s.cs.close()
	if s.done != nil {
		s.done()
	}
}

// sseEventWriter is the feed's sink for an EventSource client's stream: it writes
// each event, flushes when the upstream is about to wait, and counts what went
// out. Its state is one structure rather than variables that each callback
// captures (each its own allocation, and its own place an event touches).
type sseEventWriter struct {
	out  *sseResponse
	fail func() // ends the stream: a flush failed
	cm   *clientMetrics
	// retry is the reconnection time the client has.
	retry int64
	// writeErr is why a write failed.
	writeErr error
	// The events written since the last count, committed with the feed's counts.
	sentEvents, sentBytes int64
}

// write writes ev, leaving out a retry the client has already (the reconnection
// time it got, from us or from the upstream).
func (w *sseEventWriter) write(ev *sse.Event) error {
	if ev.HasRetry && ev.Retry == w.retry {
		ev.HasRetry = false
	} else if ev.HasRetry {
		w.retry = ev.Retry
	}
	n, err := w.out.eventLocked(ev)
	if err != nil {
		w.writeErr = err
		return err
	}
	w.sentEvents++
	w.sentBytes += n
	return nil
}

// warm reads the writer and its response where an event will (relayLoop.warm):
// only what the heartbeat's goroutine does not write.
func (w *sseEventWriter) warm() uintptr {
	s := w.out
	sum := uintptr(w.retry) + uintptr(w.sentEvents) + uintptr(s.timeout) + uintptr(unsafe.Pointer(s.loop))
	if s.sink != nil && s.conn.conn != nil {
		sum++
	}
	return sum
}

// flush sends what was written; a failure ends the stream.
func (w *sseEventWriter) flush() {
	if w.out.flushLocked() != nil {
		w.fail()
	}
}

// count adds the events written since the last count to the metrics.
func (w *sseEventWriter) count(add countAdder) {
	if w.sentEvents > 0 {
		add.count(&w.cm.events, float64(w.sentEvents))
		add.count(&w.cm.bytes, float64(w.sentBytes))
		w.sentEvents, w.sentBytes = 0, 0
	}
}
