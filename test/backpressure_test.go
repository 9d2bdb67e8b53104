package test

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// backpressureTotal is more than every buffer between an upstream and a client can
// hold (socket buffers on both hops, ssews's queue): an upstream that finishes
// writing it while the client reads nothing was not held back.
const backpressureTotal = 40000

var backpressurePad = strings.Repeat("p", 1000)

// firehose is an upstream that writes backpressureTotal numbered messages as fast as
// its connection takes them, counting them in sent, and closes done at the end.
type firehose struct {
	sent atomic.Int64
	done chan struct{}
}

func newFirehose() *firehose { return &firehose{done: make(chan struct{})} }

func (f *firehose) message(i int) string { return fmt.Sprintf("%d %s", i, backpressurePad) }

// expectHeldBack fails the test if the upstream finishes writing within a second
// while the client reads nothing: nothing then held it back.
func (f *firehose) expectHeldBack(t *testing.T) {
	t.Helper()
	select {
	case <-f.done:
		t.Fatalf("the upstream wrote all %d messages while the client read none", backpressureTotal)
	case <-time.After(time.Second):
	}
}

func (f *firehose) ws(c *websocket.Conn, r *http.Request, _ int) {
	for i := range backpressureTotal {
		if err := c.WriteMessage(websocket.TextMessage, []byte(f.message(i))); err != nil {
			return
		}
		f.sent.Add(1)
	}
	close(f.done)
	c.ReadMessage()
}

func (f *firehose) sse(w http.ResponseWriter, r *http.Request, _ int) {
	bw := bufio.NewWriter(w)
	for i := range backpressureTotal {
		if _, err := fmt.Fprintf(bw, "data: %s\n\n", f.message(i)); err != nil {
			return
		}
		f.sent.Add(1)
	}
	bw.Flush()
	w.(http.Flusher).Flush()
	close(f.done)
	<-r.Context().Done()
}

// TestPerClientWebSocketBackpressure: a per-client WebSocket client that stops
// reading holds its upstream back rather than making ssews buffer, and once it reads
// again it gets every message, in order, whether they were written on the spot or
// queued.
func TestPerClientWebSocketBackpressure(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"ws", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f := newFirehose()
			var upstream string
			if kind == "ws" {
				upstream = wsURL(newWSBackend(t, f.ws).URL)
			} else {
				upstream = newSSEBackend(t, f.sse).URL
			}
			p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/fh", upstream)})
			c := dialWS(t, p.ws+"/fh?format=raw", nil)
			f.expectHeldBack(t)
			for i := range backpressureTotal {
				if got := readText(t, c); got != f.message(i) {
					t.Fatalf("message %d: got %.20q", i, got)
				}
			}
			recv(t, f.done, "the upstream's last write")
		})
	}
}

// TestPerClientEventSourceBackpressure: an EventSource client that stops reading
// holds its upstream back (a WebSocket upstream's reader; an SSE upstream's stream,
// which leaves the relay loop for a blocking write), and then gets every event in
// order.
func TestPerClientEventSourceBackpressure(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"ws", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f := newFirehose()
			upstream := newSSEBackend(t, f.sse).URL
			if kind == "ws" {
				upstream = wsURL(newWSBackend(t, f.ws).URL)
			}
			p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/fh", upstream)})
			s := openSSE(t, p.url+"/fh", nil)
			f.expectHeldBack(t)
			for i := range backpressureTotal {
				if ev := s.nextData(t); ev.Data != f.message(i) {
					t.Fatalf("event %d: got %.20q", i, ev.Data)
				}
			}
			recv(t, f.done, "the upstream's last write")
		})
	}
}
