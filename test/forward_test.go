package test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/gorilla/websocket"
)

// writeFile writes a file in the test's temp dir and returns its path.
func writeFile(tb testing.TB, name, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestQueryHeadersAndTokenReachUpstream(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: ok\n\n")
		<-r.Context().Done()
	})
	wsUp := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.WriteMessage(websocket.TextMessage, []byte("ok"))
		c.ReadMessage()
	})
	cfg := writeFile(t, "routes.yaml", fmt.Sprintf(`
- path: /sse
  upstream: %s/events?fixed=1
  token_param: access_token
- path: /ws
  upstream: %s/chat
  token_param: access_token
`, up.URL, wsURL(wsUp.URL)))
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": cfg, "SSEWS_FORWARD_HEADERS": "Cookie,X-Tenant"})

	h := http.Header{"Cookie": {"session=abc"}, "X-Tenant": {"acme"}, "X-Other": {"no"}, "X-Forwarded-For": {"10.1.1.1"}}
	s := openSSE(t, p.url+"/sse?topic=a&access_token=s3cret&format=json", h)
	s.next(t)
	dialWS(t, p.ws+"/ws?topic=b&access_token=s3cret", h)

	for _, b := range []*backend{up, wsUp} {
		req := recv(t, b.requests, "upstream request")
		q := req.URL.Query()
		if q.Has("access_token") || q.Has("format") {
			t.Errorf("upstream query %q carries ssews parameters", req.URL.RawQuery)
		}
		if b == up && (q.Get("fixed") != "1" || q.Get("topic") != "a") {
			t.Errorf("upstream query %q; want fixed=1 and topic=a merged", req.URL.RawQuery)
		}
		checks := map[string]string{
			"Authorization":     "Bearer s3cret",
			"Cookie":            "session=abc",
			"X-Tenant":          "acme",
			"X-Other":           "",
			"X-Forwarded-For":   "10.1.1.1, 127.0.0.1",
			"X-Forwarded-Proto": "http",
			"X-Forwarded-Host":  p.main.Addr(),
		}
		for k, want := range checks {
			if got := req.Header.Get(k); got != want {
				t.Errorf("%s upstream header %s = %q; want %q", req.URL.Path, k, got, want)
			}
		}
	}
}

func TestPublishFromWebSocketClients(t *testing.T) {
	t.Parallel()
	type post struct{ body, ctype, cookie string }
	posts := make(chan post, 4)
	pub := newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		b, _ := io.ReadAll(r.Body)
		posts <- post{string(b), r.Header.Get("Content-Type"), r.Header.Get("Cookie")}
		w.WriteHeader(http.StatusAccepted)
	})
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	cfg := writeFile(t, "routes.json", fmt.Sprintf(`[{"path":"/room","upstream":%q,"publish":%q},{"path":"/quiet","upstream":%q}]`,
		up.URL, pub.URL+"/publish", up.URL))
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": cfg})
	c := dialWS(t, p.ws+"/room", http.Header{"Cookie": {"u=1"}})
	c.WriteMessage(websocket.TextMessage, []byte("hello upstream"))
	got := recv(t, posts, "publish POST")
	if got.body != "hello upstream" || got.ctype != "text/plain; charset=utf-8" || got.cookie != "u=1" {
		t.Errorf("publish got %+v", got)
	}
	c.WriteMessage(websocket.BinaryMessage, []byte{9, 8})
	if got := recv(t, posts, "binary publish"); got.body != "\x09\x08" || got.ctype != "application/octet-stream" {
		t.Errorf("binary publish got %+v", got)
	}
	// Without publish, messages are dropped and counted; the session goes on.
	q := dialWS(t, p.ws+"/quiet", nil)
	q.WriteMessage(websocket.TextMessage, []byte("nobody listens"))
	waitMetric(t, p, `ssews_client_messages_total{reason="no_publish",route="/quiet"}`, 1)
}
