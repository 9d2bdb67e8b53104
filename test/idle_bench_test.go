package test

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkSharedIdleClient measures what one idle client of a shared stream costs
// ssews: heap plus goroutine stacks, after a collection, per client, with b.N clients
// of each kind connected. Clients are raw TCP connections that sent their request and
// read nothing, so the client side adds only a socket to the measure.
func BenchmarkSharedIdleClient(b *testing.B) {
	for _, kind := range []string{"sse", "ws"} {
		b.Run(kind, func(b *testing.B) {
			up := newSSEBackend(b, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
			p := startProxy(b, map[string]string{"SSEWS_CONFIG": sharedRoute(b, "/idle", up.URL)})
			measureIdleClients(b, p, kind) // after one that makes the stream's hub and upstream connection
		})
	}
}

// measureIdleClients connects b.N idle clients of kind to p's /idle, after one that
// makes what they share, and reports what each costs.
func measureIdleClients(b *testing.B, p *proxy, kind string) {
	warm := dialRaw(b, p, kind) // what clients share exists before measuring
	defer warm.Close()
	series := fmt.Sprintf(`ssews_connections{client=%q,route="/idle"}`, kind)
	waitMetric(b, p, series, 1)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()
	before := liveMemory()
	conns := make([]net.Conn, 0, b.N)
	for range b.N {
		conns = append(conns, dialRaw(b, p, kind))
	}
	waitMetric(b, p, series, float64(b.N+1))
	after := liveMemory()
	runtime.ReadMemStats(&m1)
	// Signed: stacks in use can shrink while clients connect.
	b.ReportMetric(float64(int64(after)-int64(before))/float64(b.N), "B/client")
	b.ReportMetric(float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/float64(b.N), "heapB/client")
	b.ReportMetric(float64(int64(m1.StackInuse)-int64(m0.StackInuse))/float64(b.N), "stackB/client")
	b.ReportMetric(float64(runtime.NumGoroutine()-g0)/float64(b.N), "goroutines/client")
	for _, c := range conns {
		c.Close()
	}
}

// dialRaw opens a client of the given kind on /idle that sends its request and never reads.
func dialRaw(tb testing.TB, p *proxy, kind string) net.Conn { return dialRawPath(tb, p, "/idle", kind) }

// dialRawPath is dialRaw on path.
func dialRawPath(tb testing.TB, p *proxy, path, kind string) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", p.main.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
	if kind == "ws" {
		req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	}
	if _, err := c.Write([]byte(req)); err != nil {
		tb.Fatal(err)
	}
	return c
}

// liveMemory is heap in use plus goroutine stacks, after a collection.
func liveMemory() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// BenchmarkPerClientIdleClient measures what one idle per-client session costs ssews,
// as BenchmarkSharedIdleClient does: an EventSource stream (on the relay loop) or a
// WebSocket session of an SSE upstream that sends nothing, or an EventSource stream
// of a silent WebSocket upstream. The upstream is a bare listener that answers each
// request with an event stream's head (or a WebSocket handshake's) and holds the
// connection without a goroutine or buffer of its own, so that what is measured is
// ssews's share.
func BenchmarkPerClientIdleClient(b *testing.B) {
	for _, c := range []struct{ name, scheme, kind string }{
		{"sse", "http", "sse"}, {"ws", "http", "ws"}, {"sse-of-ws", "ws", "sse"},
	} {
		kind := c.kind
		b.Run(c.name, func(b *testing.B) {
			up := newHoldingUpstream(b)
			p := startProxy(b, map[string]string{"SSEWS_ROUTES": routes("/idle", c.scheme+"://"+up.Addr().String())})
			measureIdleClients(b, p, kind) // after one that makes the relay loops and transports
			if held := up.held(); held < b.N+1 {
				b.Fatalf("the upstream held %d connections; want %d", held, b.N+1)
			}
		})
	}
}

// holdingUpstream answers every request with an event stream's head, or a
// WebSocket handshake's when it asks for one, and keeps the connection, read by
// nobody, until the test ends.
type holdingUpstream struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newHoldingUpstream(tb testing.TB) *holdingUpstream {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	u := &holdingUpstream{Listener: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// The request comes at once: its head is read here, then the
			// connection is only held.
			c.SetReadDeadline(time.Now().Add(wait))
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				c.Close()
				continue
			}
			if key := req.Header.Get("Sec-WebSocket-Key"); key != "" {
				sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) // RFC 6455 section 4.2.2
				c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
					"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"))
			} else {
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"))
			}
			u.mu.Lock()
			u.conns = append(u.conns, c)
			u.mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		<-done
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, c := range u.conns {
			c.Close()
		}
	})
	return u
}

// held counts the connections the upstream holds.
func (u *holdingUpstream) held() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.conns)
}
