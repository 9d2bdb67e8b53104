package test

import (
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
)

// TestVanishedClientEndsUpstream: when a client goes, its upstream connection ends
// promptly, for every path; goleak in TestMain checks nothing is left behind.
func TestVanishedClientEndsUpstream(t *testing.T) {
	t.Parallel()
	var sseUp, wsUp *backend
	sseUp = newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: hi\n\n")
		sseUp.holdOpen(r)
	})
	wsUp = newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.WriteMessage(websocket.TextMessage, []byte("hi"))
		wsUp.waitClientGone(c)
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/sse", sseUp.URL, "/ws", wsURL(wsUp.URL))})

	s := openSSE(t, p.url+"/sse", nil)
	s.next(t)
	s.close()
	recv(t, sseUp.gone, "SSE upstream end after EventSource client left")

	c := dialWS(t, p.ws+"/sse", nil)
	readText(t, c)
	c.Close() // no close frame: the client just vanishes
	recv(t, sseUp.gone, "SSE upstream end after WebSocket client vanished")

	s = openSSE(t, p.url+"/ws", nil)
	s.next(t)
	s.close()
	recv(t, wsUp.gone, "WS upstream end after EventSource client left")

	c = dialWS(t, p.ws+"/ws", nil)
	readText(t, c)
	c.Close()
	recv(t, wsUp.gone, "WS upstream end after WebSocket client vanished")
}

// TestOneBadClientDoesNotAffectOthers: a stalled reader on one connection must not
// delay another client of the same route (per-client mode).
func TestOneBadClientDoesNotAffectOthers(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		for i := 0; ; i++ {
			if _, err := w.Write([]byte("data: 0123456789012345678901234567890123456789\n\n")); err != nil {
				return
			}
			if i%100 == 0 {
				w.(http.Flusher).Flush()
			}
			select {
			case <-r.Context().Done():
				return
			default:
			}
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/fire", up.URL), "SSEWS_WRITE_TIMEOUT": "500ms"})
	stalled := dialWS(t, p.ws+"/fire", nil) // never reads
	_ = stalled
	good := openSSE(t, p.url+"/fire", nil)
	for range 1000 {
		good.next(t)
	}
}
