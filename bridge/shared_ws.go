package bridge

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/ws"
)

// serveSharedWS serves a WebSocket client from a shared stream. Frames are prepared
// once per stream and format; the client's messages go to the upstream that serves
// the stream (WebSocket upstream: as frames; SSE upstream: POSTed to publish).
func (rt *route) serveSharedWS(w http.ResponseWriter, r *http.Request, cr *clientRequest) {
	ctx, cancel := rt.clientContext(r)
	defer cancel()
	h, s, replay, err := rt.joinShared(ctx, cr, clientWS)
	if err != nil {
		rt.refuse(ctx, w, cr, err)
		return
	}
	conn, err := ws.Upgrade(&rt.srv.upgrader, w, r, nil)
	if err != nil {
		h.leave(s)
		return
	}
	// The session is callbacks: the connection's reader hands the client's
	// messages over (OnMessage), the hub delivers into the connection's queue
	// (attach), and cleanup runs when the connection ends (OnClose). An idle
	// shared client costs its connection's reader goroutine and nothing more.
	var c *ws.Conn
	created := make(chan struct{})
	release := cr.lease.handOff()
	disconnected := rt.connected(clientWS, cr.remoteAddr)
	var stopDrain func() bool
	opts := rt.sharedWSOptions()
	from := cr // for publish, which forwards the client's headers
	if rt.cfg.Publish == nil {
		from = nil // nothing needs the request after the upgrade: let it go
	}
	opts.OnMessage = func(m ws.Message) {
		<-created
		rt.fromSharedClient(c.Context(), from, h, m)
	}
	opts.OnClose = func() {
		<-created
		stopDrain()
		h.leave(s)
		why := c.Err()
		rt.countClientClose(why)
		select {
		case <-s.kicked:
			why = s.reason
		default:
		}
		if rt.srv.Draining() {
			why = errDraining
		}
		disconnected(why)
		release()
	}
	c = ws.New(conn, opts)
	stopDrain = context.AfterFunc(rt.srv.drainCtx, func() { rt.closeSharedClient(c, errDraining) })
	close(created)
	if len(replay) > 0 {
		if err := rt.sendReplay(c.Context(), c, s, replay, cr.format); err != nil {
			rt.closeSharedClient(c, err)
			return
		}
	}
	// Let go by the hub: close with the code that says why, off the hub's lock.
	onKick := func() { rt.srv.goTracked(func() { rt.closeSharedClient(c, s.reason) }) }
	sendBacklog := func(backlog []*Entry) error { return rt.sendReplay(c.Context(), c, s, backlog, cr.format) }
	if err := h.attachAfterBacklog(s, rt.deliverFrames(c, cr.format), onKick, nil, sendBacklog); err != nil {
		rt.closeSharedClient(c, err)
	}
}

// fromSharedClient passes a shared WebSocket client's message to the upstream that
// serves the stream: a WebSocket upstream as a frame, an SSE upstream by publish (cr
// is nil when the route has no publish URL).
func (rt *route) fromSharedClient(ctx context.Context, cr *clientRequest, h *hub, m ws.Message) {
	if rt.cfg.UpstreamIsSSE() {
		rt.publishMessage(ctx, cr, m)
		return
	}
	if err := h.sendUpstream(ctx, m); err != nil {
		rt.metrics.msgFailed.Inc()
		return
	}
	rt.metrics.msgForwarded.Inc()
}

// deliverFrames hands c a batch's frames, encoded once per stream and format,
// without blocking: written on the spot, with one write for the batch, while c has
// nothing else to write and its socket takes them (as shared EventSource clients
// are), queued otherwise. False (the client is too slow) only when the queue is full.
func (rt *route) deliverFrames(c *ws.Conn, format config.Format) func(*batch) bool {
	cm := rt.metrics.clients[clientWS]
	return func(b *batch) bool {
		taken := c.TryWriteFrames(b.frames(format))
		for i, e := range b.entries {
			wire, n := e.wire(format)
			if i >= taken {
				switch err := c.TrySendFrame(wire, n); {
				case errors.Is(err, ws.ErrQueueFull):
					return false
				case err != nil:
					return true // a closed connection: its session is ending and will leave
				}
			}
			cm.events.Inc()
			cm.bytes.Add(float64(n))
		}
		return true
	}
}

// sendReplay sends a resuming client what it missed, or a new one what arrived while
// it was set up, a batch's worth of frames per write while its socket takes them,
// waiting for room otherwise, unless the stream lets the client go meanwhile.
func (rt *route) sendReplay(ctx context.Context, c *ws.Conn, s *subscriber, replay []*Entry, format config.Format) error {
	cm := rt.metrics.clients[clientWS]
	for len(replay) > 0 {
		select {
		case <-s.kicked:
			return s.reason
		default:
		}
		chunk := newBatch(replay[:min(len(replay), maxBatchEvents)])
		replay = replay[len(chunk.entries):]
		taken := c.TryWriteFrames(chunk.frames(format))
		for i, e := range chunk.entries {
			wire, n := e.wire(format)
			if i >= taken {
				if err := c.SendFrame(ctx, wire, n); err != nil {
					return err
				}
			}
			cm.events.Inc()
			cm.bytes.Add(float64(n))
		}
	}
	return nil
}

// sharedWSOptions are a shared WebSocket client's connection options: once attached,
// its queue is the client's queue, SSEWS_CLIENT_BUFFER events and the byte bound.
func (rt *route) sharedWSOptions() ws.Options {
	o := rt.wsOptions()
	o.QueueLen = rt.srv.opts.ClientBuffer
	o.QueueBytes = int(rt.clientQueueBytes())
	return o
}

// closeSharedClient ends a shared client's session with the code that says why: 1013
// for a client too slow for the stream (it resumes from the replay buffer), 1001 at
// shutdown, 1000 when the stream ended, 1014 when the upstream refused it.
func (rt *route) closeSharedClient(c *ws.Conn, err error) {
	switch {
	case errors.Is(err, errSlowClient):
		_ = c.CloseNow(websocket.CloseTryAgainLater, "client too slow")
	case errors.Is(err, errDraining):
		_ = c.CloseNow(websocket.CloseGoingAway, "server shutting down")
	case errors.Is(err, errStreamRefused):
		_ = c.Close(closeBadGateway, "upstream refused the stream")
	default:
		_ = c.Close(websocket.CloseNormalClosure, "")
	}
}
