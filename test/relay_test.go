package test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const relayedSeries = `ssews_relayed_streams{route="/r"}`

// leaveRelayed has a relayed client leave (leave), and waits for its upstream to
// see the end (gone) and the session to be off the relay loop.
func leaveRelayed(t *testing.T, p *proxy, leave func(), gone <-chan struct{}) {
	t.Helper()
	leave()
	recv(t, gone, "the upstream's end after the client left")
	waitGauge(t, p, relayedSeries, 0)
}

// TestRelayLoopStream: a per-client EventSource stream of a plain http:// upstream
// runs on the relay loop, and goes on across an upstream drop (the socket ends in
// the loop; the stream reconnects with the last id and comes back to the loop) until
// its client leaves, which ends the upstream request and takes it out of the loop.
func TestRelayLoopStream(t *testing.T) {
	t.Parallel()
	send := make(chan string)
	var up *backend
	up = newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n > 1 {
			write(w, "id: 3\ndata: three\n\n")
			up.holdOpen(r)
			return
		}
		for {
			select {
			case chunk, ok := <-send:
				if !ok {
					return // ends this connection
				}
				write(w, chunk)
			case <-r.Context().Done():
				return
			}
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", up.URL)})
	s := openSSE(t, p.url+"/r", nil)
	send <- "id: 1\ndata: one\n\n"
	if ev := s.nextData(t); ev.Data != "one" || ev.ID != "1" {
		t.Fatalf("got %+v; want one, id 1", ev)
	}
	waitGauge(t, p, relayedSeries, 1)
	// An event cut across reads, then the upstream drops.
	send <- "id: 2\nda"
	send <- "ta: two\n\n"
	close(send)
	if ev := s.nextData(t); ev.Data != "two" || ev.ID != "2" {
		t.Fatalf("got %+v; want two, id 2", ev)
	}
	first := recv(t, up.requests, "the first upstream request")
	if id := first.Header.Get("Last-Event-ID"); id != "" {
		t.Fatalf("first request: Last-Event-ID %q", id)
	}
	again := recv(t, up.requests, "the reconnection")
	if id := again.Header.Get("Last-Event-ID"); id != "2" {
		t.Fatalf("reconnection: Last-Event-ID %q; want 2", id)
	}
	if ev := s.nextData(t); ev.Data != "three" || ev.ID != "3" {
		t.Fatalf("after the reconnection: got %+v; want three, id 3", ev)
	}
	waitGauge(t, p, relayedSeries, 1)
	leaveRelayed(t, p, s.close, up.gone)
}

// TestRelayLoopSlowClientComesBack: a client that stops reading takes its stream out
// of the relay loop (it then holds the upstream back), gets every event in order when
// it reads again, and the stream comes back to the loop once it has caught up.
func TestRelayLoopSlowClientComesBack(t *testing.T) {
	t.Parallel()
	f := newFirehose()
	more := make(chan struct{})
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		bw := bufio.NewWriter(w)
		for i := range backpressureTotal {
			if _, err := fmt.Fprintf(bw, "data: %s\n\n", f.message(i)); err != nil {
				return
			}
		}
		bw.Flush()
		w.(http.Flusher).Flush()
		close(f.done)
		select {
		case <-more:
			write(w, "data: after\n\n")
		case <-r.Context().Done():
			return
		}
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", up.URL)})
	s := openSSE(t, p.url+"/r", nil)
	f.expectHeldBack(t)
	waitGauge(t, p, relayedSeries, 0) // out of the loop while the client is behind
	for i := range backpressureTotal {
		if ev := s.nextData(t); ev.Data != f.message(i) {
			t.Fatalf("event %d: got %.20q", i, ev.Data)
		}
	}
	recv(t, f.done, "the upstream's last write")
	waitGauge(t, p, relayedSeries, 1)
	close(more)
	if ev := s.nextData(t); ev.Data != "after" {
		t.Fatalf("after coming back: got %.20q", ev.Data)
	}
}

// TestRelayLoopWebSocketClient: a WebSocket client of a plain http:// SSE upstream
// is served from the relay loop too, and gets every event.
func TestRelayLoopWebSocketClient(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: one\n\n", "data: two\n\n")
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", up.URL)})
	c := dialWS(t, p.ws+"/r?format=raw", nil)
	for _, want := range []string{"one", "two"} {
		if got := readText(t, c); got != want {
			t.Fatalf("got %q; want %q", got, want)
		}
	}
	waitGauge(t, p, relayedSeries, 1)
	waitMetric(t, p, `ssews_events_out_total{client="ws",route="/r"}`, 2)
	c.Close()
	waitGauge(t, p, relayedSeries, 0)
}

// TestRelayLoopWebSocketUpstream: an EventSource client of a plain ws:// upstream
// is served from the relay loop, which answers the upstream's pings, and goes on
// across an upstream drop.
func TestRelayLoopWebSocketUpstream(t *testing.T) {
	t.Parallel()
	pong := make(chan string, 1)
	var up *backend
	up = newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.SetPongHandler(func(data string) error {
			pong <- data
			return errors.New("enough") // ends the read below, and the connection
		})
		c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "hello %d", n))
		if n == 1 {
			c.WriteControl(websocket.PingMessage, []byte("ping?"), time.Now().Add(wait))
			c.ReadMessage() // handles the pong
			return
		}
		up.waitClientGone(c)
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", wsURL(up.URL))})
	s := openSSE(t, p.url+"/r", nil)
	if ev := s.nextData(t); ev.Data != "hello 1" {
		t.Fatalf("got %q", ev.Data)
	}
	waitGauge(t, p, relayedSeries, 1)
	if got := recv(t, pong, "the pong to the upstream's ping"); got != "ping?" {
		t.Fatalf("pong %q", got)
	}
	if ev := s.nextData(t); ev.Data != "hello 2" {
		t.Fatalf("after the drop: got %q", ev.Data)
	}
	waitGauge(t, p, relayedSeries, 1)
	leaveRelayed(t, p, s.close, up.gone)
}

// TestRelayedStuckClients: a client of a ws:// upstream that stops reading while the
// upstream floods it (an EventSource client, whose reading pauses on the relay loop;
// a WebSocket client, whose tunnel stops reading its upstream) is let go after
// SSEWS_WRITE_TIMEOUT, and its upstream connection closed.
func TestRelayedStuckClients(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sse", "ws"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			gone := make(chan struct{}, 1)
			msg := []byte(strings.Repeat("x", 1000))
			up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
				defer func() { gone <- struct{}{} }()
				go c.ReadMessage() // ends, and with it the writes, once ssews closes
				for {
					c.SetWriteDeadline(time.Now().Add(2 * wait))
					if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
						return
					}
				}
			})
			p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", wsURL(up.URL)), "SSEWS_WRITE_TIMEOUT": "300ms"})
			if kind == "sse" {
				stuck := dialStuckEventSource(t, p, "/r")
				defer stuck.Close()
			} else {
				d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
					c, err := net.Dial(network, addr)
					if err == nil {
						c.(*net.TCPConn).SetReadBuffer(4096)
					}
					return c, err
				}}
				stuck, _, err := d.Dial(p.ws+"/r", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer stuck.Close()
			}
			waitGauge(t, p, relayedSeries, 1)
			recv(t, gone, "the stuck client's upstream closed")
			waitGauge(t, p, `ssews_connections{client="`+kind+`",route="/r"}`, 0)
			waitGauge(t, p, relayedSeries, 0)
		})
	}
}

// TestRelayedStreamsKeepTheirOwnData: streams served together on the relay loop,
// which share its read buffer and their parsers' buffers, each pass on exactly their
// own upstream's events, whole or cut across reads, to EventSource and WebSocket
// clients alike.
func TestRelayedStreamsKeepTheirOwnData(t *testing.T) {
	t.Parallel()
	const clients, events = 12, 150
	eventData := func(c, k int) string {
		return fmt.Sprintf("c%d-%d-%s", c, k, strings.Repeat(string(rune('a'+c)), (k*7+c)%61))
	}
	start := make(chan struct{})
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		var c int
		fmt.Sscan(r.URL.Query().Get("c"), &c)
		<-start
		var pending strings.Builder
		for k := range events {
			fmt.Fprintf(&pending, "id: %d-%d\ndata: %s\n\n", c, k, eventData(c, k))
			if cut := (k + c) % 5; cut < 3 { // a few events a write, some cut in two
				s := pending.String()
				write(w, s[:len(s)-cut*3], s[len(s)-cut*3:])
				pending.Reset()
			}
		}
		write(w, pending.String())
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", up.URL)})
	var sseClients []*sseStream
	var wsClients []*websocket.Conn
	for c := range clients {
		if c%2 == 0 {
			sseClients = append(sseClients, openSSE(t, fmt.Sprintf("%s/r?c=%d", p.url, c), nil))
		} else {
			wsClients = append(wsClients, dialWS(t, fmt.Sprintf("%s/r?c=%d&format=raw", p.ws, c), nil))
		}
	}
	waitGauge(t, p, relayedSeries, clients)
	close(start)
	for k := range events {
		for i, s := range sseClients {
			c := 2 * i
			if ev := s.nextData(t); ev.Data != eventData(c, k) || ev.ID != fmt.Sprintf("%d-%d", c, k) {
				t.Fatalf("EventSource client %d, event %d: got %q, id %q; want %q", c, k, ev.Data, ev.ID, eventData(c, k))
			}
		}
		for i, ws := range wsClients {
			c := 2*i + 1
			if got := readText(t, ws); got != eventData(c, k) {
				t.Fatalf("WebSocket client %d, event %d: got %q; want %q", c, k, got, eventData(c, k))
			}
		}
	}
}

// TestRelayedStreamsHoldNoGoroutine: an EventSource or WebSocket client's stream of
// an SSE upstream, and an EventSource client's of a WebSocket upstream, frees its
// goroutine while it is on the relay loop, and its end still comes: the client's
// hang-up takes it off the loop and closes it.
func TestRelayedStreamsHoldNoGoroutine(t *testing.T) {
	// Not parallel: the goroutines counted are the process's.
	up := newHoldingUpstream(t)
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", "http://"+up.Addr().String(), "/w", "ws://"+up.Addr().String())})
	const each = 20
	clients := []struct{ path, kind string }{{"/r", "sse"}, {"/r", "ws"}, {"/w", "sse"}}
	var conns []net.Conn
	// A client of each kind first, for what they share (relay loops, watchers).
	for _, c := range clients {
		conns = append(conns, dialRawPath(t, p, c.path, c.kind))
	}
	waitGauge(t, p, `ssews_relayed_streams{route="/r"}`, 2)
	waitGauge(t, p, `ssews_relayed_streams{route="/w"}`, 1)
	g0 := runtime.NumGoroutine()
	for range each - 1 {
		for _, c := range clients {
			conns = append(conns, dialRawPath(t, p, c.path, c.kind))
		}
	}
	for _, route := range []string{"/r", "/w"} {
		want := each
		if route == "/r" {
			want = 2 * each
		}
		waitGauge(t, p, fmt.Sprintf(`ssews_relayed_streams{route=%q}`, route), float64(want))
	}
	if n := runtime.NumGoroutine() - g0; n >= each/2 { // a kind of client that held one would add each - 1
		t.Errorf("%d more goroutines with %d relayed streams; want none for each", n, len(conns))
	}
	for _, c := range conns {
		c.Close()
	}
	for _, c := range clients {
		waitGauge(t, p, fmt.Sprintf(`ssews_relayed_streams{route=%q}`, c.path), 0)
		waitGauge(t, p, fmt.Sprintf(`ssews_connections{client=%q,route=%q}`, c.kind, c.path), 0)
	}
}
