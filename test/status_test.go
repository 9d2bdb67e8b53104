package test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestUpstreamStatusMapping checks SPEC section 5: before a client's stream starts,
// the upstream's answer becomes the client's status, for both kinds of client.
func TestUpstreamStatusMapping(t *testing.T) {
	t.Parallel()
	status := func(code int) *backend {
		return newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.WriteHeader(code)
		})
	}
	wrongType := newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	})
	slow := newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-r.Context().Done():
		case <-time.After(wait):
		}
	})
	closed := closedPort(t)
	s401, s403, s404, s204, s500 := status(401), status(403), status(404), status(204), status(500)
	p := startProxy(t, map[string]string{
		"SSEWS_UPSTREAM_TIMEOUT": "1s",
		"SSEWS_ROUTES": routes(
			"/401", s401.URL, "/403", s403.URL, "/404", s404.URL, "/204", s204.URL, "/500", s500.URL,
			"/type", wrongType.URL, "/slow", slow.URL, "/down", "http://"+closed,
			"/ws401", wsURL(s401.URL), "/wsdown", "ws://"+closed, "/wsslow", wsURL(slow.URL),
		),
	})
	cases := []struct {
		path string
		want int
	}{
		{"/401", 401}, {"/403", 403}, {"/404", 404}, {"/204", 204}, {"/500", 500},
		{"/type", 502}, {"/slow", 504}, {"/down", 502},
		{"/ws401", 401}, {"/wsdown", 502}, {"/wsslow", 504},
	}
	for _, c := range cases {
		t.Run("sse"+c.path, func(t *testing.T) {
			t.Parallel()
			if _, got := tryOpenSSE(t, p.url+c.path, nil); got != c.want {
				t.Errorf("EventSource status %d; want %d", got, c.want)
			}
		})
		t.Run("ws"+c.path, func(t *testing.T) {
			t.Parallel()
			if got := dialWSStatus(t, p.ws+c.path); got != c.want {
				t.Errorf("WebSocket handshake status %d; want %d", got, c.want)
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRequestChecks(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	p := startProxy(t, map[string]string{
		"SSEWS_ROUTES":          routes("/news", up.URL),
		"SSEWS_ALLOWED_ORIGINS": "https://app.example",
	})
	if got, _ := get(t, p.url+"/nope", nil); got != http.StatusNotFound {
		t.Errorf("unknown path: %d; want 404", got)
	}
	resp, err := http.Post(p.url+"/news", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d; want 405", resp.StatusCode)
	}
	if got, _ := get(t, p.url+"/news", http.Header{"Origin": {"https://evil.example"}}); got != http.StatusForbidden {
		t.Errorf("foreign origin: %d; want 403", got)
	}
	_, wsResp, err := websocket.DefaultDialer.Dial(p.ws+"/news", http.Header{"Origin": {"https://evil.example"}})
	if err == nil || wsResp == nil || wsResp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin WebSocket: %v; want 403", err)
	}
	s := openSSE(t, p.url+"/news", http.Header{"Origin": {"https://app.example"}})
	if got := s.resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("Access-Control-Allow-Origin %q; want the origin echoed", got)
	}
	if got := s.resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("Access-Control-Allow-Credentials %q; want true", got)
	}
}
