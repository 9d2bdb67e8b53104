package bridge

import (
	"context"
	"net/http"
	"sync"
)

// Bounds of shared streams beyond the configured event counts: memory must stay
// bounded whatever the events weigh.
const (
	// minClientQueueBytes is the least a shared client may have queued, in bytes;
	// the bound is twice max_message when that is larger.
	minClientQueueBytes = 4 << 20
	// minReplayBytes is the least the replay buffer may hold, in bytes; the bound
	// is four times max_message when that is larger.
	minReplayBytes = 16 << 20
)

// hubSet holds a shared route's streams, one hub per distinct upstream URL (the
// route's upstream with the client's query merged in).
type hubSet struct {
	rt   *route
	ctx  context.Context
	mu   sync.Mutex
	hubs map[string]*hub
	wg   sync.WaitGroup
}

func newHubSet(rt *route, ctx context.Context) *hubSet {
	return &hubSet{rt: rt, ctx: ctx, hubs: map[string]*hub{}}
}

// get returns the hub of cr's stream, creating it when there is none. A new hub does
// not run until its creator calls start, after joining it: the client that opens a
// stream then sees it from its very first event.
func (hs *hubSet) get(cr *clientRequest) (h *hub, created bool) {
	key := cr.upstream.String()
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if h, ok := hs.hubs[key]; ok {
		return h, false
	}
	h = hs.newHub(key, cr)
	hs.hubs[key] = h
	hs.wg.Add(1) // here, under the lock, so closeAll waits for a hub about to start
	return h, true
}

// start runs a hub that get created.
func (hs *hubSet) start(h *hub) {
	go func() {
		defer hs.wg.Done()
		h.run()
	}()
}

// sharedReadSize is how much a shared stream reads from its SSE upstream at a time:
// a fast stream's events then reach every client in batches as large as a batch
// may be (maxBatchEvents), not a 4 KiB read's worth.
const sharedReadSize = 64 << 10

// newHub creates a stream's hub. A shared upstream connection carries no client's
// headers: it is everyone's.
func (hs *hubSet) newHub(key string, cr *clientRequest) *hub {
	rt := hs.rt
	shared := &clientRequest{route: rt.cfg, upstream: cr.upstream, header: http.Header{}, format: rt.cfg.Format}
	ctx, cancel := context.WithCancel(hs.ctx)
	log := rt.log.With("stream", key)
	h := &hub{
		key:     key,
		rt:      rt,
		log:     log,
		hubs:    hs,
		ctx:     ctx,
		cancel:  cancel,
		ready:   make(chan struct{}),
		history: newRing(rt.cfg.Replay, rt.replayBytes()),
		clients: map[*subscriber]struct{}{},
		done:    make(chan struct{}),
	}
	h.feed = newFeed(rt.dial(shared, true), "", rt.cfg.Retry, rt.metrics, log)
	h.feed.onConnect = func(c upstreamConn) {
		if su, ok := c.(*sseUpstream); ok {
			// Each read is a batch for every client: read as much as a fast
			// stream has.
			su.parser.SetReadSize(sharedReadSize)
		}
		wu, _ := c.(*wsUpstream)
		h.mu.Lock()
		h.upstream = nil
		if wu != nil {
			wu.open() // a shared stream is never relayed: its clients' messages go up it
			h.upstream = wu.conn
		}
		h.mu.Unlock()
	}
	return h
}

// remove forgets h, so the next client starts a new stream.
func (hs *hubSet) remove(h *hub) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.hubs[h.key] == h {
		delete(hs.hubs, h.key)
	}
}

// closeAll stops every stream and waits for their goroutines.
func (hs *hubSet) closeAll() {
	hs.mu.Lock()
	all := make([]*hub, 0, len(hs.hubs))
	for _, h := range hs.hubs {
		all = append(all, h)
	}
	hs.mu.Unlock()
	for _, h := range all {
		h.close()
	}
	hs.wg.Wait()
}

// replayBytes is the byte bound of a shared stream's replay buffer.
func (rt *route) replayBytes() int {
	return max(minReplayBytes, 4*int(rt.cfg.MaxMessage))
}

// clientQueueBytes is the byte bound of one shared client's queue.
func (rt *route) clientQueueBytes() int64 {
	return max(minClientQueueBytes, 2*rt.cfg.MaxMessage)
}
