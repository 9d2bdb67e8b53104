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

// streamToWS sends the stream's events to c until the stream or the client ends,
// closes c with the code that says why, then the stream, and calls done.
func (rt *route) streamToWS(cs *clientStream, c *ws.Conn, cr *clientRequest, done func()) {
	defer done()
	defer cs.close()
	disconnected := rt.connected(clientWS, cr.remoteAddr)
	err := rt.sendEvents(cs.ctx, cs.feed, c, newFrameEncoder(cr.format))
	select {
	case <-c.Done():
		err = c.Err() // the client left, or its connection failed
		rt.countClientClose(err)
	default:
	}
	if rt.srv.Draining() {
		err = errDraining
	}
	rt.closeClient(c, err)
	disconnected(err)
}

// sendEvents writes every event of f to c, one frame each, in batches handed over
// when the upstream is about to wait (wsBatch).
func (rt *route) sendEvents(ctx context.Context, f *feed, c *ws.Conn, fe *frameEncoder) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &wsEventWriter{ctx: ctx, fail: cancel, out: newWSBatch(c, rt.metrics.clients[clientWS]), fe: fe}
	// While the client keeps up, an http:// upstream is read by a relay loop.
	if loop := rt.srv.relayLoop(); loop != nil {
		f.setRelay(loop, w.out)
	}
	err := f.stream(ctx, w)
	switch {
	case w.clientErr != nil:
		return w.clientErr
	case w.addErr != nil:
		return w.addErr
	}
	return fmt.Errorf("upstream: %w", err)
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
