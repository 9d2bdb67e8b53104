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
	c := ws.New(conn, rt.clientWSOptions())
	release := cr.lease.handOff()
	sctx, scancel := rt.sessionContext(ctx)
	go rt.runSharedWS(sctx, scancel, release, c, cr, h, s, replay)
}

// runSharedWS is a shared WebSocket client's session, on a goroutine of its own so
// that the handler could return (lease.handOff): it sends, and one more goroutine
// reads the client.
func (rt *route) runSharedWS(ctx context.Context, cancel, release func(), c *ws.Conn, cr *clientRequest, h *hub, s *subscriber, replay []*Entry) {
	defer release()
	defer cancel()
	defer h.leave(s)
	disconnected := rt.connected(clientWS, cr)
	ss := rt.newSession(cancel)
	ss.goFunc(func() error { return rt.readSharedClient(ctx, c, cr, h) })
	err := ss.wait(func() error { return rt.sendShared(ctx, c, s, replay, cr.format) })
	rt.closeSharedClient(c, err)
	disconnected(err)
}

// sendShared writes the replay, then every entry the hub queues for s.
func (rt *route) sendShared(ctx context.Context, c *ws.Conn, s *subscriber, replay []*Entry, format config.Format) error {
	cm := rt.metrics.clients[clientWS]
	send := func(e *Entry) error {
		pm, n := e.frame(format)
		if err := c.SendPrepared(ctx, pm, n); err != nil {
			return err
		}
		cm.events.Inc()
		cm.bytes.Add(float64(n))
		return nil
	}
	for _, e := range replay {
		if err := send(e); err != nil {
			return err
		}
	}
	var batch []*Entry
	for {
		select {
		case <-s.ready:
			batch = s.take(batch)
			for _, e := range batch {
				if err := send(e); err != nil {
					return err
				}
			}
		case <-s.kicked:
			return s.reason
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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
