package bridge

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// directionError tells which side of a proxied WebSocket session ended it.
type directionError struct {
	fromUpstream bool
	err          error
}

func (e *directionError) Error() string { return e.err.Error() }
func (e *directionError) Unwrap() error { return e.err }

// proxyWS serves a WebSocket client from a WebSocket upstream: the upstream is dialled
// first, so its refusal becomes the client's handshake status, then messages are copied
// both ways, one at a time, and a close on either side is passed to the other.
func (rt *route) proxyWS(w http.ResponseWriter, r *http.Request, cr *clientRequest) {
	ctx, cancel := rt.clientContext(r)
	defer cancel()
	upConn, err := dialWSUpstream(ctx, rt.dialer, cr, cr.lastEventID, websocket.Subprotocols(r))
	if err != nil {
		if ctx.Err() == nil {
			rt.metrics.failures.WithLabelValues(failureReason(err)).Inc()
		}
		rt.refuse(ctx, w, cr, err)
		return
	}
	rt.metrics.upstreamConnects.Inc()
	var hdr http.Header
	if p := upConn.Subprotocol(); p != "" {
		hdr = http.Header{"Sec-Websocket-Protocol": {p}}
	}
	clientConn, err := ws.Upgrade(&rt.srv.upgrader, w, r, hdr)
	if err != nil {
		upConn.Close()
		return
	}
	up := ws.New(upConn, rt.upstreamWSOptions())
	cl := ws.New(clientConn, rt.clientWSOptions())
	disconnected := rt.connected(clientWS, cr)

	ss := rt.newSession(cancel)
	ss.goFunc(func() error { return rt.copyUpstream(ctx, up, cl) })
	ss.goFunc(func() error { return rt.copyClient(ctx, cl, up) })
	err = ss.wait(nil)
	rt.closeProxied(up, cl, err)
	disconnected(err)
}

// copyUpstream copies the upstream's messages to the client.
func (rt *route) copyUpstream(ctx context.Context, up, cl *ws.Conn) error {
	cm := rt.metrics.clients[clientWS]
	for {
		m, err := up.Read(ctx)
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				rt.metrics.oversizeUpstream.Inc()
			}
			return &directionError{fromUpstream: true, err: err}
		}
		rt.metrics.eventsIn.Inc()
		rt.metrics.bytesIn.Add(float64(len(m.Data)))
		if err := cl.Send(ctx, m); err != nil {
			return &directionError{err: err}
		}
		cm.events.Inc()
		cm.bytes.Add(float64(len(m.Data)))
	}
}

// copyClient copies the client's messages to the upstream.
func (rt *route) copyClient(ctx context.Context, cl, up *ws.Conn) error {
	for {
		m, err := cl.Read(ctx)
		if err != nil {
			rt.countClientClose(err)
			return &directionError{err: err}
		}
		if err := up.Send(ctx, m); err != nil {
			return &directionError{fromUpstream: true, err: err}
		}
		rt.metrics.msgForwarded.Inc()
	}
}

// closeProxied closes both sides, passing on the close code of the side that ended
// the session. Codes that may not be sent on the wire are replaced: no status (1005)
// becomes 1000, an upstream lost without a close frame becomes 1014 (bad gateway).
func (rt *route) closeProxied(up, cl *ws.Conn, err error) {
	if errors.Is(err, errDraining) {
		_ = cl.CloseNow(websocket.CloseGoingAway, "server shutting down")
		_ = up.Close(websocket.CloseGoingAway, "")
		return
	}
	var de *directionError
	if !errors.As(err, &de) {
		_ = cl.Close(websocket.CloseNormalClosure, "")
		_ = up.Close(websocket.CloseNormalClosure, "")
		return
	}
	code, text, ok := ws.CloseCode(de.err)
	switch {
	case ok && code == websocket.CloseNoStatusReceived:
		code = websocket.CloseNormalClosure
	case errors.Is(de.err, websocket.ErrReadLimit) && de.fromUpstream:
		code, text = closeBadGateway, "upstream message over max_message"
	case !ok || code == websocket.CloseAbnormalClosure || code == websocket.CloseTLSHandshake:
		code, text = closeBadGateway, "upstream connection lost"
		if !de.fromUpstream {
			code, text = websocket.CloseGoingAway, "client connection lost"
		}
	}
	if de.fromUpstream {
		if ok {
			rt.log.Debug("upstream closed the session", "code", code, "text", text)
		} else {
			rt.log.Warn("upstream connection lost", "err", de.err)
		}
		_ = cl.Close(code, text)
		_ = up.Close(websocket.CloseNormalClosure, "")
		return
	}
	_ = up.Close(code, text)
	_ = cl.Close(websocket.CloseNormalClosure, "")
}
