package bridge

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// errOversize is an upstream event or message over max_message.
var errOversize = errors.New("upstream event over max_message")

// errClientStuck ends a stream whose client took nothing for the write timeout
// while its upstream was read on the relay loop: the client failed, not the
// upstream, so the stream ends rather than reconnect.
var errClientStuck = errors.New("client took nothing for the write timeout")

// maxBackoff caps the delay between failed upstream connection attempts.
const maxBackoff = 30 * time.Second

// feed is the event stream of one upstream, kept open across upstream drops: it
// reconnects with the last committed id (the upstream's retry first, then exponential
// backoff with jitter while attempts fail) so the client never sees the drop.
type feed struct {
	dial   dialFunc
	conn   upstreamConn
	lastID string
	// delay is the reconnection time: the route's retry until the upstream sets one.
	delay    time.Duration
	failures int
	// sink takes the events (stream).
	sink eventSink
	// lazyCounts: the counts go to the relay loop's, which adds them to the
	// metrics on its ticks, so that a stream on the loop does not touch the
	// metrics' shared counters once per upstream read.
	lazyCounts bool
	inEvents   int
	inBytes    int
	// warnedDropped: a dropped field was logged for the current connection.
	warnedDropped bool
	// ev is the event sink is given (stream): a field, as a pointer to a local
	// would make every event an allocation.
	ev sse.Event
	// sinkErr is what sink.write last returned.
	sinkErr error
	// onConnect, when set, learns of every new upstream connection.
	onConnect func(upstreamConn)
	// relay and relayOut, when set, let connections that can be read from the
	// relay loop be (setRelay); resume is how a stream comes back from the loop,
	// where no goroutine waits for it. stopLeave stops the registration that
	// takes it out when its context ends; parkMu orders the parking goroutine's
	// last steps before the return's first.
	relay     *relayLoop
	relayOut  relayOut
	resume    func(why error)
	stopLeave func() bool
	parkMu    sync.Mutex
	metrics   *routeMetrics
	log       *slog.Logger
	// client is the address of the feed's one client, for its log lines; empty for
	// a shared stream's feed.
	client string
}

func newFeed(dial dialFunc, lastID string, delay time.Duration, rm *routeMetrics, log *slog.Logger) *feed {
	return &feed{dial: dial, lastID: lastID, delay: delay, metrics: rm, log: log}
}

// eventSink is where a feed's events go: one client's writer, or a shared stream's
// hub. It is an interface rather than functions for the reason relayHandler is.
type eventSink interface {
	// write takes one event, which is the feed's again once write returns; an
	// error ends the stream. A sink that keeps events (a shared stream's hub)
	// must be fed by a dialFunc that gives each event strings of its own:
	// otherwise ev.Data shares the upstream parser's buffer (route.dial).
	write(ev *sse.Event) error
	// flush runs each time the upstream is about to wait: every event read so far
	// has been written, and goes out now.
	flush()
	// count adds what was written since the last count to the metrics, through
	// add.
	count(add countAdder)
}

// warm reads the feed where an event will (relayLoop.warm).
func (f *feed) warm() uintptr {
	return uintptr(len(f.lastID)) + uintptr(f.inEvents) + uintptr(f.ev.Retry) + uintptr(unsafe.Pointer(f.metrics))
}

// countAdder adds to a metrics counter, given by the address of the field that
// holds it (a key that costs little to look up): at once (addNow), or at a relay
// loop's next tick (relayLoop.count), for the streams on the loop.
type countAdder interface {
	count(c *prometheus.Counter, n float64)
}

// addNow adds to counters at once.
type addNow struct{}

func (addNow) count(c *prometheus.Counter, n float64) { (*c).Add(n) }

// wait runs each time the upstream is about to wait (upstreamConn.setWaiter): the
// sink's flush, then the counts, the flush's with them.
func (f *feed) wait() {
	if f.sink != nil {
		f.sink.flush()
	}
	f.commit()
}

// commit adds the counts so far, the feed's and the sink's, to the metrics: at
// once, or through the relay loop that reads the upstream.
func (f *feed) commit() {
	var add countAdder = addNow{}
	if f.lazyCounts {
		add = f.relay
	}
	if f.inEvents > 0 {
		add.count(&f.metrics.eventsIn, float64(f.inEvents))
		add.count(&f.metrics.bytesIn, float64(f.inBytes))
		f.inEvents, f.inBytes = 0, 0
	}
	if f.sink != nil {
		f.sink.count(add)
	}
}

// connect opens the first upstream connection. Its error carries the status for the
// client (upstreamError), since no stream has started yet.
func (f *feed) connect(ctx context.Context) error {
	conn, err := f.dial(ctx, f.lastID)
	if err != nil {
		if ctx.Err() == nil { // not a connect the client or shutdown gave up
			f.metrics.failures.WithLabelValues(failureReason(err)).Inc()
		}
		return err
	}
	f.metrics.upstreamConnects.Inc()
	f.use(conn)
	return nil
}

// use makes conn the current upstream connection.
func (f *feed) use(conn upstreamConn) {
	f.warnedDropped = false
	conn.setWaiter(f)
	f.conn = conn
	f.relayConn()
	if f.onConnect != nil {
		f.onConnect(conn)
	}
}

// rawMessage is a copy of the WebSocket message the last event came from, nil for
// SSE upstreams.
func (f *feed) rawMessage() *ws.Message {
	if u, ok := f.conn.(*wsUpstream); ok {
		m := u.last
		return &m
	}
	return nil
}

// setRelay lets this and every later upstream connection that can be read from
// loop be, while out keeps up with it. No goroutine waits for a stream on the loop:
// the calls that put it there return errParked, and resume runs, on a goroutine of
// its own, with why it left the loop once it has (feed.resumeStream goes on with
// the stream).
func (f *feed) setRelay(loop *relayLoop, out relayOut, resume func(why error)) {
	f.relay, f.relayOut, f.resume = loop, out, resume
	if f.conn != nil {
		f.relayConn()
	}
}

func (f *feed) relayConn() {
	if r, ok := f.conn.(interface {
		relayTo(*relayLoop, relayOut, *feed)
	}); ok && f.relay != nil {
		r.relayTo(f.relay, f.relayOut, f)
	}
}

// errParked is how far a stream goes back when it went to the relay loop and freed
// its goroutine (setRelay): up to the session, which lets its goroutine end.
var errParked = errors.New("stream parked on the relay loop")

// serveRelayed puts r, one of this feed's connections, on loop and returns
// errParked, or errRelayClosed when the loop did not take it: relayLeft resumes the
// stream once r has left the loop, which ctx ending makes it do. Meanwhile the
// counts go to the loop's (commit), and those since once r is back.
func (f *feed) serveRelayed(ctx context.Context, loop *relayLoop, r *relayed) error {
	f.parkMu.Lock()
	defer f.parkMu.Unlock()
	f.lazyCounts = true // before the loop may read it
	if !loop.add(r) {
		f.relayEnded()
		return errRelayClosed
	}
	f.metrics.relayed.Inc()
	// After add: a leave posted before it would find nothing to take out.
	f.stopLeave = context.AfterFunc(ctx, func() { loop.leave(r) })
	return errParked
}

// relayLeft is told, on the loop, why a connection of this feed's left it: a
// goroutine of the stream's own takes it back.
func (f *feed) relayLeft(why error) { go f.unpark(why) }

// unpark takes a parked stream back after it left the loop with why, and resumes it.
func (f *feed) unpark(why error) {
	f.parkMu.Lock() // once serveRelayed is done with the stream
	stop := f.stopLeave
	f.stopLeave = nil
	f.parkMu.Unlock()
	stop()
	f.metrics.relayed.Dec()
	f.relayEnded()
	f.resume(why)
}

// relayEnded commits the counts of a time on the relay loop, the loop's no more.
func (f *feed) relayEnded() {
	f.lazyCounts = false
	f.commit()
}

// stream hands every event, sanitised and counted, to sink, reconnecting as needed.
// The event is the feed's again once sink.write returns: the sink copies what it
// keeps. It returns the sink's error as soon as a write fails; otherwise it returns
// only when ctx is done or the upstream refuses for good (a final status), or with
// errParked while the stream is on the relay loop (setRelay).
// The sink's methods may run on the upstream connection's own goroutine
// (upstreamConn.each) or the relay loop, one call at a time, never after stream
// has returned, but for errParked.
func (f *feed) stream(ctx context.Context, sink eventSink) error {
	f.sink = sink
	return f.streamFrom(ctx, false, nil)
}

// resumeStream goes on with the stream after a time on the relay loop that freed
// its goroutine (errParked) ended with why, on the goroutine setRelay's resume runs
// on. It returns as stream does, or errParked again.
func (f *feed) resumeStream(ctx context.Context, why error) error {
	return f.streamFrom(ctx, true, f.conn.(relayResumer).resumeRelayed(ctx, why))
}

// relayResumer is an upstream connection whose stream can park on the relay loop.
type relayResumer interface {
	resumeRelayed(ctx context.Context, why error) error
}

// streamFrom is stream, starting, when back, with what the connection's each
// returned: eachErr.
func (f *feed) streamFrom(ctx context.Context, back bool, eachErr error) error {
	for {
		var err error
		if back {
			back, err = false, eachErr
		} else {
			if f.conn == nil {
				if err := f.reconnect(ctx); err != nil {
					return err
				}
			}
			f.sinkErr = nil
			err = f.conn.each(ctx, f)
		}
		if err == errParked {
			return err // nothing may touch the stream: it is resumed elsewhere
		}
		if f.sinkErr != nil {
			f.commit()
			return f.sinkErr
		}
		if errors.Is(err, errClientStuck) {
			f.commit()
			return err
		}
		f.drop(ctx, err)
	}
}

// receive accepts ev and writes it to the sink; false when that failed.
func (f *feed) receive(ev sse.Event) bool {
	f.ev = ev
	f.accept(&f.ev)
	f.sinkErr = f.sink.write(&f.ev)
	f.ev.Data = "" // may share the parser's buffer: not kept past the write
	return f.sinkErr == nil
}

// accept counts ev, drops fields that could forge lines downstream, and commits its id.
func (f *feed) accept(ev *sse.Event) {
	f.inEvents++
	f.inBytes += len(ev.Data)
	var dropped sse.Dropped
	if f.conn.validUTF8() {
		dropped = sse.DropLineBreaks(ev)
	} else {
		dropped = sse.Sanitize(ev)
	}
	if dropped != 0 {
		if dropped&sse.DroppedType != 0 {
			f.metrics.droppedType.Inc()
		}
		if dropped&sse.DroppedID != 0 {
			f.metrics.droppedID.Inc()
			ev.ID = f.lastID
		}
		if !f.warnedDropped { // once per connection: the metrics count every one
			f.warnedDropped = true
			f.warn("dropped event field with CR, LF or NUL; further drops on this connection are only counted", "fields", dropped.String())
		}
	}
	f.lastID = ev.ID
	f.failures = 0
}

// drop closes the current connection after it ended with err.
func (f *feed) drop(ctx context.Context, err error) {
	if !errors.Is(err, errOversize) {
		// Blocks without data commit ids too: resume after those. After an oversize
		// event, resume from the last event delivered so the upstream sends what follows it.
		f.lastID = f.conn.resumeID()
	}
	if d, ok := f.conn.retry(); ok {
		f.delay = d
	}
	f.conn.close()
	f.conn = nil
	if ctx.Err() != nil {
		return
	}
	reason := reasonDropped
	if errors.Is(err, errOversize) {
		reason = reasonOversize
		f.metrics.oversizeUpstream.Inc()
		f.warn("upstream event over max_message; reconnecting from the last good id", "last_id", f.lastID)
	} else {
		f.warn("upstream connection lost; reconnecting", "err", err, "last_id", f.lastID)
	}
	f.metrics.failures.WithLabelValues(reason).Inc()
}

// reconnect waits the reconnection delay and dials until it succeeds, ctx is done,
// or the upstream refuses for good.
func (f *feed) reconnect(ctx context.Context) error {
	f.wait() // what the last connection delivered goes out before the wait
	for {
		wait := f.delay
		if f.failures > 0 {
			wait = backoff(f.delay, f.failures)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		conn, err := f.dial(ctx, f.lastID)
		if err == nil {
			f.use(conn)
			f.metrics.upstreamConnects.Inc()
			f.metrics.upstreamReconnects.Inc()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.failures++
		f.metrics.failures.WithLabelValues(failureReason(err)).Inc()
		var ue *upstreamError
		if errors.As(err, &ue) && ue.final() {
			return err
		}
		f.warn("upstream reconnect failed", "err", err, "attempt", f.failures)
	}
}

// close ends the current upstream connection.
func (f *feed) close() {
	if f.conn != nil {
		f.conn.close()
		f.conn = nil
	}
}

// warn logs msg with the feed's client first, when it has one. The attribute goes
// with each line rather than into a logger of the feed's own (slog's With), which
// every idle stream would hold.
func (f *feed) warn(msg string, args ...any) {
	if f.client != "" {
		args = append([]any{"client", f.client}, args...)
	}
	f.log.Warn(msg, args...)
}

// backoff is base doubled per failure, capped, with full jitter over its upper half
// so that many clients of a restarted upstream do not come back in step.
func backoff(base time.Duration, failures int) time.Duration {
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	d := base
	for i := 0; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}
