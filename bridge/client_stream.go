package bridge

import (
	"context"
	"net/http"
)

// clientStream is a per-client session's upstream feed and context. The handler
// opens it; the stream may then outlive the handler (a taken-over or upgraded
// connection streamed from a goroutine of its own), so its context ends at
// shutdown or with end, and with the request only until detach.
type clientStream struct {
	ctx  context.Context
	end  context.CancelFunc
	feed *feed
	// stopWithRequest is the request's end ending the stream, until detach.
	stopWithRequest func() bool
}

// openClientStream opens cr's upstream. When it cannot, the client has been
// answered (refuse) and ok is false.
func (rt *route) openClientStream(w http.ResponseWriter, r *http.Request, cr *clientRequest) (s *clientStream, ok bool) {
	ctx, end := rt.sessionContext()
	s = &clientStream{ctx: ctx, end: end, stopWithRequest: context.AfterFunc(r.Context(), end)}
	if s.feed, ok = rt.openFeed(ctx, w, cr); !ok {
		s.detach()
		end()
		return nil, false
	}
	return s, true
}

// detach stops the request's end from ending the stream, and lets go of the
// registration, which a long stream would otherwise keep.
func (s *clientStream) detach() {
	s.stopWithRequest()
	s.stopWithRequest = detached
}

func detached() bool { return false }

// close ends the session: the upstream connection, then the context.
func (s *clientStream) close() {
	s.detach()
	s.feed.close()
	s.end()
}

// run streams the feed to sink until the stream ends, then calls end with what
// feed.stream returned. With loop, the upstream is read by the relay loop while out
// keeps up, and no goroutine waits for the stream meanwhile (feed.setRelay): end
// may then run on the goroutine that took the stream back, after run returned.
func (s *clientStream) run(ctx context.Context, sink eventSink, loop *relayLoop, out relayOut, end func(error)) {
	if loop != nil {
		s.feed.setRelay(loop, out, func(why error) { endUnlessParked(s.feed.resumeStream(ctx, why), end) })
	}
	endUnlessParked(s.feed.stream(ctx, sink), end)
}

// endUnlessParked calls end with err, unless the stream is on the relay loop, which
// resumes it.
func endUnlessParked(err error, end func(error)) {
	if err != errParked {
		end(err)
	}
}
