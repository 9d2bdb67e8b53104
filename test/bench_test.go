package test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// These benchmarks push b.N 100-byte events from a fast upstream through ssews to one
// client, per path: ns/op is the cost of one delivered event end to end on loopback
// (upstream, ssews and client share the machine), allocs/op counts the whole process.

var benchData = strings.Repeat("x", 100)

// sseFirehose writes n events as fast as the connection takes them.
func sseFirehose(n int) func(w http.ResponseWriter, r *http.Request, _ int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		bw := bufio.NewWriterSize(w, 32<<10)
		for range n {
			fmt.Fprintf(bw, "data: %s\n\n", benchData)
		}
		bw.Flush()
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

// wsFirehose sends n messages as fast as the connection takes them: frames are built
// once and written in 64 KiB chunks, so the upstream is not what the benchmark measures.
func wsFirehose(n int) func(c *websocket.Conn, r *http.Request, _ int) {
	return func(c *websocket.Conn, r *http.Request, _ int) {
		frame := append([]byte{0x81, byte(len(benchData))}, benchData...) // FIN text, unmasked
		chunk := bytes.Repeat(frame, (64<<10)/len(frame))
		per := (64 << 10) / len(frame)
		conn := c.UnderlyingConn()
		for sent := 0; sent < n; sent += per {
			b := chunk
			if n-sent < per {
				b = chunk[:(n-sent)*len(frame)]
			}
			if _, err := conn.Write(b); err != nil {
				return
			}
		}
		c.ReadMessage()
	}
}

func benchProxy(b *testing.B, upstream string) *proxy {
	return startProxy(b, map[string]string{"SSEWS_ROUTES": routes("/b", upstream), "SSEWS_RETRY": "1h"})
}

// readSSE reads n events off an SSE response, counting blank lines.
func readSSE(b *testing.B, s *sseStream, n int) {
	br := bufio.NewReaderSize(s.resp.Body, 64<<10)
	for got := 0; got < n; {
		line, err := br.ReadSlice('\n')
		if err != nil {
			b.Fatalf("after %d events: %v", got, err)
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			got++
		}
	}
}

// benchSSEClient times one EventSource client reading b.N events from upstream.
func benchSSEClient(b *testing.B, upstream string) {
	p := benchProxy(b, upstream)
	b.ReportAllocs()
	b.ResetTimer()
	s := openSSE(b, p.url+"/b", nil)
	readSSE(b, s, b.N+1) // + ssews's own retry block
}

// benchWSClient times one WebSocket client reading b.N messages from upstream.
func benchWSClient(b *testing.B, upstream string) {
	p := benchProxy(b, upstream)
	b.ReportAllocs()
	b.ResetTimer()
	c := dialWS(b, p.ws+"/b", nil)
	for range b.N {
		if _, _, err := c.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSSEToSSE(b *testing.B) {
	benchSSEClient(b, newSSEBackend(b, sseFirehose(b.N)).URL)
}

func BenchmarkSSEToWS(b *testing.B) {
	benchWSClient(b, newSSEBackend(b, sseFirehose(b.N)).URL)
}

func BenchmarkWSToWS(b *testing.B) {
	benchWSClient(b, wsURL(newWSBackend(b, wsFirehose(b.N)).URL))
}

func BenchmarkWSToSSE(b *testing.B) {
	benchSSEClient(b, wsURL(newWSBackend(b, wsFirehose(b.N)).URL))
}
