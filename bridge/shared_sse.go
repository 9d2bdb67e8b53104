package bridge

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ssews/ssews/sse"
)

// joinShared finds (or starts) cr's stream and joins it, then waits for the upstream's
// first answer. A new stream starts only once its first client has joined, so that
// client sees it from its very first event. Before the client's stream starts, an upstream refusal is the
// client's status, as in per-client mode.
func (rt *route) joinShared(ctx context.Context, cr *clientRequest, kind string) (*hub, *subscriber, []*Entry, error) {
	for attempt := 0; ; attempt++ {
		h, created := rt.hubs.get(cr)
		s := newSubscriber(rt.srv.opts.ClientBuffer, rt.clientQueueBytes(), kind)
		replay, miss, joinErr := h.join(s, cr.lastEventID)
		if created {
			rt.hubs.start(h)
		}
		select {
		case <-h.ready:
		case <-ctx.Done():
			h.leave(s)
			return nil, nil, nil, ctx.Err()
		}
		if h.connectErr != nil {
			return nil, nil, nil, h.connectErr
		}
		if joinErr != nil {
			if attempt == 0 {
				continue // the stream ended just now: start a new one
			}
			return nil, nil, nil, &upstreamError{status: http.StatusBadGateway, reason: reasonDropped, err: joinErr}
		}
		if miss {
			rt.metrics.replayMisses.Inc()
			rt.log.Debug("resume id not in the replay buffer", "client", cr.remoteAddr, "last_id", cr.lastEventID)
			if rt.cfg.GapEvent != "" {
				replay = append([]*Entry{gapEntry(rt.cfg.GapEvent, cr.lastEventID)}, replay...)
			}
		}
		return h, s, replay, nil
	}
}

// gapEntry is the event that tells a resuming client its id is no longer in the
// replay buffer (route option gap_event), so the application can refetch. It has no
// id: the client keeps the one it asked for until the live stream sets the next.
func gapEntry(eventType, lastID string) *Entry {
	data, _ := json.Marshal(struct {
		LastEventID string `json:"lastEventId"`
	}{lastID})
	return newEntry(sse.Event{Type: eventType, Data: string(data)}, nil)
}

// serveSharedSSE serves an EventSource client from a shared stream: the replay after
// its Last-Event-ID, then the live events, each written as encoded once per stream.
func (rt *route) serveSharedSSE(w http.ResponseWriter, r *http.Request, cr *clientRequest) {
	ctx, cancel := rt.clientContext(r)
	defer cancel()
	h, s, replay, err := rt.joinShared(ctx, cr, clientSSE)
	if err != nil {
		rt.refuse(ctx, w, cr, err)
		return
	}
	if conn, handled := rt.hijackSSE(w, r); handled {
		if conn == nil {
			h.leave(s)
			return
		}
		rt.runSharedSSEConn(conn, cr, h, s, replay)
		return
	}
	defer h.leave(s)
	var why error
	disconnected := rt.connected(clientSSE, cr.remoteAddr)
	defer func() { disconnected(why) }()

	out := newSSEResponse(w, rt.srv.opts.WriteTimeout)
	cm := rt.metrics.clients[clientSSE]
	if err := out.start(rt.cfg.Retry.Milliseconds()); err != nil {
		return
	}
	write := func(e *Entry) bool {
		n, err := out.wire(e.sse())
		if err != nil {
			return false
		}
		cm.events.Inc()
		cm.bytes.Add(float64(n))
		return true
	}
	for _, e := range replay {
		if !write(e) {
			return
		}
	}
	if out.flush() != nil {
		return
	}
	s.start()
	heartbeat := time.NewTimer(rt.cfg.Heartbeat)
	defer heartbeat.Stop()
	var batch []*Entry
	for {
		select {
		case <-s.ready:
			batch = s.take(batch)
			for _, e := range batch {
				if !write(e) {
					return
				}
			}
			if out.flush() != nil {
				return
			}
			heartbeat.Reset(rt.cfg.Heartbeat)
		case <-s.kicked:
			why = s.reason
			return
		case <-heartbeat.C:
			if out.comment() != nil {
				return
			}
			heartbeat.Reset(rt.cfg.Heartbeat)
		case <-ctx.Done():
			if rt.srv.Draining() {
				why = errDraining
			}
			return
		}
	}
}
