package test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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

// TestDrainEndsEveryKindOfClient: at shutdown, WebSocket clients of every path get
// close 1001 and SSE streams end, per-client and shared alike.
func TestDrainEndsEveryKindOfClient(t *testing.T) {
	t.Parallel()
	sseUp := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	})
	wsUp := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.WriteMessage(websocket.TextMessage, []byte("hi"))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	cfg := writeFile(t, "routes.yaml", "- path: /shared\n  upstream: "+sseUp.URL+"\n  shared: true\n")
	p := startProxy(t, map[string]string{
		"SSEWS_ROUTES": routes("/sse", sseUp.URL, "/ws", wsURL(wsUp.URL)),
		"SSEWS_CONFIG": cfg,
	})
	var wsClients []*websocket.Conn
	for _, path := range []string{"/sse", "/ws", "/shared"} {
		c := dialWS(t, p.ws+path, nil)
		if path != "/shared" {
			readText(t, c)
		}
		wsClients = append(wsClients, c)
	}
	var streams []*sseStream
	for _, path := range []string{"/sse", "/ws", "/shared"} {
		streams = append(streams, openSSE(t, p.url+path, nil))
	}
	waitMetric(t, p, `ssews_connections{client="ws",route="/shared"}`, 1)
	waitMetric(t, p, `ssews_connections{client="sse",route="/shared"}`, 1)

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		done <- p.main.Shutdown(ctx)
	}()
	for i, c := range wsClients {
		if code, _ := readClose(t, c); code != websocket.CloseGoingAway {
			t.Errorf("WebSocket client %d: close %d; want 1001", i, code)
		}
	}
	for _, s := range streams {
		s.expectEnd(t)
	}
	if err := recv(t, done, "shutdown"); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// TestDrainGivesUpPendingUpstreamConnects: a client whose upstream has not answered
// yet must not hold shutdown until SSEWS_UPSTREAM_TIMEOUT, and is told 503 so it
// comes back (an empty 200 would end an EventSource for good).
func TestDrainGivesUpPendingUpstreamConnects(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select { // never answers while the test runs
		case <-release:
		case <-r.Context().Done():
		}
	})
	p := startProxy(t, map[string]string{
		"SSEWS_ROUTES":           routes("/sse", up.URL, "/ws", wsURL(up.URL)),
		"SSEWS_UPSTREAM_TIMEOUT": "1m",
	})
	statuses := make(chan string, 2)
	go func() {
		resp, err := http.Get(p.url + "/sse")
		if err != nil {
			statuses <- "sse: " + err.Error()
			return
		}
		resp.Body.Close()
		statuses <- fmt.Sprintf("sse: %d retry-after=%t", resp.StatusCode, resp.Header.Get("Retry-After") != "")
	}()
	go func() {
		c, resp, err := websocket.DefaultDialer.Dial(p.ws+"/ws", nil)
		switch {
		case err == nil:
			c.Close()
			statuses <- "ws: upgraded"
		case resp != nil:
			statuses <- fmt.Sprintf("ws: %d retry-after=%t", resp.StatusCode, resp.Header.Get("Retry-After") != "")
		default:
			statuses <- "ws: " + err.Error()
		}
	}()
	recv(t, up.requests, "first upstream request")
	recv(t, up.requests, "second upstream request")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.main.Shutdown(ctx); err != nil {
		t.Errorf("shutdown with connects under way: %v; want it done well before the upstream timeout", err)
	}
	got := []string{recv(t, statuses, "first client answered"), recv(t, statuses, "second client answered")}
	slices.Sort(got)
	if want := []string{"sse: 503 retry-after=true", "ws: 503 retry-after=true"}; !slices.Equal(got, want) {
		t.Errorf("clients whose connect was given up: %q; want %q", got, want)
	}
}
