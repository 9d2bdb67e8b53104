package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// event is a 100-byte text message, the size the shared benchmark harness
// sends.
var event = append([]byte(`{"event":"message","data":"`), append(bytes.Repeat([]byte("x"), 100-29), `"}`...)...)

// drain reads and discards every message on c until it fails; the returned
// channel closes then.
func drain(c *websocket.Conn) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, r, err := c.NextReader()
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
		}
	}()
	return done
}

// cpuMeter reports the process's CPU time (user and system, all
// goroutines: sender, writer and the reading peer) per operation, the
// figure that the shared harness compares with nginx.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{start: cpuTime()} }

func (m cpuMeter) report(b *testing.B, ops int) {
	if ops > 0 {
		b.ReportMetric(float64(cpuTime()-m.start)/float64(ops), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate adds msgs/s, which ns/op says too, for comparison with the
// harness's ev/s.
func reportRate(b *testing.B, ops int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(ops)/s, "msgs/s")
	}
}

var sendCases = []struct {
	name string
	po   pairOptions
	opts ws.Options
}{
	// queue=1 is the bridge's per-client mode; queue=256 its shared mode.
	{"plain/queue=1", pairOptions{plain: true}, ws.Options{QueueLen: 1}},
	{"batching/queue=1", pairOptions{}, ws.Options{QueueLen: 1}},
	{"plain/queue=256", pairOptions{plain: true}, ws.Options{QueueLen: 256}},
	{"batching/queue=256", pairOptions{}, ws.Options{QueueLen: 256}},
}

// BenchmarkSend measures the Send path end to end: queue, writer goroutine
// and the socket, to a peer that reads as fast as it can; plain is without
// the batching wrapper.
func BenchmarkSend(b *testing.B) {
	for _, bm := range sendCases {
		b.Run(bm.name, func(b *testing.B) {
			server, peer := newPair(b, bm.opts, bm.po)
			drained := drain(peer)
			msg := ws.Message{Data: event}
			ctx := context.Background()
			b.SetBytes(int64(len(msg.Data)))
			b.ReportAllocs()
			cpu := startCPU()
			n := 0
			for b.Loop() {
				if err := server.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.StopTimer()
			cpu.report(b, n)
			reportRate(b, n)
			_ = server.Close(websocket.CloseNormalClosure, "")
			<-drained
		})
	}
}

// bridgeOptions are the options the bridge gives its connections.
var bridgeOptions = ws.Options{
	ReadLimit:    1 << 20,
	PingInterval: 15 * time.Second,
	QueueLen:     64,
	QueueBytes:   2 << 20,
}

// BenchmarkProxy is the bridge's WebSocket-to-WebSocket path in per-client
// mode: a raw upstream writes as fast as it can, one Conn reads it (the
// dialled side) and the loop Sends each message to a second Conn (the
// upgraded side) whose raw peer reads. It counts the hops of the real
// path: reader goroutine, Read, Send, writer goroutine.
func BenchmarkProxy(b *testing.B) {
	for _, bm := range []struct {
		name string
		po   pairOptions
	}{{"plain", pairOptions{plain: true}}, {"batching", pairOptions{}}} {
		b.Run(bm.name, func(b *testing.B) {
			// The upstream floods unmasked frames through a 32 KiB buffer,
			// as the shared harness's does, so that the bridge side is
			// what the benchmark measures; the bridge dials it.
			upRaw, upConn := rawPair(b, bm.po)
			upstream := ws.New(upConn, bridgeOptions)
			// The client side: upgraded by the bridge, read by a raw peer.
			clConn, clPeer := rawPair(b, bm.po)
			cl := ws.New(clConn, bridgeOptions)
			stop := make(chan struct{})
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				flood(upRaw.NetConn(), stop)
			}()
			drained := drain(clPeer)

			ctx := context.Background()
			b.SetBytes(int64(len(event)))
			b.ReportAllocs()
			cpu := startCPU()
			n := 0
			for b.Loop() {
				m, err := upstream.Read(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := cl.Send(ctx, m); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.StopTimer()
			cpu.report(b, n)
			reportRate(b, n)
			close(stop)
			_ = upRaw.Close()
			<-wrote
			_ = upstream.CloseNow(websocket.CloseGoingAway, "")
			_ = cl.Close(websocket.CloseNormalClosure, "")
			<-drained
		})
	}
}

// flood writes event as unmasked text frames to c until stop is closed or
// a write fails.
func flood(c net.Conn, stop <-chan struct{}) {
	frame := append([]byte{0x81, byte(len(event))}, event...) // FIN, text; len < 126
	bw := bufio.NewWriterSize(c, 32<<10)
	for {
		select {
		case <-stop:
			return
		default:
		}
		for range 64 {
			if _, err := bw.Write(frame); err != nil {
				return
			}
		}
	}
}

// BenchmarkSendPrepared is the shared-mode fan-out path: one message
// encoded once, queued to several connections without blocking.
func BenchmarkSendPrepared(b *testing.B) {
	const conns = 8
	for _, bm := range []struct {
		name string
		po   pairOptions
	}{{"plain", pairOptions{plain: true}}, {"batching", pairOptions{}}} {
		b.Run(bm.name, func(b *testing.B) {
			servers := make([]*ws.Conn, conns)
			drained := make([]<-chan struct{}, conns)
			for i := range conns {
				server, peer := newPair(b, ws.Options{QueueLen: 256}, bm.po)
				servers[i] = server
				drained[i] = drain(peer)
			}

			ctx := context.Background()
			b.SetBytes(int64(len(event)))
			b.ReportAllocs()
			cpu := startCPU()
			n := 0
			for b.Loop() {
				pm, err := websocket.NewPreparedMessage(websocket.TextMessage, event)
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range servers {
					if err := s.SendPrepared(ctx, pm, len(event)); err != nil {
						b.Fatal(err)
					}
				}
				n += conns
			}
			b.StopTimer()
			cpu.report(b, n)
			reportRate(b, n)
			for i, s := range servers {
				_ = s.Close(websocket.CloseNormalClosure, "")
				<-drained[i]
			}
		})
	}
}

// BenchmarkFanout is shared mode at a low event rate, where nothing
// batches: each event is queued to every connection and the next one waits
// until all peers have it, so every delivery pays the writer's full wake-up
// and its own network write. cpu-ns/op is per delivered event.
func BenchmarkFanout(b *testing.B) {
	const conns = 64
	for _, bm := range []struct {
		name string
		po   pairOptions
	}{{"plain", pairOptions{plain: true}}, {"batching", pairOptions{}}} {
		b.Run(bm.name, func(b *testing.B) {
			servers := make([]*ws.Conn, conns)
			got := make(chan struct{}, conns)
			done := make([]chan struct{}, conns)
			for i := range conns {
				server, peer := newPair(b, ws.Options{QueueLen: 256}, bm.po)
				servers[i] = server
				done[i] = make(chan struct{})
				go func() {
					defer close(done[i])
					for {
						if _, _, err := peer.ReadMessage(); err != nil {
							return
						}
						got <- struct{}{}
					}
				}()
			}

			b.ReportAllocs()
			cpu := startCPU()
			n := 0
			for b.Loop() {
				pm, err := websocket.NewPreparedMessage(websocket.TextMessage, event)
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range servers {
					if err := s.TrySendPrepared(pm, len(event)); err != nil {
						b.Fatal(err)
					}
				}
				for range conns {
					<-got
				}
				n += conns
			}
			b.StopTimer()
			cpu.report(b, n)
			reportRate(b, n)
			for i, s := range servers {
				_ = s.Close(websocket.CloseNormalClosure, "")
				<-done[i]
			}
		})
	}
}

// BenchmarkRelay is BenchmarkProxy at a low event rate: one event at a
// time goes upstream → Read → Send → peer, and the next waits until the
// peer has it, so every hop pays its full wake-up. cpu-ns/op is the cost of
// one delivered event where nothing can batch.
func BenchmarkRelay(b *testing.B) {
	for _, bm := range []struct {
		name string
		po   pairOptions
	}{{"plain", pairOptions{plain: true}}, {"batching", pairOptions{}}} {
		b.Run(bm.name, func(b *testing.B) {
			upRaw, upConn := rawPair(b, bm.po)
			upstream := ws.New(upConn, bridgeOptions)
			clConn, clPeer := rawPair(b, bm.po)
			cl := ws.New(clConn, bridgeOptions)
			relayed := make(chan struct{})
			go func() {
				defer close(relayed)
				for {
					m, err := upstream.Read(context.Background())
					if err != nil || cl.Send(context.Background(), m) != nil {
						return
					}
				}
			}()

			b.ReportAllocs()
			cpu := startCPU()
			n := 0
			for b.Loop() {
				if err := upRaw.WriteMessage(websocket.TextMessage, event); err != nil {
					b.Fatal(err)
				}
				if _, _, err := clPeer.ReadMessage(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.StopTimer()
			cpu.report(b, n)
			reportRate(b, n)
			_ = upstream.CloseNow(websocket.CloseGoingAway, "")
			<-relayed
			_ = cl.CloseNow(websocket.CloseGoingAway, "")
		})
	}
}
