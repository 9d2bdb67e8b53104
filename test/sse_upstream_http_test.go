package test

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"testing"
)

// rawHTTPUpstream is an SSE upstream written on bare TCP, as small servers without
// an HTTP library are: each request gets respond's bytes, then the connection stays
// open until the test ends or respond returns false.
func rawHTTPUpstream(tb testing.TB, respond func(conn net.Conn, req *http.Request) (keep bool)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil || !respond(c, req) {
					c.Close()
				}
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// TestSSEUpstreamWithoutChunkingAfterAnInformationalResponse: a stream that ends
// with its connection (no chunked framing) and comes after a 103 response is read
// as any other, for both kinds of client, and its end is an upstream drop that
// ssews reconnects from.
func TestSSEUpstreamWithoutChunkingAfterAnInformationalResponse(t *testing.T) {
	t.Parallel()
	resumed := make(chan string, 4)
	up := rawHTTPUpstream(t, func(c net.Conn, req *http.Request) bool {
		if id := req.Header.Get("Last-Event-ID"); id != "" {
			resumed <- id
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 3\ndata: after the drop\n\n"))
			return true
		}
		c.Write([]byte("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" +
			"id: 1\ndata: first\n\nid: 2\ndata: second\n\n"))
		return false // the stream ends with its connection
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/raw", up), "SSEWS_RETRY": "10ms"})
	s := openSSE(t, p.url+"/raw", nil)
	for _, want := range []string{"first", "second", "after the drop"} {
		if ev := s.nextData(t); ev.Data != want {
			t.Fatalf("sse client: got %+v; want data %q", ev, want)
		}
	}
	if id := recv(t, resumed, "the reconnect"); id != "2" {
		t.Errorf("reconnected with Last-Event-ID %q; want 2", id)
	}
	c := dialWS(t, p.ws+"/raw?format=raw", nil)
	for _, want := range []string{"first", "second", "after the drop"} {
		if got := readText(t, c); got != want {
			t.Fatalf("ws client: got %q; want %q", got, want)
		}
	}
}

// TestSSEUpstreamRedirectIsFollowed: an upstream that redirects the stream, as
// EventSource follows, is followed for the stream and its reconnects.
func TestSSEUpstreamRedirectIsFollowed(t *testing.T) {
	t.Parallel()
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path != "/events" {
			http.Redirect(w, r, "/events?from="+r.URL.Path, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		write(w, "data: "+r.URL.Query().Get("from")+"\n\n")
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/moved", up.URL+"/old")})
	s := openSSE(t, p.url+"/moved", nil)
	if ev := s.nextData(t); ev.Data != "/old" {
		t.Fatalf("got %+v; want the redirected stream's event", ev)
	}
}
