package ws_test

import (
	"context"
	"io"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// BenchmarkSend measures the Send path end to end: queue, writer goroutine
// and the socket, to a peer that reads as fast as it can.
func BenchmarkSend(b *testing.B) {
	for _, bm := range []struct {
		name     string
		queueLen int
	}{{"queue=1", 1}, {"queue=256", 256}} {
		b.Run(bm.name, func(b *testing.B) {
			server, peer := newPair(b, ws.Options{QueueLen: bm.queueLen}, pairOptions{})
			drained := make(chan struct{})
			go func() {
				defer close(drained)
				for {
					_, r, err := peer.NextReader()
					if err != nil {
						return
					}
					if _, err := io.Copy(io.Discard, r); err != nil {
						return
					}
				}
			}()

			msg := ws.Message{Data: []byte(`{"event":"message","data":"hello, world","id":"42"}`)}
			ctx := context.Background()
			b.SetBytes(int64(len(msg.Data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := server.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = server.Close(websocket.CloseNormalClosure, "")
			<-drained
		})
	}
}

// BenchmarkSendPrepared is the shared-mode fan-out path: one message
// encoded once, queued to several connections without blocking.
func BenchmarkSendPrepared(b *testing.B) {
	const conns = 8
	data := []byte(`{"event":"message","data":"hello, world","id":"42"}`)
	servers := make([]*ws.Conn, conns)
	drained := make([]chan struct{}, conns)
	for i := range conns {
		server, peer := newPair(b, ws.Options{QueueLen: 256}, pairOptions{})
		servers[i] = server
		drained[i] = make(chan struct{})
		go func() {
			defer close(drained[i])
			for {
				_, r, err := peer.NextReader()
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					return
				}
			}
		}()
	}

	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range servers {
			if err := s.SendPrepared(ctx, pm, len(data)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	for i, s := range servers {
		_ = s.Close(websocket.CloseNormalClosure, "")
		<-drained[i]
	}
}
