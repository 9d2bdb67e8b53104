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
	c := ws.New(conn, rt.sharedWSOptions())
	release := cr.lease.handOff()
	sctx, scancel := rt.sessionContext(ctx)
	go rt.runSharedWS(sctx, scancel, release, c, cr, h, s, replay)
}

// runSharedWS is a shared WebSocket client's session, on a goroutine of its own so
// that the handler could return (lease.handOff). It sends the replay (live events
// wait in the client's queue meanwhile), then has the hub deliver frames straight
// into the connection's queue, which is the client's queue from then on, so the
// connection's writer is the only goroutine an event wakes; this one reads the client.
func (rt *route) runSharedWS(ctx context.Context, cancel, release func(), c *ws.Conn, cr *clientRequest, h *hub, s *subscriber, replay []*Entry) {
	defer release()
	defer cancel()
	defer h.leave(s)
	disconnected := rt.connected(clientWS, cr)
	err := rt.sendReplay(ctx, c, replay, cr.format)
	if err == nil && h.attach(s, rt.deliverFrames(c, cr.format), cancel) {
		err = rt.readSharedClient(ctx, c, cr, h)
	}
	select {
	case <-s.kicked:
		err = s.reason
	default:
	}
	if rt.srv.Draining() {
		err = errDraining
	}
	rt.closeSharedClient(c, err)
	disconnected(err)
}

// deliverFrames puts an entry's frame, prepared once per stream and format, into c's
// queue without blocking; false (the client is too slow) only when the queue is full.
func (rt *route) deliverFrames(c *ws.Conn, format config.Format) func(*Entry) bool {
	cm := rt.metrics.clients[clientWS]
	return func(e *Entry) bool {
		pm, n := e.frame(format)
		switch err := c.TrySendPrepared(pm, n); {
		case err == nil:
			cm.events.Inc()
			cm.bytes.Add(float64(n))
		case errors.Is(err, ws.ErrQueueFull):
			return false
		}
		return true // a closed connection: its session is ending and will leave
	}
}

// sendReplay sends a resuming client what it missed, waiting for room as it goes.
func (rt *route) sendReplay(ctx context.Context, c *ws.Conn, replay []*Entry, format config.Format) error {
	cm := rt.metrics.clients[clientWS]
	for _, e := range replay {
		pm, n := e.frame(format)
		if err := c.SendPrepared(ctx, pm, n); err != nil {
			return err
		}
		cm.events.Inc()
		cm.bytes.Add(float64(n))
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

// readSharedClient takes the client's messages until it leaves.
func (rt *route) readSharedClient(ctx context.Context, c *ws.Conn, cr *clientRequest, h *hub) error {
	if rt.cfg.UpstreamIsSSE() {
		return rt.readClient(ctx, c, cr)
	}
	for {
		m, err := c.Read(ctx)
		if err != nil {
			rt.countClientClose(err)
			return err
		}
		if err := h.sendUpstream(ctx, m); err != nil {
			rt.metrics.msgFailed.Inc()
			continue
		}
		rt.metrics.msgForwarded.Inc()
	}
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
