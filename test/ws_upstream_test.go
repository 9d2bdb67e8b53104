package test

import (
	"net/http"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/sse"
)

func TestWebSocketToSSETranslation(t *testing.T) {
	t.Parallel()
	up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		for _, m := range []string{
			`plain text`,
			`{"event":"update","data":"hello","id":"7"}`,
			`{"data":{"b":[1, 2],"a":true}}`,
			`{"data":"x","id":42,"retry":1500}`,
			`{"no":"data key"}`,
			`{"data":"bad fields","event":5,"id":true,"retry":-1}`,
			"multi\nline\r\ndata",
		} {
			c.WriteMessage(websocket.TextMessage, []byte(m))
		}
		c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2, 0xff})
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/chat", wsURL(up.URL))})
	s := openSSE(t, p.url+"/chat", nil)
	want := []sse.Event{
		{Type: "message", Data: "plain text", Retry: 50, HasRetry: true}, // ssews's own retry
		{Type: "update", Data: "hello", ID: "7"},
		{Type: "message", Data: `{"b":[1,2],"a":true}`, ID: "7"},
		{Type: "message", Data: "x", ID: "42", Retry: 1500, HasRetry: true},
		{Type: "message", Data: `{"no":"data key"}`, ID: "42"},
		{Type: "message", Data: "bad fields", ID: "42"},
		{Type: "message", Data: "multi\nline\ndata", ID: "42"},
		{Type: "binary", Data: "AAEC/w==", ID: "42"},
	}
	for i, w := range want {
		if got := s.next(t); got != w {
			t.Errorf("event %d: got %+v; want %+v", i, got, w)
		}
	}
}

func TestWebSocketProxyBothWays(t *testing.T) {
	t.Parallel()
	up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if string(p) == "bye" {
				c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "see you"))
				c.ReadMessage() // the close reply
				return
			}
			c.WriteMessage(typ, append([]byte("echo:"), p...))
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/chat", wsURL(up.URL))})
	d := websocket.Dialer{Subprotocols: []string{"chat.v1"}}
	c, resp, err := d.Dial(p.ws+"/chat", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "chat.v1" {
		t.Errorf("subprotocol %q; want chat.v1 (negotiated by the upstream)", got)
	}
	c.WriteMessage(websocket.TextMessage, []byte("hi"))
	if got := readText(t, c); got != "echo:hi" {
		t.Errorf("got %q; want echo:hi", got)
	}
	c.WriteMessage(websocket.BinaryMessage, []byte{1, 2})
	c.SetReadDeadline(timeNowPlusWait())
	typ, b, err := c.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage || string(b) != "echo:\x01\x02" {
		t.Errorf("binary echo: type %d %q %v", typ, b, err)
	}
	c.WriteMessage(websocket.TextMessage, []byte("bye"))
	if code, text := readClose(t, c); code != 4001 || text != "see you" {
		t.Errorf("close %d %q; want 4001 \"see you\"", code, text)
	}
}

func TestWebSocketProxyClientCloseReachesUpstream(t *testing.T) {
	t.Parallel()
	codes := make(chan int, 1)
	up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		for {
			_, _, err := c.ReadMessage()
			if ce, ok := err.(*websocket.CloseError); ok {
				codes <- ce.Code
				return
			}
			if err != nil {
				codes <- -1
				return
			}
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/chat", wsURL(up.URL))})
	c := dialWS(t, p.ws+"/chat", nil)
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4002, "done"))
	if got := recv(t, codes, "upstream close"); got != 4002 {
		t.Errorf("upstream saw close %d; want 4002", got)
	}
}
