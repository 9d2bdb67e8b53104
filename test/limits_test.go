package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestConnectionLimit: with SSEWS_MAX_CONNECTIONS=N, the N+1-th client of either
// kind gets 503 with Retry-After, and a client is admitted again once one leaves.
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/x", up.URL), "SSEWS_MAX_CONNECTIONS": "2"})

	s := openSSE(t, p.url+"/x", nil)
	s.nextData(t)
	c := dialWS(t, p.ws+"/x", nil)
	readText(t, c)

	resp, err := http.Get(p.url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	checkRetryAfter(t, "EventSource client over the limit", resp)
	_, wsResp, err := websocket.DefaultDialer.Dial(p.ws+"/x", nil)
	if err == nil || wsResp == nil {
		t.Fatalf("WebSocket client over the limit: %v; want 503", err)
	}
	checkRetryAfter(t, "WebSocket client over the limit", wsResp)
	waitMetric(t, p, `ssews_rejected_requests_total{reason="limit",route="/x"}`, 2)

	s.close() // one leaves: the next EventSource client is admitted
	var again *sseStream
	pollUntil(t, "an EventSource client admitted after one left", func() bool {
		again, _ = tryOpenSSE(t, p.url+"/x", nil)
		return again != nil
	})
	again.nextData(t)

	c.Close() // and the next WebSocket client once that one has gone
	pollUntil(t, "a WebSocket client admitted after one left", func() bool {
		c2, _, err := websocket.DefaultDialer.Dial(p.ws+"/x", nil)
		if err != nil {
			return false
		}
		t.Cleanup(func() { c2.Close() })
		readText(t, c2)
		return true
	})
}

func checkRetryAfter(tb testing.TB, who string, resp *http.Response) {
	tb.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable {
		tb.Errorf("%s: status %d; want 503", who, resp.StatusCode)
	}
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 {
		tb.Errorf("%s: Retry-After %q; want a number of seconds", who, resp.Header.Get("Retry-After"))
	}
}

// TestCORS: preflights, the * wildcard, same origin by default, and requests
// without Origin (SPEC section 6).
func TestCORS(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	})
	listed := startProxy(t, map[string]string{
		"SSEWS_ROUTES":          routes("/x", up.URL),
		"SSEWS_ALLOWED_ORIGINS": "https://app.example",
		"SSEWS_FORWARD_HEADERS": "Authorization,Cookie,X-Tenant",
	})
	anyOrigin := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/x", up.URL), "SSEWS_ALLOWED_ORIGINS": "*"})
	sameOnly := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/x", up.URL)})

	t.Run("preflight", func(t *testing.T) {
		resp := preflight(t, listed.url+"/x", "https://app.example", "last-event-id, authorization, x-tenant")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("preflight: %d; want 204", resp.StatusCode)
		}
		h := resp.Header
		if got := h.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
			t.Errorf("Access-Control-Allow-Origin %q; want the origin", got)
		}
		if got := h.Get("Access-Control-Allow-Credentials"); got != "true" {
			t.Errorf("Access-Control-Allow-Credentials %q; want true", got)
		}
		if got := h.Get("Access-Control-Allow-Methods"); !hasToken(got, "GET") {
			t.Errorf("Access-Control-Allow-Methods %q; want GET", got)
		}
		allow := h.Get("Access-Control-Allow-Headers")
		for _, want := range []string{"Last-Event-ID", "Authorization", "X-Tenant", "Cache-Control"} {
			if !hasToken(allow, want) {
				t.Errorf("Access-Control-Allow-Headers %q lacks %s", allow, want)
			}
		}
		if got := h.Values("Vary"); !hasToken(strings.Join(got, ","), "Origin") {
			t.Errorf("Vary %q; want Origin", got)
		}
		if resp := preflight(t, listed.url+"/x", "https://evil.example", "last-event-id"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("preflight from a foreign origin: %d; want 403", resp.StatusCode)
		}
	})

	t.Run("wildcard", func(t *testing.T) {
		s := openSSE(t, anyOrigin.url+"/x", http.Header{"Origin": {"https://any.example"}})
		if got := s.resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("credential-less request: Access-Control-Allow-Origin %q; want *", got)
		}
		if got := s.resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("credential-less request: Access-Control-Allow-Credentials %q; want none with *", got)
		}
		s.close()
		for name, h := range map[string]http.Header{
			"cookie":        {"Origin": {"https://any.example"}, "Cookie": {"session=1"}},
			"authorization": {"Origin": {"https://any.example"}, "Authorization": {"Bearer t"}},
		} {
			s := openSSE(t, anyOrigin.url+"/x", h)
			if got := s.resp.Header.Get("Access-Control-Allow-Origin"); got != "https://any.example" {
				t.Errorf("request with %s: Access-Control-Allow-Origin %q; want the origin (* is refused with credentials)", name, got)
			}
			if got := s.resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
				t.Errorf("request with %s: Access-Control-Allow-Credentials %q; want true", name, got)
			}
			s.close()
		}
		// A preflight carries no credentials, yet the request it clears may
		// (fetch with credentials: "include"): a browser refuses * for that one,
		// so the preflight must answer the origin with credentials.
		resp := preflight(t, anyOrigin.url+"/x", "https://any.example", "last-event-id")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("preflight: %d; want 204", resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://any.example" {
			t.Errorf("preflight: Access-Control-Allow-Origin %q; want the origin", got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
			t.Errorf("preflight: Access-Control-Allow-Credentials %q; want true", got)
		}
	})

	t.Run("same origin by default", func(t *testing.T) {
		self := "http://" + sameOnly.main.Addr()
		s := openSSE(t, sameOnly.url+"/x", http.Header{"Origin": {self}})
		s.nextData(t)
		s.close()
		if got, _ := get(t, sameOnly.url+"/x", http.Header{"Origin": {"https://app.example"}}); got != http.StatusForbidden {
			t.Errorf("foreign origin: %d; want 403", got)
		}
		if resp := preflight(t, sameOnly.url+"/x", "https://app.example", "last-event-id"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("foreign preflight: %d; want 403", resp.StatusCode)
		}
		c := dialWS(t, sameOnly.ws+"/x", http.Header{"Origin": {self}})
		readText(t, c)
		c.Close()
		_, resp, err := websocket.DefaultDialer.Dial(sameOnly.ws+"/x", http.Header{"Origin": {"https://app.example"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("foreign WebSocket origin: %v; want 403", err)
		}
		waitMetric(t, sameOnly, `ssews_rejected_requests_total{reason="origin",route="/x"}`, 3)
	})

	t.Run("no origin", func(t *testing.T) {
		for _, p := range []*proxy{listed, anyOrigin, sameOnly} {
			s := openSSE(t, p.url+"/x", nil)
			if got := s.resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("request without Origin: Access-Control-Allow-Origin %q; want none", got)
			}
			s.nextData(t)
			s.close()
			c := dialWS(t, p.ws+"/x", nil)
			readText(t, c)
			c.Close()
		}
	})

	t.Run("WebSocket origin", func(t *testing.T) {
		c := dialWS(t, listed.ws+"/x", http.Header{"Origin": {"https://app.example"}})
		readText(t, c)
		c.Close()
		_, resp, err := websocket.DefaultDialer.Dial(listed.ws+"/x", http.Header{"Origin": {"https://evil.example"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("foreign WebSocket origin: %v; want 403", err)
		}
	})
}

// preflight sends a CORS preflight as a browser does before a fetch-based SSE
// request with extra headers.
func preflight(tb testing.TB, rawURL, origin, headers string) *http.Response {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodOptions, rawURL, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", headers)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("OPTIONS %s: %v", rawURL, err)
	}
	resp.Body.Close()
	return resp
}

// hasToken reports whether a comma-separated header value lists tok, ignoring case.
func hasToken(list, tok string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), tok) {
			return true
		}
	}
	return false
}

// TestSSEHeartbeat: an EventSource client gets a ":" comment line after
// SSEWS_HEARTBEAT of silence, and again after each further interval.
func TestSSEHeartbeat(t *testing.T) {
	t.Parallel()
	const heartbeat = 100 * time.Millisecond
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	})
	var wsUp *backend
	wsUp = newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.WriteMessage(websocket.TextMessage, []byte("hi"))
		wsUp.waitClientGone(c)
	})
	p := startProxy(t, map[string]string{
		"SSEWS_ROUTES":    routes("/sse", up.URL, "/ws", wsURL(wsUp.URL)),
		"SSEWS_HEARTBEAT": heartbeat.String(),
	})
	for _, path := range []string{"/sse", "/ws"} {
		checkHeartbeats(t, p.url+path, heartbeat)
	}
}

// TestSharedSSEHeartbeat: a shared stream's EventSource clients get their heartbeat
// from the stream's timer, at the route's interval.
func TestSharedSSEHeartbeat(t *testing.T) {
	t.Parallel()
	const heartbeat = 100 * time.Millisecond
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": sharedRoute(t, "/shared", up.URL, "heartbeat: "+heartbeat.String())})
	checkHeartbeats(t, p.url+"/shared", heartbeat)
}

// checkHeartbeats opens an EventSource client on url, whose upstream says hi once
// and then nothing, and checks it gets three comment lines, about one per interval.
func checkHeartbeats(t *testing.T, url string, heartbeat time.Duration) {
	t.Helper()
	requested := time.Now()
	s := openSSE(t, url, nil)
	lines := make(chan string)
	go func() {
		defer close(lines)
		br := bufio.NewReader(s.resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			lines <- strings.TrimRight(line, "\r\n")
		}
	}()
	for line := recv(t, lines, "the event"); line != "data: hi"; line = recv(t, lines, "the event") {
	}
	last := time.Now()
	for i := 0; i < 3; {
		line := recv(t, lines, "a heartbeat")
		if line == "" {
			continue
		}
		if line == "data: hi" {
			// The upstream connection was renewed (on a loaded machine, its
			// pongs can miss the deadline) and said hi again: not silence,
			// but no comment is due sooner for it.
			last = time.Now()
			continue
		}
		if !strings.HasPrefix(line, ":") {
			t.Fatalf("%s: line %q during silence; want a comment", url, line)
		}
		// The k-th comment is written k intervals after the event at the
		// earliest (timers never fire early), and the event after the request;
		// it is late only as much as a loaded machine makes it.
		i++
		if d := time.Since(requested); d < time.Duration(i)*heartbeat {
			t.Errorf("%s: heartbeat %d %v after the request; want no sooner than %v", url, i, d, time.Duration(i)*heartbeat)
		}
		if d := time.Since(last); d > heartbeat+2*time.Second {
			t.Errorf("%s: heartbeat %d after %v of silence; want about %v", url, i, d, heartbeat)
		}
		last = time.Now()
	}
	s.close()
	for range lines { // the reader ends with the body
	}
}

// TestWebSocketPing: WebSocket clients are pinged every SSEWS_HEARTBEAT, whatever
// the upstream speaks, and stay connected as long as they answer.
func TestWebSocketPing(t *testing.T) {
	t.Parallel()
	// Long enough that a loaded machine answers each ping in time: a client must
	// show life within two intervals.
	const heartbeat = 250 * time.Millisecond
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	})
	var wsUp *backend
	wsUp = newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.WriteMessage(websocket.TextMessage, []byte("hi"))
		wsUp.waitClientGone(c)
	})
	p := startProxy(t, map[string]string{
		"SSEWS_ROUTES":    routes("/sse", up.URL, "/ws", wsURL(wsUp.URL)),
		"SSEWS_HEARTBEAT": heartbeat.String(),
	})
	for _, path := range []string{"/sse", "/ws"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			start := time.Now() // the server's ticker starts after this
			c := dialWS(t, p.ws+path, nil)
			pings := make(chan time.Time, 16)
			c.SetPingHandler(func(data string) error {
				select {
				case pings <- time.Now():
				default:
				}
				return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wait))
			})
			readDone := make(chan error, 1)
			go func() { // control frames are handled while reading
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						readDone <- err
						return
					}
				}
			}()
			prev := start
			for i := 1; i <= 3; i++ {
				select {
				case at := <-pings:
					if d := at.Sub(start); d < time.Duration(i)*heartbeat {
						t.Errorf("ping %d %v after dialling; want no sooner than %v", i, d, time.Duration(i)*heartbeat)
					}
					if d := at.Sub(prev); d > heartbeat+2*time.Second {
						t.Errorf("ping %d %v after the previous one; want every %v", i, d, heartbeat)
					}
					prev = at
				case err := <-readDone:
					t.Fatalf("connection ended before ping %d: %v", i, err)
				case <-time.After(wait):
					t.Fatalf("no ping %d within %v", i, wait)
				}
			}
			c.Close()
			<-readDone
		})
	}
}

// TestStuckSSEClient: an EventSource client that stops reading while a fast upstream
// fills its TCP window is disconnected after SSEWS_WRITE_TIMEOUT and its upstream
// connection closed; another client of the same route goes on unaffected.
func TestStuckSSEClient(t *testing.T) {
	t.Parallel()
	stuckGone := make(chan struct{}, 1)
	var stuckWritten atomic.Int64
	event := "data: " + strings.Repeat("x", 1000) + "\n\n"
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Query().Get("who") != "stuck" {
			// The other client's stream is steady rather than flooding, so that
			// it never fills its window while a loaded machine pauses the reader.
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for i := 1; ; i++ {
				select {
				case <-tick.C:
					write(w, fmt.Sprintf("id: %d\ndata: steady\n\n", i))
				case <-r.Context().Done():
					return
				}
			}
		}
		defer func() { stuckGone <- struct{}{} }()
		for i := 0; ; i++ {
			if _, err := io.WriteString(w, event); err != nil {
				return
			}
			stuckWritten.Add(1)
			if i%32 == 0 {
				w.(http.Flusher).Flush()
			}
			if r.Context().Err() != nil {
				return
			}
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/fire", up.URL), "SSEWS_WRITE_TIMEOUT": "300ms"})

	stuck := dialStuckEventSource(t, p, "/fire?who=stuck")
	defer stuck.Close()

	// The other client reads all along, every event in order, before and after.
	good := openSSE(t, p.url+"/fire?who=good", nil)
	want := 1
	next := func() {
		t.Helper()
		if ev := good.nextData(t); ev.ID != strconv.Itoa(want) {
			t.Fatalf("other client: event id %q; want %d", ev.ID, want)
		}
		want++
	}
	deadline := time.After(wait)
	for gone := false; !gone; {
		next()
		select {
		case <-stuckGone:
			gone = true
		case <-deadline:
			t.Fatalf("the stuck client's upstream still open after %v (%d events written to it)", wait, stuckWritten.Load())
		default:
		}
	}
	for range 50 {
		next()
	}
	// ssews let the stuck client go: one client left, and what the connection
	// still holds drains (through a window opened wide again), then ends.
	pollUntil(t, "the stuck client counted out", func() bool {
		v, _ := metricValue(t, p, `ssews_connections{client="sse",route="/fire"}`)
		return v == 1
	})
	stuck.(*net.TCPConn).SetReadBuffer(4 << 20)
	stuck.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.Copy(io.Discard, stuck); err != nil && isTimeout(err) {
		t.Errorf("stuck client's connection still open: %v", err)
	}
	t.Logf("the stuck client's upstream wrote %d events; the other client read %d meanwhile", stuckWritten.Load(), want-1)
}

// dialStuckEventSource opens an EventSource request for path that reads nothing,
// with a receive buffer small enough that ssews soon finds it stuck.
func dialStuckEventSource(t *testing.T, p *proxy, path string) net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(p.url, "http://")
	stuck, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	stuck.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(stuck, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", path, addr)
	return stuck
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
