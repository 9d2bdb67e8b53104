package bridge

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

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
	// onWait runs each time the upstream is about to wait (setWaitHook), after the
	// counts of the events read since the last wait go to the metrics: an event
	// costs no shared counter of its own.
	onWait func()
	waited func() // f.wait, installed on every upstream connection
	// onCommit, when set, runs with every commit of the counts (setCommitHook).
	onCommit func()
	// lazyCounts: commit is called by the relay loop's ticks, not at every wait,
	// so that a stream on the loop does not touch the metrics' shared counters
	// once per event.
	lazyCounts bool
	inEvents   int
	inBytes    int
	// warnedDropped: a dropped field was logged for the current connection.
	warnedDropped bool
	// ev is the event emit is given (stream): a field, as a pointer to a local
	// would make every event an allocation.
	ev sse.Event
	// emit is stream's, and emitErr what it last returned; delivered, f.deliver
	// made once, hands each event of the connection to it.
	emit      func(*sse.Event) error
	emitErr   error
	delivered func(sse.Event) bool
	// onConnect, when set, learns of every new upstream connection.
	onConnect func(upstreamConn)
	// relay and relayOut, when set, let connections that can be read from the
	// relay loop be (setRelay).
	relay    *relayLoop
	relayOut relayOut
	metrics  *routeMetrics
	log      *slog.Logger
	// client is the address of the feed's one client, for its log lines; empty for
	// a shared stream's feed.
	client string
}

func newFeed(dial dialFunc, lastID string, delay time.Duration, rm *routeMetrics, log *slog.Logger) *feed {
	f := &feed{dial: dial, lastID: lastID, delay: delay, metrics: rm, log: log}
	f.waited = f.wait
	f.delivered = f.deliver
	return f
}

// wait is the upstream connection's wait hook: the counts, then onWait.
func (f *feed) wait() {
	if !f.lazyCounts {
		f.commit()
	}
	if f.onWait != nil {
		f.onWait()
	}
}

// commit adds the counts so far to the metrics: the feed's, then onCommit's.
func (f *feed) commit() {
	f.commitCounts()
	if f.onCommit != nil {
		f.onCommit()
	}
}

// setCommitHook makes hook run with every commit of the counts: the writer's
// counts go with the feed's.
func (f *feed) setCommitHook(hook func()) { f.onCommit = hook }

// commitCounts adds the events read since the last commit to the metrics.
func (f *feed) commitCounts() {
	if f.inEvents == 0 {
		return
	}
	f.metrics.eventsIn.Add(float64(f.inEvents))
	f.metrics.bytesIn.Add(float64(f.inBytes))
	f.inEvents, f.inBytes = 0, 0
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
	conn.setWaitHook(f.waited)
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

// setWaitHook installs hook on this and every later upstream connection.
func (f *feed) setWaitHook(hook func()) {
	f.onWait = hook
	if f.conn != nil {
		f.conn.setWaitHook(f.waited)
	}
}

// setRelay lets this and every later upstream connection that can be read from
// loop be, while out keeps up with it.
func (f *feed) setRelay(loop *relayLoop, out relayOut) {
	f.relay, f.relayOut = loop, out
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

// serveRelayed puts r, one of this feed's connections, on loop and waits while it
// is served there: until it leaves (why, told on left), or ctx is done, which makes
// it leave; errRelayClosed when the loop did not take it. Meanwhile the counts are
// committed on the loop's ticks (r's onTick calls commit), and all of them once r
// is back.
func (f *feed) serveRelayed(ctx context.Context, loop *relayLoop, r *relayed, left <-chan error) (why error) {
	f.lazyCounts = true // before the loop may read it
	defer func() {
		f.lazyCounts = false
		f.commit()
	}()
	if !loop.add(r) {
		return errRelayClosed
	}
	f.metrics.relayed.Inc()
	defer f.metrics.relayed.Dec()
	select {
	case why = <-left:
	case <-ctx.Done():
		loop.leave(r)
		why = <-left
	}
	return why
}

// stream hands every event, sanitised and counted, to emit, reconnecting as needed.
// The event is the feed's until emit returns: emit copies what it keeps.
// It returns emit's error as soon as emit fails; otherwise it returns only when ctx
// is done or the upstream refuses for good (a final status). emit and the wait hook
// may run on the upstream connection's own goroutine (upstreamConn.each), one call
// at a time, never after stream has returned.
func (f *feed) stream(ctx context.Context, emit func(*sse.Event) error) error {
	for {
		if f.conn == nil {
			if err := f.reconnect(ctx); err != nil {
				return err
			}
		}
		f.emit, f.emitErr = emit, nil
		err := f.conn.each(ctx, f.delivered)
		if f.emitErr != nil {
			f.commit()
			return f.emitErr
		}
		if errors.Is(err, errClientStuck) {
			f.commit()
			return err
		}
		f.drop(ctx, err)
	}
}

// deliver accepts ev and hands it to emit; false when emit failed.
func (f *feed) deliver(ev sse.Event) bool {
	f.ev = ev
	f.accept(&f.ev)
	f.emitErr = f.emit(&f.ev)
	return f.emitErr == nil
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
