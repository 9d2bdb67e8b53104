package test

import (
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSharedMemoryBoundedWithStalledClients floods a shared stream (94 MiB of events)
// while 400 clients, half EventSource and half WebSocket, never read. Every stalled
// client must be let go and the heap must stay under a bound the whole time: queues
// and the replay buffer are bounded in bytes, and entries are shared, never copied
// per client. Not parallel: it measures this process's heap.
func TestSharedMemoryBoundedWithStalledClients(t *testing.T) {
	const (
		stalled   = 200 // of each kind
		events    = 6000
		eventSize = 16 << 10
		bound     = 96 << 20 // heap growth allowed over the baseline
	)
	payload := strings.Repeat("m", eventSize)
	start := make(chan struct{})
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-start:
		case <-r.Context().Done():
			return
		}
		for i := range events {
			if _, err := fmt.Fprintf(w, "data: %d %s\n\n", i, payload); err != nil {
				return
			}
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{
		"SSEWS_CONFIG":        sharedRoute(t, "/flood", up.URL),
		"SSEWS_CLIENT_BUFFER": "64",
		"SSEWS_MAX_MESSAGE":   "64KiB",
		"SSEWS_WRITE_TIMEOUT": "2s",
	})
	baseline := heapInUse()
	for range stalled {
		c, err := net.Dial("tcp", p.main.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /flood HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
		dialWS(t, p.ws+"/flood", nil) // never read
	}
	waitMetric(t, p, `ssews_connections{client="ws",route="/flood"}`, stalled)
	waitMetric(t, p, `ssews_connections{client="sse",route="/flood"}`, stalled)

	close(start)
	peak := baseline
	deadline := time.After(3 * wait)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-tick.C:
			peak = max(peak, heapInUse())
			v, _ := metricValue(t, p, `ssews_events_in_total{route="/flood"}`)
			done = v >= events
		case <-deadline:
			t.Fatal("the flood did not get through in time")
		}
	}
	waitMetric(t, p, `ssews_slow_client_disconnects_total{client="ws",route="/flood"}`, stalled)
	waitMetric(t, p, `ssews_slow_client_disconnects_total{client="sse",route="/flood"}`, stalled)
	t.Logf("heap in use: baseline %d MiB, peak %d MiB during %d MiB of events to %d stalled clients",
		baseline>>20, peak>>20, events*eventSize>>20, 2*stalled)
	if peak-baseline > bound {
		t.Errorf("heap grew by %d MiB; bound %d MiB", (peak-baseline)>>20, bound>>20)
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
