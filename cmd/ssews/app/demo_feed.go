package app

import (
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssews/ssews/sse"
)

// demoPublishLimit bounds a message POSTed to the demo feed.
const demoPublishLimit = 4 << 10

// demoWriteTimeout bounds one write of a demo upstream to the proxy, so a stuck
// connection cannot hold a handler forever.
const demoWriteTimeout = 5 * time.Second

// serveEvents is the demo's SSE upstream: the feed hub's events as text/event-stream,
// resuming after Last-Event-ID from the hub's history. It ends when the proxy goes
// or the hub drops or closes the subscription.
func (u *demoUpstream) serveEvents(w http.ResponseWriter, r *http.Request) {
	sub, backlog := u.feed.subscribe(r.Header.Get("Last-Event-ID"))
	defer u.feed.unsubscribe(sub)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	buf := sse.AppendComment(nil, "ssews demo feed: tick every second, news and a multi-line report now and then")
	for _, ev := range backlog {
		buf = appendDemoEvent(buf, ev)
	}
	if !writeFlush(rc, w, buf) {
		return
	}
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if !writeFlush(rc, w, appendDemoEvent(buf[:0], ev)) {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// appendDemoEvent appends ev in the event-stream format.
func appendDemoEvent(dst []byte, ev demoEvent) []byte {
	return sse.AppendEvent(dst, &sse.Event{Type: ev.Type, Data: ev.Data, ID: ev.idString()}, true)
}

// writeFlush writes p and flushes it within demoWriteTimeout; false means the
// connection is gone.
func writeFlush(rc *http.ResponseController, w io.Writer, p []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(demoWriteTimeout))
	if _, err := w.Write(p); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// servePublish takes a message POSTed by ssews (a WebSocket client's message on the
// SSE route) and broadcasts it on the feed as a chat event, so it comes back to every
// client of the SSE route, whichever protocol it speaks.
func (u *demoUpstream) servePublish(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, demoPublishLimit))
	if err != nil {
		http.Error(w, "message too large", http.StatusRequestEntityTooLarge)
		return
	}
	text := strings.TrimSpace(string(body))
	if text == "" || !utf8.ValidString(text) {
		http.Error(w, "message must be non-empty UTF-8 text", http.StatusBadRequest)
		return
	}
	u.feed.publish("chat", text, false)
	w.WriteHeader(http.StatusNoContent)
}
