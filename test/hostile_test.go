package test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/sse"
)

// TestHostileSSEUpstream feeds the bridge garbage: NULs, lone CRs, invalid UTF-8,
// fields without colon, a type with NUL. Clients must get exactly the WHATWG parse,
// with no forged field or event.
func TestHostileSSEUpstream(t *testing.T) {
	t.Parallel()
	stream := "\xef\xbb\xbfdata: bom gone\r\r" +
		"event: a\x00b\ndata: nul in type\n\n" +
		"id: x\x00y\ndata: nul in id ignored\n\n" +
		"data: bad \xf0\x9f\x98 utf8 \xff\n\n" +
		"data\nretry: 12ms\nretry\n:comment\nbogus: field\n\n" +
		"data: crlf\r\ndata: lone cr\rid: 9\r\n\r\n" +
		"data: unterminated"
	want := []sse.Event{
		{Type: "message", Data: "bom gone"},
		{Type: "message", Data: "nul in type"}, // type with NUL dropped, data kept
		{Type: "message", Data: "nul in id ignored"},
		{Type: "message", Data: "bad \ufffd utf8 \ufffd"},
		{Type: "message", Data: ""},
		{Type: "message", Data: "crlf\nlone cr", ID: "9"},
	}
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Header.Get("Last-Event-ID") != "" { // the reconnect after the unterminated block
			<-r.Context().Done()
			return
		}
		// One byte per write: the awkwardest read boundaries there are.
		for i := range len(stream) {
			write(w, stream[i:i+1])
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/bad", up.URL), "SSEWS_RETRY": "1h"})
	s := openSSE(t, p.url+"/bad", nil)
	c := dialWS(t, p.ws+"/bad", nil)
	for i, w := range want {
		if got := s.nextData(t); got != w {
			t.Errorf("sse event %d: got %+v; want %+v", i, got, w)
		}
		var frame bytes.Buffer
		fmt.Fprintf(&frame, `{"event":"message","data":%q`, w.Data)
		if w.ID != "" {
			fmt.Fprintf(&frame, `,"id":%q`, w.ID)
		}
		frame.WriteString("}")
		got := readText(t, c)
		if strings.Contains(w.Data, "\ufffd") {
			continue // %q escapes U+FFFD differently from JSON; the SSE check covers the text
		}
		if got != frame.String() {
			t.Errorf("ws frame %d: got %s; want %s", i, got, frame.String())
		}
	}
	waitMetric(t, p, `ssews_dropped_fields_total{reason="type",route="/bad"}`, 2)
}

// TestHostileWebSocketUpstream sends envelopes whose type and id hold CR and LF: they
// must not forge SSE lines.
func TestHostileWebSocketUpstream(t *testing.T) {
	t.Parallel()
	up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.WriteMessage(websocket.TextMessage, []byte(`{"event":"x\ndata: forged","id":"1\r\nevent: evil","data":"payload\n\nevent: forged"}`))
		c.WriteMessage(websocket.TextMessage, []byte(`{"id":"2","data":"after"}`))
		c.ReadMessage()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/ws", wsURL(up.URL))})
	s := openSSE(t, p.url+"/ws", nil)
	if got, want := s.nextData(t), (sse.Event{Type: "message", Data: "payload\n\nevent: forged"}); got != want {
		t.Errorf("got %+v; want %+v", got, want)
	}
	if got, want := s.nextData(t), (sse.Event{Type: "message", Data: "after", ID: "2"}); got != want {
		t.Errorf("got %+v; want %+v", got, want)
	}
	waitMetric(t, p, `ssews_dropped_fields_total{reason="id",route="/ws"}`, 1)
	waitMetric(t, p, `ssews_dropped_fields_total{reason="type",route="/ws"}`, 1)
}

// TestOversizeUpstreamEvent: an event over max_message is counted and the upstream
// restarted from the last good id; a 100 MB line never buffers.
func TestOversizeUpstreamEvent(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			write(w, "id: 1\ndata: small\n\n", "id: 2\ndata: ")
			chunk := strings.Repeat("x", 64<<10)
			for range 100 << 20 / len(chunk) {
				if _, err := w.Write([]byte(chunk)); err != nil {
					return // ssews gave up on the line, as it should
				}
			}
			return
		}
		if got := r.Header.Get("Last-Event-ID"); got != "1" {
			write(w, "data: wrong resume id "+got+"\n\n")
		}
		write(w, "id: 3\ndata: after\n\n")
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/big", up.URL), "SSEWS_MAX_MESSAGE": "64KiB"})
	s := openSSE(t, p.url+"/big", nil)
	if ev := s.next(t); ev.Data != "small" {
		t.Fatalf("got %+v", ev)
	}
	if ev := s.next(t); ev.Data != "after" || ev.ID != "3" {
		t.Fatalf("after oversize: got %+v; want the event after it", ev)
	}
	waitMetric(t, p, `ssews_oversize_messages_total{reason="upstream",route="/big"}`, 1)
}

func TestOversizeClientMessageCloses1009(t *testing.T) {
	t.Parallel()
	up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/ws", wsURL(up.URL)), "SSEWS_MAX_MESSAGE": "1KiB"})
	c := dialWS(t, p.ws+"/ws", nil)
	c.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("y"), 2048))
	if code, _ := readClose(t, c); code != websocket.CloseMessageTooBig {
		t.Errorf("close %d; want 1009", code)
	}
	waitMetric(t, p, `ssews_oversize_messages_total{reason="client",route="/ws"}`, 1)
}
