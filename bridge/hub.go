package bridge

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// hub is one shared stream: ONE upstream connection for a route's path+query, fanned
// out to every client of that stream, whatever their protocol. The first client
// opens it, the last one leaving closes it after the route's linger.
type hub struct {
	key    string
	rt     *route
	log    *slog.Logger
	feed   *feed
	hubs   *hubSet
	ctx    context.Context
	cancel context.CancelFunc

	// ready is closed once the first upstream connection succeeded or failed
	// (connectErr); clients wait for it before their stream starts.
	ready      chan struct{}
	connectErr error

	mu      sync.Mutex
	history StreamLog
	clients map[*subscriber]struct{}
	linger  *time.Timer
	// beat is the heartbeat of the clients with a heartbeat func (subscriber).
	beat  *time.Timer
	ended bool
	// upstream is the current WebSocket upstream connection, for client messages.
	upstream *ws.Conn

	done chan struct{} // closed when run returns

	// pending holds the events read since the upstream last waited, owned by run:
	// they are logged and delivered together (flush) when it is about to wait
	// again, or once they reach the batch's bounds.
	pending      []pendingEvent
	pendingBytes int
	batchLimit   int // events in a batch at most
}

// pendingEvent is an event read from the upstream and not yet logged or delivered,
// with the upstream's own message when it speaks WebSocket.
type pendingEvent struct {
	ev   sse.Event
	orig *ws.Message
}

// run connects the upstream and fans its events out until the hub is closed or the
// upstream refuses for good. It is the hub's one goroutine; a WebSocket upstream's
// events reach the hub on that connection's reader, one at a time, while run waits
// (feed.stream). The events of one upstream read go out together, when the upstream
// is about to wait again: a fast stream reaches a client in few writes, a slow one
// with no delay.
func (h *hub) run() {
	defer close(h.done)
	defer h.feed.close()
	h.batchLimit = batchLimit(h.rt.srv.opts.ClientBuffer)
	err := h.feed.connect(h.ctx)
	h.connectErr = err
	close(h.ready)
	if err != nil {
		h.end(errStreamRefused)
		return
	}
	h.startHeartbeat()
	err = h.feed.stream(h.ctx, h)
	h.flush()
	if h.ctx.Err() == nil {
		h.log.Warn("shared upstream ended the stream", "stream", h.key, "err", err)
		h.end(streamEnd(err))
	}
}

// write, flush and count make the hub its feed's sink: events are kept, and go
// out in batches when the upstream is about to wait or a batch is full.
func (h *hub) write(ev *sse.Event) error {
	h.pending = append(h.pending, pendingEvent{ev: *ev, orig: h.feed.rawMessage()})
	h.pendingBytes += len(ev.Data)
	if len(h.pending) >= h.batchLimit || h.pendingBytes >= maxBatchBytes {
		h.flush()
	}
	return nil
}

func (h *hub) count(countAdder) {} // the clients' counts are their writers'

// flush logs and delivers the pending events, if any.
func (h *hub) flush() {
	if len(h.pending) == 0 {
		return
	}
	h.broadcast(h.pending)
	clear(h.pending)
	h.pending, h.pendingBytes = h.pending[:0], 0
}

// streamEnd is why the clients of a stream whose upstream refused for good are let
// go, as in per-client mode: a 204 ends the stream, any other answer is a refusal.
func streamEnd(err error) error {
	var ue *upstreamError
	if errors.As(err, &ue) && ue.status != http.StatusNoContent {
		return errStreamRefused
	}
	return errStreamEnded
}

// broadcast logs evs and offers them to every client as one batch; a client whose
// queue is full is let go, so it never slows the others or the upstream.
func (h *hub) broadcast(evs []pendingEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	entries := make([]*Entry, len(evs))
	for i, p := range evs {
		entries[i] = h.history.Append(p.ev, p.orig)
	}
	b := newBatch(entries)
	for s := range h.clients {
		if !s.offerBatch(b) {
			h.dropSlowLocked(s)
		}
	}
	if len(h.clients) == 0 {
		h.startLingerLocked()
	}
}

// dropSlowLocked lets go a client whose queue is full. Callers hold h.mu.
func (h *hub) dropSlowLocked(s *subscriber) {
	delete(h.clients, s)
	s.kick(errSlowClient)
	h.rt.metrics.clients[s.kind].slowDrop.Inc()
}

// join adds a client and returns what it missed since lastID (SPEC section 5): the
// replay and the live queue are taken under one lock, so there is no gap and no
// duplicate at the seam. miss reports an id no longer (or never) in the log.
func (h *hub) join(s *subscriber, lastID string) (replay []*Entry, miss bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		return nil, false, errStreamEnded
	}
	if lastID != "" {
		var found bool
		replay, found = h.history.After(lastID)
		miss = !found
	}
	h.clients[s] = struct{}{}
	if h.linger != nil {
		h.linger.Stop()
		h.linger = nil
	}
	return replay, miss, nil
}

// attach switches s to direct delivery through deliver, for a client whose
// connection has bounded queues of its own, once it has nothing queued: what queued
// up while the client was set up comes back as backlog instead, for the caller to
// write (waiting, as for a replay) before it attaches again, so the client sees the
// stream's order with no gap. onKick is called when the hub lets the client go,
// heartbeat (if not nil) on the stream's heartbeat timer. attached and backlog both
// empty mean it was let go already.
func (h *hub) attach(s *subscriber, deliver func(*batch) bool, onKick, heartbeat func()) (attached bool, backlog []*Entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.onKick, s.heartbeat = onKick, heartbeat
	if _, ok := h.clients[s]; !ok {
		return false, nil
	}
	if backlog = s.take(nil); len(backlog) > 0 {
		return false, backlog
	}
	s.start()
	s.direct = deliver
	return true, nil
}

// attachAfterBacklog attaches s as attach does, once write (which may wait, on the
// caller's goroutine) has sent what queued while the client was set up. The error
// is why the client must end instead: write's, or why the hub let it go.
func (h *hub) attachAfterBacklog(s *subscriber, deliver func(*batch) bool, onKick, heartbeat func(), write func([]*Entry) error) error {
	for {
		attached, backlog := h.attach(s, deliver, onKick, heartbeat)
		switch {
		case attached:
			return nil
		case len(backlog) == 0:
			return s.reason
		}
		if err := write(backlog); err != nil {
			return err
		}
	}
}

// leave removes a client; the last one out starts the linger.
func (h *hub) leave(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, s)
	if len(h.clients) == 0 {
		h.startLingerLocked()
	}
}

// startLingerLocked closes the hub after the route's linger unless a client joins
// first. Callers hold h.mu.
func (h *hub) startLingerLocked() {
	if h.linger != nil || h.ended {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(h.rt.cfg.Linger, func() {
		h.mu.Lock()
		// Only this timer's own run counts: a join stops it, and a later leave
		// starts another, which this run must not stand for.
		if h.linger != t || len(h.clients) > 0 {
			h.mu.Unlock()
			return
		}
		h.endLocked(errStreamEnded)
		h.mu.Unlock()
		h.hubs.remove(h)
		h.cancel()
	})
	h.linger = t
}

// startHeartbeat runs the heartbeat of the clients that want one (subscriber
// heartbeat), every interval: one timer per stream, not one per client.
func (h *hub) startHeartbeat() {
	interval := h.rt.cfg.Heartbeat
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		return
	}
	h.beat = time.AfterFunc(interval, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.ended {
			return
		}
		for s := range h.clients {
			if s.heartbeat != nil {
				s.heartbeat()
			}
		}
		h.beat.Reset(interval)
	})
}

// end lets every client go with reason and stops taking new ones.
func (h *hub) end(reason error) {
	h.mu.Lock()
	h.endLocked(reason)
	h.mu.Unlock()
	h.hubs.remove(h)
}

// endLocked is end's part under h.mu: the stream takes no client and no timer
// from now on.
func (h *hub) endLocked(reason error) {
	h.ended = true
	if h.beat != nil {
		h.beat.Stop()
	}
	if h.linger != nil {
		h.linger.Stop()
		h.linger = nil
	}
	for s := range h.clients {
		s.kick(reason)
	}
	clear(h.clients)
}

// close stops the hub: the upstream connection is closed and run returns.
func (h *hub) close() {
	h.end(errStreamEnded)
	h.cancel()
}

// sendUpstream passes a WebSocket client's message to the shared WebSocket upstream.
func (h *hub) sendUpstream(ctx context.Context, m ws.Message) error {
	h.mu.Lock()
	up := h.upstream
	h.mu.Unlock()
	if up == nil {
		return errors.New("upstream not connected")
	}
	return up.Send(ctx, m)
}
