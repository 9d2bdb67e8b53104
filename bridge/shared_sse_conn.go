package bridge

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/ssews/ssews/sse"
)

// hijackSSE takes over an HTTP/1.x EventSource client's connection and writes the
// response head itself, so that a shared client can be served by a goroutine of its
// own (lease.handOff) holding no more than its socket. The stream is delimited by the
// connection's end (Connection: close, no chunking), which every EventSource and HTTP
// client reads. HTTP/2 streams cannot be taken over: ok is false and the caller
// serves the client through the ResponseWriter.
func (rt *route) hijackSSE(w http.ResponseWriter, r *http.Request) (net.Conn, bool) {
	if r.ProtoMajor != 1 {
		return nil, false
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, false
	}
	head := make([]byte, 0, 512)
	head = append(head, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"+
		"X-Accel-Buffering: no\r\nConnection: close\r\n"...)
	for k, vs := range w.Header() { // CORS, set before the stream
		for _, v := range vs {
			head = append(head, k...)
			head = append(head, ": "...)
			head = append(head, v...)
			head = append(head, "\r\n"...)
		}
	}
	head = append(head, "\r\n"...)
	head = sse.AppendRetry(head, rt.cfg.Retry.Milliseconds())
	_ = conn.SetWriteDeadline(time.Now().Add(rt.srv.opts.WriteTimeout))
	if _, err := conn.Write(head); err != nil {
		conn.Close()
		return nil, false
	}
	return conn, true
}

// runSharedSSEConn serves a shared EventSource client on a taken-over connection:
// the replay, then the live stream, which the hub writes itself while the socket
// keeps up (sseConnWriter); this goroutine writes out what had to wait, and the
// heartbeat. A one-byte read notices the client leaving (EventSource sends nothing
// after its request).
func (rt *route) runSharedSSEConn(ctx context.Context, cancel, release func(), conn net.Conn, cr *clientRequest, h *hub, s *subscriber, replay []*Entry) {
	defer release()
	defer cancel()
	defer h.leave(s)
	defer conn.Close()
	go watchClosed(conn, cancel)
	var why error
	disconnected := rt.connected(clientSSE, cr)
	defer func() { disconnected(why) }()

	cm := rt.metrics.clients[clientSSE]
	w := newSSEConnWriter(conn, rt.srv.opts.WriteTimeout, rt.srv.opts.ClientBuffer, int(rt.clientQueueBytes()))
	if len(replay) > 0 {
		bufs := make(net.Buffers, 0, len(replay))
		for _, e := range replay {
			bufs = append(bufs, e.sse())
		}
		_ = conn.SetWriteDeadline(time.Now().Add(rt.srv.opts.WriteTimeout))
		n, err := bufs.WriteTo(conn)
		cm.events.Add(float64(len(replay)))
		cm.bytes.Add(float64(n))
		if why = err; err != nil {
			return
		}
	}
	deliver := func(e *Entry) bool {
		b := e.sse()
		if !w.deliver(b) {
			return false
		}
		cm.events.Inc()
		cm.bytes.Add(float64(len(b)))
		return true
	}
	if !h.attach(s, deliver, cancel) {
		why = s.reason
		return
	}
	heartbeat := time.NewTicker(rt.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-w.wake:
			if why = w.flush(); why != nil {
				return
			}
		case <-s.kicked:
			why = s.reason
			return
		case <-heartbeat.C:
			// A comment per interval, busy or not: one write every few seconds is
			// cheaper than tracking idleness per event for thousands of clients.
			w.deliver(heartbeatComment)
		case <-ctx.Done():
			if rt.srv.Draining() {
				why = errDraining
			}
			return
		}
	}
}

// heartbeatComment is an SSE comment line: ignored by clients, it keeps the
// connection and the proxies on its way from calling it idle.
var heartbeatComment = sse.AppendComment(nil, "")

// watchClosed calls gone once conn reads EOF or fails: the client has left (or the
// session closed conn). It reads one byte at a time into the stack: an EventSource
// client sends nothing more, so the read just waits.
func watchClosed(conn net.Conn, gone func()) {
	var b [1]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			gone()
			return
		}
	}
}
