package test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
)

// backend is an httptest upstream that records every request it gets.
type backend struct {
	*httptest.Server
	requests chan *http.Request
	count    atomic.Int64
	// gone receives once for each handler that saw its client (ssews) leave.
	gone chan struct{}
}

// newBackend starts an upstream running handle for each request; n counts from 1.
func newBackend(tb testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int)) *backend {
	tb.Helper()
	b := &backend{requests: make(chan *http.Request, 64), gone: make(chan struct{}, 64)}
	var wg sync.WaitGroup
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		n := int(b.count.Add(1))
		select {
		case b.requests <- r.Clone(r.Context()):
		default:
		}
		handle(w, r, n)
	}))
	tb.Cleanup(func() {
		b.Server.CloseClientConnections()
		b.Server.Close()
		wg.Wait()
	})
	return b
}

// newSSEBackend starts an SSE upstream: handle writes the stream for request n.
func newSSEBackend(tb testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int)) *backend {
	tb.Helper()
	b := newBackend(tb, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		handle(w, r, n)
	})
	return b
}

// write writes each chunk and flushes it, so ssews sees them in separate reads.
func write(w http.ResponseWriter, chunks ...string) {
	for _, c := range chunks {
		w.Write([]byte(c))
		w.(http.Flusher).Flush()
	}
}

// holdOpen keeps a handler's stream open until its client leaves, then reports it.
func (b *backend) holdOpen(r *http.Request) {
	<-r.Context().Done()
	b.gone <- struct{}{}
}

// newWSBackend starts a WebSocket upstream: handle runs the session of request n.
func newWSBackend(tb testing.TB, handle func(c *websocket.Conn, r *http.Request, n int)) *backend {
	tb.Helper()
	up := websocket.Upgrader{Subprotocols: []string{"chat.v2", "chat.v1"}}
	b := newBackend(tb, func(w http.ResponseWriter, r *http.Request, n int) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		handle(c, r, n)
	})
	return b
}

// waitClientGone blocks a WebSocket upstream session until ssews goes away.
func (b *backend) waitClientGone(c *websocket.Conn) {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			b.gone <- struct{}{}
			return
		}
	}
}
