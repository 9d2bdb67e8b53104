package bridge

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

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
// both ways, each side's reader handing them to the other side's bounded queue, and a
// close on either side is passed to the other.
func (rt *route) proxyWS(w http.ResponseWriter, r *http.Request, cr *clientRequest) {
	ctx, cancel := rt.clientContext(r)
	defer cancel()
	upConn, err := dialWSUpstream(ctx, rt.dialer, cr, cr.lastEventID, websocket.Subprotocols(r), true)
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
	if rt.tunnelWS(upConn, clientConn, cr) {
		return
	}
	// Each side's reader goroutine hands its messages straight to the other side
	// (ws.Options.OnMessage), and a full queue on one side stops the reading of the
	// other. The upstream's messages go out in batches (wsBatch), when its reader
	// is about to wait: while the client keeps up, a message costs no goroutine
	// wake-up beyond the upstream reader's. The session is the two connections: the
	// handler returns, and the first side to close (OnClose), or shutdown, ends it.
	var up, cl *ws.Conn
	both := make(chan struct{}) // the callbacks may run before both exist
	var toClient *wsBatch
	sctx, scancel := rt.sessionContext() // outlives the request
	release := cr.lease.handOff()
	disconnected := rt.connected(clientWS, cr.remoteAddr)
	var once sync.Once
	var stopDrain func() bool
	finish := func(why error) {
		once.Do(func() {
			<-both
			stopDrain()
			scancel()
			if rt.srv.Draining() {
				why = errDraining
			}
			rt.closeProxied(up, cl, why)
			disconnected(why)
			release()
		})
	}
	upOpts, clOpts := rt.wsOptions(), rt.wsOptions()
	upOpts.OnMessage = func(m ws.Message) {
		<-both
		rt.metrics.eventsIn.Inc()
		rt.metrics.bytesIn.Add(float64(len(m.Data)))
		_ = toClient.add(sctx, ws.ServerFrame(m.Binary, m.Data), len(m.Data)) // a client that failed ends the session
	}
	upOpts.OnWait = func() {
		<-both
		_ = toClient.flush(sctx)
	}
	upOpts.OnClose = func() {
		<-both
		if errors.Is(up.Err(), websocket.ErrReadLimit) {
			rt.metrics.oversizeUpstream.Inc()
		}
		finish(&directionError{fromUpstream: true, err: up.Err()})
	}
	clOpts.OnMessage = func(m ws.Message) {
		<-both
		if up.Send(sctx, m) == nil {
			rt.metrics.msgForwarded.Inc()
		}
	}
	clOpts.OnClose = func() {
		<-both
		rt.countClientClose(cl.Err())
		finish(&directionError{err: cl.Err()})
	}
	up = ws.New(upConn, upOpts)
	cl = ws.New(clientConn, clOpts)
	toClient = newWSBatch(cl, rt.metrics.clients[clientWS])
	stopDrain = context.AfterFunc(rt.srv.drainCtx, func() { finish(errDraining) })
	close(both)
}

// tunnelWS relays the session on a relay loop (wsTunnel) when it can; false when
// it cannot, and nothing changed.
func (rt *route) tunnelWS(upConn, clientConn *websocket.Conn, cr *clientRequest) bool {
	t, ok := rt.newTunnel(upConn, clientConn)
	if !ok {
		return false
	}
	release := cr.lease.handOff()
	disconnected := rt.connected(clientWS, cr.remoteAddr)
	// Shutdown drains the tunnel; once it has ended, the drain is not needed.
	var stopDrain atomic.Pointer[func() bool]
	var finished atomic.Bool
	rt.metrics.relayed.Inc()
	t.start(func(why error) {
		finished.Store(true)
		rt.metrics.relayed.Dec()
		if stop := stopDrain.Load(); stop != nil {
			(*stop)()
		}
		if rt.srv.Draining() {
			why = errDraining
		}
		disconnected(why)
		release()
	})
	stop := context.AfterFunc(rt.srv.drainCtx, t.drain)
	stopDrain.Store(&stop)
	if finished.Load() {
		stop()
	}
	return true
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
