package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"unsafe"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// errDraining ends a client's session when shutdown starts.
var errDraining = errors.New("server shutting down")

// serveWSFromSSE serves a WebSocket client from an SSE upstream: one frame per event,
// and the client's messages POSTed to the route's publish URL.
func (rt *route) serveWSFromSSE(w http.ResponseWriter, r *http.Request, cr *clientRequest) {
	cs, ok := rt.openClientStream(w, r, cr)
	if !ok {
		return
	}
	conn, err := ws.Upgrade(&rt.srv.upgrader, w, r, nil)
	cs.detach() // from here on, the connection tells when the client leaves
	if err != nil {
		cs.close()
		return // the upgrader has answered the client
	}
	// The client's messages are published from its connection's reader
	// (OnMessage), and its leaving ends the stream. The events are sent from a
	// goroutine of the session's own, with a fresh stack, and the handler returns.
	opts := rt.wsOptions()
	opts.OnMessage = func(m ws.Message) { rt.publishMessage(cs.ctx, cr, m) }
	c := ws.New(conn, opts)
	stopWithClient := context.AfterFunc(c.Context(), cs.end)
	release := cr.lease.handOff()
	go rt.streamToWS(cs, c, cr, func() {
		stopWithClient()
		release()
	})
}

// streamToWS sends the stream's events to c, one frame each, in batches handed over
// when the upstream is about to wait (wsBatch), until the stream or the client ends;
// then it closes c with the code that says why, then the stream, and calls done.
// While the client keeps up, an http:// upstream is read by the relay loop, and the
// session goes on, and ends, on the goroutine that takes the stream back from the
// loop (clientStream.run).
func (rt *route) streamToWS(cs *clientStream, c *ws.Conn, cr *clientRequest, done func()) {
	s := &wsSession{rt: rt, cs: cs, c: c, done: done}
	s.disconnected = rt.connected(clientWS, cr.remoteAddr)
	s.ctx, s.cancel = context.WithCancel(cs.ctx)
	s.w = wsEventWriter{ctx: s.ctx, fail: s.cancel, out: newWSBatch(c, rt.metrics.clients[clientWS]), fe: newFrameEncoder(cr.format)}
	cs.run(s.ctx, &s.w, rt.srv.relayLoop(), s.w.out, s.end)
}

// wsSession is a WebSocket client's stream of an SSE upstream from its start to its
// end, which may come on another goroutine than the start's.
type wsSession struct {
	rt           *route
	cs           *clientStream
	c            *ws.Conn
	ctx          context.Context
	cancel       context.CancelFunc // ends the stream: the client failed
	w            wsEventWriter
	done         func()
	disconnected func(error)
}

// end closes the session after its stream returned err.
func (s *wsSession) end(err error) {
	s.cancel()
	switch {
	case s.w.clientErr != nil:
		err = s.w.clientErr
	case s.w.addErr != nil:
		err = s.w.addErr
	default:
		err = fmt.Errorf("upstream: %w", err)
	}
	select {
	case <-s.c.Done():
		err = s.c.Err() // the client left, or its connection failed
		s.rt.countClientClose(err)
	default:
	}
	if s.rt.srv.Draining() {
		err = errDraining
	}
	s.rt.closeClient(s.c, err)
	s.disconnected(err)
	s.cs.close()
	s.done()
}

// wsEventWriter is the feed's sink for a WebSocket client's stream: one frame per
// event, batched, flushed when the upstream is about to wait. Its state is one
// structure rather than variables that each callback captures.
type wsEventWriter struct {
	ctx  context.Context
	fail func() // ends the upstream read: the client failed
	out  *wsBatch
	fe   *frameEncoder
	// clientErr is why a flush failed, addErr why a frame could not be queued.
	clientErr, addErr error
}

func (w *wsEventWriter) write(ev *sse.Event) error {
	w.addErr = w.out.encode(w.ctx, w.fe, ev)
	return w.addErr
}

func (w *wsEventWriter) count(add countAdder) { w.out.commit(add) }

// warm reads the writer, its encoder and its batch where an event will
// (relayLoop.warm).
func (w *wsEventWriter) warm() uintptr {
	return uintptr(w.fe.lastRetry) + uintptr(w.out.bytes) + uintptr(w.out.sent) + uintptr(unsafe.Pointer(w.out.cm))
}

func (w *wsEventWriter) flush() {
	if err := w.out.flush(w.ctx); err != nil && w.clientErr == nil {
		w.clientErr = err
		w.fail()
	}
}

// publishMessage POSTs a WebSocket client's message to the route's publish URL, or
// counts it dropped when the route has none.
func (rt *route) publishMessage(ctx context.Context, cr *clientRequest, m ws.Message) {
	if rt.cfg.Publish == nil {
		rt.metrics.msgNoPublish.Inc()
		return
	}
	if err := rt.publish(ctx, cr, m); err != nil {
		rt.metrics.msgFailed.Inc()
		rt.log.Warn("publish failed", "client", cr.remoteAddr, "err", err)
		return
	}
	rt.metrics.msgForwarded.Inc()
}

// countClientClose counts a client message over max_message, which gorilla answers
// with close 1009 by itself.
func (rt *route) countClientClose(err error) {
	if errors.Is(err, websocket.ErrReadLimit) {
		rt.metrics.oversizeClient.Inc()
		rt.log.Warn("client message over max_message; closed with 1009")
	}
}

// closeClient ends a WebSocket client's session with the close code that says why.
func (rt *route) closeClient(c *ws.Conn, err error) {
	var ue *upstreamError
	switch {
	case errors.Is(err, errDraining):
		_ = c.CloseNow(websocket.CloseGoingAway, "server shutting down")
	case errors.As(err, &ue) && ue.status == http.StatusNoContent:
		_ = c.Close(websocket.CloseNormalClosure, "upstream ended the stream")
	case errors.As(err, &ue):
		_ = c.Close(closeBadGateway, fmt.Sprintf("upstream answered %d", ue.status))
	default:
		_ = c.Close(websocket.CloseNormalClosure, "")
	}
}

// closeBadGateway is close code 1014: a gateway got an invalid response upstream.
const closeBadGateway = 1014
