package bridge

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/sse"
)

// newBenchHub is a hub with n subscribers of each kind and no network: what is left
// is the fan-out itself, log append, encoding and one queue push per client.
func newBenchHub(tb testing.TB, n int) (*hub, []*subscriber) {
	tb.Helper()
	rt := &route{
		cfg:     &config.Route{Path: "/bench", Linger: time.Hour},
		log:     slog.New(slog.DiscardHandler),
		metrics: NewMetrics(prometheus.NewRegistry()).route("/bench"),
	}
	h := &hub{rt: rt, history: newRing(1024, 16<<20), clients: map[*subscriber]struct{}{}}
	subs := make([]*subscriber, 0, 2*n)
	for i := range 2 * n {
		kind := clientSSE
		if i%2 == 1 {
			kind = clientWS
		}
		s := newSubscriber(256, 4<<20, kind)
		h.clients[s] = struct{}{}
		subs = append(subs, s)
	}
	return h, subs
}

// deliverer broadcasts ev and has each client take it in its wire form, as the
// direct delivery of an attached client does before its one write.
func deliverer(h *hub, subs []*subscriber, ev sse.Event) func() {
	for _, s := range subs {
		if s.kind == clientSSE {
			s.direct = func(b *batch) bool { _, n := b.sse(); return n > 0 }
		} else {
			s.direct = func(b *batch) bool { return len(b.frames(config.FormatJSON)) > 0 }
		}
	}
	evs := []pendingEvent{{ev: ev}}
	return func() { h.broadcast(evs) }
}

// BenchmarkSharedFanOut broadcasts one 100-byte event to n EventSource and n WebSocket
// clients and has each client take it in its wire form. allocs/op stays flat as n
// grows: an event is encoded once per stream and format, not once per client.
func BenchmarkSharedFanOut(b *testing.B) {
	ev := sse.Event{Type: "tick", Data: strings.Repeat("x", 100)}
	for _, n := range []int{10, 1000, 5000} {
		b.Run(fmt.Sprintf("clients=%d", 2*n), func(b *testing.B) {
			h, subs := newBenchHub(b, n)
			deliver := deliverer(h, subs, ev)
			b.ReportAllocs()
			for b.Loop() {
				deliver()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(subs)), "ns/delivery")
		})
	}
}

// TestSharedFanOutAllocsPerEvent pins the encode-once property: the allocations of a
// broadcast do not grow with the number of clients.
func TestSharedFanOutAllocsPerEvent(t *testing.T) {
	ev := sse.Event{Type: "tick", Data: strings.Repeat("x", 100)}
	measure := func(n int) float64 {
		h, subs := newBenchHub(t, n)
		deliver := deliverer(h, subs, ev)
		deliver() // each client's two batch slices come into use over two events
		return testing.AllocsPerRun(50, deliver)
	}
	few, many := measure(2), measure(500)
	// Per-client encoding would add hundreds; allow the race detector's odd one.
	if many > few+5 {
		t.Errorf("allocs per broadcast: %v with 4 clients, %v with 1000; want no growth per client", few, many)
	}
}
