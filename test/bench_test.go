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

func BenchmarkSSEToSSE(b *testing.B) {
	up := newSSEBackend(b, sseFirehose(b.N))
	p := benchProxy(b, up.URL)
	b.ReportAllocs()
	b.ResetTimer()
	s := openSSE(b, p.url+"/b", nil)
	readSSE(b, s, b.N+1) // + ssews's own retry block
}

func BenchmarkSSEToWS(b *testing.B) {
	up := newSSEBackend(b, sseFirehose(b.N))
	p := benchProxy(b, up.URL)
	b.ReportAllocs()
	b.ResetTimer()
	c := dialWS(b, p.ws+"/b", nil)
	for range b.N {
		if _, _, err := c.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWSToWS(b *testing.B) {
	up := newWSBackend(b, wsFirehose(b.N))
	p := benchProxy(b, wsURL(up.URL))
	b.ReportAllocs()
	b.ResetTimer()
	c := dialWS(b, p.ws+"/b", nil)
	for range b.N {
		if _, _, err := c.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWSToSSE(b *testing.B) {
	up := newWSBackend(b, wsFirehose(b.N))
	p := benchProxy(b, wsURL(up.URL))
	b.ReportAllocs()
	b.ResetTimer()
	s := openSSE(b, p.url+"/b", nil)
	readSSE(b, s, b.N+1)
}
