package test

import (
	"fmt"
	"net"
	"net/http"
	"runtime"
	"testing"
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
			warm := dialRaw(b, p, kind) // the stream's hub and upstream connection exist before measuring
			defer warm.Close()
			waitMetric(b, p, fmt.Sprintf(`ssews_connections{client=%q,route="/idle"}`, kind), 1)
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			g0 := runtime.NumGoroutine()
			before := liveMemory()
			conns := make([]net.Conn, 0, b.N)
			for range b.N {
				conns = append(conns, dialRaw(b, p, kind))
			}
			waitMetric(b, p, fmt.Sprintf(`ssews_connections{client=%q,route="/idle"}`, kind), float64(b.N+1))
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
		})
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
