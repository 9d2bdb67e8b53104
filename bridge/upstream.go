package bridge

import (
	"context"
	"time"

	"github.com/ssews/ssews/sse"
)

// upstreamConn is one open upstream connection, read as a stream of events whatever
// the upstream speaks.
type upstreamConn interface {
	// each hands every event the upstream dispatches to to, in order, until the
	// connection ends (its error), ctx is done (ctx's error) or to.receive
	// returns false (nil). to and the waiter may be called on a goroutine of the
	// connection's own, one call at a time; neither is once each has returned.
	each(ctx context.Context, to eventReceiver) error
	// setWaiter installs w, told each time the connection is about to wait on
	// the network. Writers flush then, and only then: every event read so far has
	// been handed over, and a fast stream is flushed once per upstream read, not
	// once per event.
	setWaiter(w waiter)
	// validUTF8 reports whether the events are valid UTF-8 already (an SSE
	// upstream's, decoded by the parser), so that sanitising them need not decode.
	validUTF8() bool
	// resumeID is the id to resume from after this connection: the last event id the
	// upstream committed.
	resumeID() string
	// retry is the reconnection delay the upstream asked for, if it did.
	retry() (time.Duration, bool)
	close()
}

// eventReceiver takes an upstream connection's events (the feed). It, and waiter,
// are interfaces rather than functions for the reason relayHandler is.
type eventReceiver interface {
	// receive takes one event; false stops each.
	receive(ev sse.Event) bool
}

// waiter is told when an upstream connection is about to wait (the feed).
type waiter interface {
	wait()
}

// longAgo is a deadline that has passed: set on a connection, it ends the reads and
// writes under way, which is how a dial or a stream is given up.
var longAgo = time.Unix(1, 0)

// dialFunc opens an upstream connection that resumes after lastID.
type dialFunc func(ctx context.Context, lastID string) (upstreamConn, error)
