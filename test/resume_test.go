package test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
)

// resumableSSE is an upstream that resumes after Last-Event-ID and drops its
// connection after every second event, so every client meets several drops.
func resumableSSE(tb testing.TB, total int) *backend {
	return newSSEBackend(tb, func(w http.ResponseWriter, r *http.Request, n int) {
		start := 0
		fmt.Sscan(r.Header.Get("Last-Event-ID"), &start)
		for i := start + 1; i <= total && i <= start+2; i++ {
			write(w, fmt.Sprintf("id: %d\ndata: event %d\n\n", i, i))
		}
		if start+2 >= total {
			<-r.Context().Done()
		}
	})
}

func TestSSEUpstreamDropResumesForBothClients(t *testing.T) {
	t.Parallel()
	const total = 7
	up := resumableSSE(t, total)
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/feed", up.URL)})

	s := openSSE(t, p.url+"/feed", nil)
	c := dialWS(t, p.ws+"/feed?format=raw", nil)
	for i := 1; i <= total; i++ {
		want := fmt.Sprintf("event %d", i)
		if ev := s.next(t); ev.Data != want || ev.ID != fmt.Sprint(i) {
			t.Fatalf("sse event: got %+v; want %q id %d", ev, want, i)
		}
		if got := readText(t, c); got != want {
			t.Fatalf("ws frame: got %q; want %q", got, want)
		}
	}
}

func TestClientResumeIDGoesUpstream(t *testing.T) {
	t.Parallel()
	up := resumableSSE(t, 6)
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/feed", up.URL)})
	s := openSSE(t, p.url+"/feed", http.Header{"Last-Event-ID": {"4"}})
	if ev := s.next(t); ev.ID != "5" {
		t.Errorf("first event after Last-Event-ID 4: got id %q; want 5", ev.ID)
	}
	c := dialWS(t, p.ws+"/feed?lastEventId=5", nil)
	if got := readText(t, c); got != `{"event":"message","data":"event 6","id":"6"}` {
		t.Errorf("first frame after lastEventId=5: got %s", got)
	}
	for range 2 {
		req := recv(t, up.requests, "upstream request")
		if req.URL.Query().Has("lastEventId") {
			t.Errorf("upstream query %q carries lastEventId", req.URL.RawQuery)
		}
	}
}

// TestWebSocketUpstreamDropResumes checks the resume parameter towards a WebSocket
// upstream that drops after every second message.
func TestWebSocketUpstreamDropResumes(t *testing.T) {
	t.Parallel()
	const total = 6
	up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		start := 0
		fmt.Sscan(r.URL.Query().Get("since"), &start)
		for i := start + 1; i <= total && i <= start+2; i++ {
			c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"id":"%d","data":"msg %d"}`, i, i))
		}
		if start+2 >= total {
			c.ReadMessage()
		}
	})
	cfg := writeFile(t, "routes.yaml", fmt.Sprintf("- path: /chat\n  upstream: %s\n  resume_param: since\n", wsURL(up.URL)))
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": cfg})
	s := openSSE(t, p.url+"/chat", nil)
	for i := 1; i <= total; i++ {
		if ev := s.next(t); ev.Data != fmt.Sprintf("msg %d", i) || ev.ID != fmt.Sprint(i) {
			t.Fatalf("event: got %+v; want msg %d", ev, i)
		}
	}
}
