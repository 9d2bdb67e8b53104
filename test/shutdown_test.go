package test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestShutdownOnSignal sends the real binary SIGTERM or SIGINT while it serves
// WebSocket and EventSource clients of both kinds of upstream (SPEC section 6):
// /readyz turns 503, new clients are refused, WebSocket clients get close 1001, SSE
// streams end, and ssews exits 0 within SSEWS_SHUTDOWN_TIMEOUT.
func TestShutdownOnSignal(t *testing.T) {
	t.Parallel()
	ssewsBinary(t) // build before the subtests start their clocks
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			testShutdown(t, sig)
		})
	}
}

func testShutdown(t *testing.T, sig syscall.Signal) {
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
	const shutdownTimeout = 8 * time.Second
	p := startBinary(t, map[string]string{
		"SSEWS_LISTEN":           "127.0.0.1:0",
		"SSEWS_ADMIN_LISTEN":     "127.0.0.1:0",
		"SSEWS_LOG_FORMAT":       "json",
		"SSEWS_SHUTDOWN_TIMEOUT": shutdownTimeout.String(),
		"SSEWS_ROUTES":           routes("/sse", sseUp.URL, "/ws", wsURL(wsUp.URL)),
	})
	addr, admin := p.listening(t)
	// A client still sending its request keeps the drain going, so that /readyz
	// can be watched between the signal and the exit.
	slow := slowClient(t, addr)
	base, wsBase, readyz := "http://"+addr, "ws://"+addr, "http://"+admin+"/readyz"
	if got, _ := get(t, readyz, nil); got != http.StatusOK {
		t.Fatalf("/readyz %d before the signal; want 200", got)
	}

	var streams []*sseStream
	var conns []*websocket.Conn
	for _, path := range []string{"/sse", "/ws", "/sse", "/ws"} {
		s := openSSE(t, base+path, nil)
		if ev := s.nextData(t); ev.Data != "hi" {
			t.Fatalf("EventSource %s: %+v; want data hi", path, ev)
		}
		streams = append(streams, s)
		c := dialWS(t, wsBase+path, nil)
		readText(t, c)
		conns = append(conns, c)
	}
	signalled := time.Now() // before: ssews may act on the signal before Signal returns
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		if code, _ := readClose(t, c); code != websocket.CloseGoingAway {
			t.Errorf("WebSocket client %d: close %d; want 1001", i, code)
		}
	}
	for _, s := range streams {
		s.expectEnd(t)
	}
	pollUntil(t, "/readyz 503 while draining", func() bool {
		got, _ := get(t, readyz, nil)
		return got == http.StatusServiceUnavailable
	})
	if got, _ := get(t, "http://"+admin+"/healthz", nil); got != http.StatusOK {
		t.Errorf("/healthz %d while draining; want 200", got)
	}
	refused(t, base+"/sse", wsBase+"/sse")

	slow.Close()
	if code := p.waitExit(t, shutdownTimeout); code != 0 {
		t.Errorf("exit status %d; want 0", code)
	}
	if d := time.Since(signalled); d > shutdownTimeout {
		t.Errorf("exited %v after the signal; want within %v", d, shutdownTimeout)
	}
	p.waitLog(t, "stopped")
}

// refused checks that new clients of both kinds are turned away while draining: the
// listener is closed (connection refused) or, just before that, 503.
func refused(tb testing.TB, sseURL, wsURL string) {
	tb.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sseURL, nil)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			tb.Errorf("new EventSource client while draining: %d; want refused or 503", resp.StatusCode)
		}
	}
	c, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err == nil {
		c.Close()
		tb.Errorf("new WebSocket client admitted while draining")
	} else if resp != nil && resp.StatusCode != http.StatusServiceUnavailable {
		tb.Errorf("new WebSocket client while draining: %d; want refused or 503", resp.StatusCode)
	}
}

// pollUntil checks cond every 10ms until it holds, failing after the wait deadline:
// for states that nothing signals, such as another process's readiness.
func pollUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.After(wait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestShutdownDeadline: a client that keeps the drain from finishing is cut off at
// SSEWS_SHUTDOWN_TIMEOUT, and ssews still exits 0, on time.
func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	const shutdownTimeout = time.Second
	p := startBinary(t, map[string]string{
		"SSEWS_LISTEN":           "127.0.0.1:0",
		"SSEWS_ADMIN_LISTEN":     "",
		"SSEWS_LOG_FORMAT":       "json",
		"SSEWS_SHUTDOWN_TIMEOUT": shutdownTimeout.String(),
		"SSEWS_ROUTES":           routes("/x", up.URL),
	})
	addr, _ := p.listening(t)
	slow := slowClient(t, addr)
	if got, _ := get(t, "http://"+addr+"/nope", nil); got != http.StatusNotFound { // served after slow was accepted
		t.Fatalf("GET /nope: %d; want 404", got)
	}
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t, wait); code != 0 {
		t.Errorf("exit status %d; want 0", code)
	}
	if d := time.Since(signalled); d < shutdownTimeout || d > shutdownTimeout+2*time.Second {
		t.Errorf("exited %v after the signal; want just after %v", d, shutdownTimeout)
	}
	slow.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.Copy(io.Discard, slow); isTimeout(err) {
		t.Errorf("the slow client's connection outlived ssews: %v", err)
	}
	p.waitLog(t, "drain took longer than SSEWS_SHUTDOWN_TIMEOUT; remaining clients cut off")
}

// slowClient connects to addr and sends the start of a request, never its end.
// http.Server.Shutdown waits for a connection in the middle of its first request
// (up to five seconds, then it counts as idle), so it keeps a drain going. Once a
// later connection to addr has been answered, this one has been accepted: the
// listener accepts in order.
func slowClient(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "GET /nope HTTP/1.1\r\nHost: %s\r\n", addr); err != nil {
		tb.Fatal(err)
	}
	return c
}
