package test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkSharedFanOutLoopback is shared mode end to end on loopback: one upstream
// stream fanned out to SSEWS_BENCH_CLIENTS EventSource clients and as many
// WebSocket clients (default 1,000 each), one event per iteration, the next sent
// once every client has the last. It reports delivered events/s, the p50 and p99
// latency from the upstream's write to the client's read, the process's CPU per
// delivered event (ssews, upstream and clients share the process), and the heap and
// stacks each connected client costs ssews and its end of the test.
//
//	SSEWS_BENCH_CLIENTS=4000 go test -run='^$' -bench=SharedFanOutLoopback -benchtime=200x ./test
//
// One process holds both ends of every connection: 2 x 4,000 clients use 16,000
// file descriptors, close to the usual hard limit of 20,000.
func BenchmarkSharedFanOutLoopback(b *testing.B) {
	perKind := 1000
	if v, err := strconv.Atoi(os.Getenv("SSEWS_BENCH_CLIENTS")); err == nil && v > 0 {
		perKind = v
	}
	tk := newTicker(b)
	p := startProxy(b, map[string]string{
		"SSEWS_CONFIG":    sharedRoute(b, "/fan", tk.URL),
		"SSEWS_HEARTBEAT": "1h",
	})
	before := liveMemory()
	lat := newLatencies(2 * perKind)
	delivered := make(chan struct{}, 2*perKind)
	var readers sync.WaitGroup
	conns := make([]net.Conn, 0, 2*perKind)
	for i := range perKind {
		sc := dialRawPath(b, p, "/fan", "sse")
		wc := dialWSFanOut(b, p)
		conns = append(conns, sc, wc.NetConn())
		readers.Add(2)
		go func() { defer readers.Done(); readSSETimes(sc, lat.slot(2*i), delivered) }()
		go func() { defer readers.Done(); readWSTimes(wc, lat.slot(2*i+1), delivered) }()
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		readers.Wait()
	}()
	waitMetric(b, p, `ssews_connections{client="ws",route="/fan"}`, float64(perKind))
	waitMetric(b, p, `ssews_connections{client="sse",route="/fan"}`, float64(perKind))
	recv(b, tk.open, "upstream connection")
	perClient := float64(liveMemory()-before) / float64(2*perKind)

	b.ResetTimer()
	cpu0 := processCPU()
	for i := range b.N {
		tk.send(fmt.Sprintf("data: %d\n\n", time.Now().UnixNano()))
		for range 2 * perKind {
			select {
			case <-delivered:
			case <-time.After(wait):
				b.Fatalf("event %d: not every client got it within %v", i, wait)
			}
		}
	}
	b.StopTimer()
	deliveries := float64(b.N * 2 * perKind)
	b.ReportMetric(deliveries/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(processCPU()-cpu0)/deliveries, "cpu-ns/event")
	p50, p99 := lat.percentiles()
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	b.ReportMetric(perClient, "B/client")
}

// dialWSFanOut connects a WebSocket client to /fan.
func dialWSFanOut(tb testing.TB, p *proxy) *websocket.Conn {
	tb.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait, ReadBufferSize: 512}
	c, resp, err := d.Dial(p.ws+"/fan?format=raw", nil)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	return c
}

// readSSETimes reads an event stream from a raw connection and records, per event,
// how long after its data's timestamp it arrived.
func readSSETimes(c net.Conn, lat *[]time.Duration, delivered chan<- struct{}) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			record(data, lat, delivered)
		}
	}
}

// readWSTimes is readSSETimes for a WebSocket client of format=raw.
func readWSTimes(c *websocket.Conn, lat *[]time.Duration, delivered chan<- struct{}) {
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		record(data, lat, delivered)
	}
}

func record(data []byte, lat *[]time.Duration, delivered chan<- struct{}) {
	if ns, err := strconv.ParseInt(string(bytes.TrimSpace(data)), 10, 64); err == nil {
		*lat = append(*lat, time.Since(time.Unix(0, ns)))
		delivered <- struct{}{}
	}
}

// latencies keeps each client's delivery latencies in a slot of its own, read once
// the clients are done.
type latencies struct{ slots [][]time.Duration }

func newLatencies(n int) *latencies { return &latencies{slots: make([][]time.Duration, n)} }

func (l *latencies) slot(i int) *[]time.Duration { return &l.slots[i] }

func (l *latencies) percentiles() (p50, p99 time.Duration) {
	all := slices.Concat(l.slots...)
	if len(all) == 0 {
		return 0, 0
	}
	slices.Sort(all)
	return all[len(all)/2], all[len(all)*99/100]
}

// processCPU is the process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
