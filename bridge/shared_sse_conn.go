package bridge

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ssews/ssews/sse"
)

// hijackSSE takes over an HTTP/1.x EventSource client's connection and writes the
// response head itself, so that a shared client can be served with no goroutine of
// its own, holding no more than its socket (sharedSSEConn). The stream is delimited
// by the connection's end (Connection: close, no chunking), which every EventSource
// and HTTP client reads. HTTP/2 streams cannot be taken over: handled is false and
// the caller serves the client through the ResponseWriter. When handled is true and
// conn nil, the connection was taken over and has failed: nothing is left to do.
func (rt *route) hijackSSE(w http.ResponseWriter, r *http.Request) (conn net.Conn, handled bool) {
	if r.ProtoMajor != 1 {
		return nil, false
	}
	h := w.Header() // CORS, set before the stream
	setStreamHeaders(h)
	h.Set("Connection", "close")
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, false
	}
	// net/http leaves its read deadline on a taken-over connection; the client's
	// hang-up is watched for with none (watchClosed).
	_ = conn.SetReadDeadline(time.Time{})
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&head) // sorted, CR and LF in values replaced
	head.WriteString("\r\n")
	head.Write(sse.AppendRetry(nil, rt.cfg.Retry.Milliseconds()))
	_ = conn.SetWriteDeadline(time.Now().Add(rt.srv.opts.WriteTimeout))
	if _, err := conn.Write(head.Bytes()); err != nil {
		conn.Close()
		return nil, true
	}
	return conn, true
}

// sharedSSEConn is a shared EventSource client on a taken-over connection, served
// without a goroutine of its own: the hub writes the live stream (sseConnWriter) and
// the heartbeat, the server's close watcher hears the client leave, and whichever
// of those, the hub letting it go or shutdown comes first ends it (end).
type sharedSSEConn struct {
	rt   *route
	conn net.Conn
	h    *hub
	s    *subscriber
	w    *sseConnWriter

	once sync.Once
	// mu guards the stops, which the session's ends may look for while they
	// are still being set up.
	mu           sync.Mutex
	stopWatch    func()
	stopDrain    func() bool
	disconnected func(error)
	release      func()
}

// runSharedSSEConn starts the session of a shared EventSource client on a
// taken-over connection: the replay (written here, on the handler's goroutine), then
// the live stream, written by the hub. It returns once the session runs by itself.
func (rt *route) runSharedSSEConn(conn net.Conn, cr *clientRequest, h *hub, s *subscriber, replay []*Entry) {
	c := &sharedSSEConn{rt: rt, conn: conn, h: h, s: s, release: cr.lease.handOff()}
	c.disconnected = rt.connected(clientSSE, cr.remoteAddr)
	cm := rt.metrics.clients[clientSSE]
	if err := c.write(replay); err != nil {
		c.end(err)
		return
	}
	c.w = newSSEConnWriter(conn, rt.srv.opts.WriteTimeout, rt.srv.opts.ClientBuffer, int(rt.clientQueueBytes()), rt.srv.goTracked, c.end)
	deliver := func(b *batch) bool {
		bufs, n := b.sse()
		if !c.w.deliver(bufs) {
			return false
		}
		cm.events.Add(float64(len(bufs)))
		cm.bytes.Add(float64(n))
		return true
	}
	// The session's ends: each may run (on a goroutine of its own) at any time
	// from here on.
	onKick := func() { rt.srv.goTracked(func() { c.end(s.reason) }) } // off the hub's lock
	heartbeat := func() { c.w.deliver(heartbeatComment) }
	c.mu.Lock()
	c.stopDrain = context.AfterFunc(rt.srv.drainCtx, func() { c.end(errDraining) })
	c.stopWatch = rt.srv.watchClosed(conn, func() { c.end(nil) })
	c.mu.Unlock()
	if err := h.attachAfterBacklog(s, deliver, onKick, heartbeat, c.write); err != nil {
		c.end(err)
	}
}

// write sends entries on the handler's goroutine, waiting within the write
// timeout: the replay, and what arrived while the client was set up.
func (c *sharedSSEConn) write(entries []*Entry) error {
	if len(entries) == 0 {
		return nil
	}
	bufs := make(net.Buffers, 0, len(entries))
	for _, e := range entries {
		bufs = append(bufs, e.sse())
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.rt.srv.opts.WriteTimeout))
	n, err := bufs.WriteTo(c.conn)
	cm := c.rt.metrics.clients[clientSSE]
	cm.events.Add(float64(len(entries)))
	cm.bytes.Add(float64(n))
	return err
}

// end ends the session once, for why (nil: the client left by itself).
func (c *sharedSSEConn) end(why error) {
	c.once.Do(func() {
		c.mu.Lock()
		stopDrain, stopWatch := c.stopDrain, c.stopWatch
		c.mu.Unlock()
		if stopDrain != nil {
			stopDrain()
			stopWatch()
		}
		c.h.leave(c.s)
		c.conn.Close()
		if c.rt.srv.Draining() {
			why = errDraining
		}
		c.disconnected(why)
		c.release()
	})
}

// heartbeatComment is an SSE comment line: ignored by clients, it keeps the
// connection and the proxies on its way from calling it idle.
var heartbeatComment = [][]byte{sse.AppendComment(nil, "")}
