package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"time"

	"github.com/ssews/ssews/sse"
)

// sseUpstream is an open text/event-stream response, parsed as it arrives.
type sseUpstream struct {
	// parser reads wait, which reads the body. Both are part of the stream, not
	// objects of their own: an event on the relay loop touches one stream's
	// memory in fewer places.
	parser  sse.Parser
	wait    waitReader
	cancel  context.CancelFunc
	release func() // lets the response go (sseClient.do)
	// body is the response's body when it is read from a socket of ssews's own,
	// which the relay loop can read; loop and out are set by relayTo.
	body *streamBody
	loop *relayLoop
	out  relayOut
	feed *feed
	// to takes the events (each). On the relay loop, stopped says to.receive
	// returned false or the stream failed (stopErr).
	to      eventReceiver
	stopped bool
	stopErr error
	// sinkWarmer is the feed's sink, when it can warm (relayWarm).
	sinkWarmer warmer
}

// relayOut is a client writer that a stream in the relay loop can write without
// waiting (sseResponse on a taken-over connection).
type relayOut interface {
	// startRelay makes flushes write what the client takes at once and keep the
	// rest (behind); onBehind runs when a write from outside the loop left some.
	// false when the writer cannot.
	startRelay(onBehind func(), loop *relayLoop) bool
	behind() bool
	// stopRelay makes flushes wait again.
	stopRelay()
	// socket is the client's descriptor while relayed, -1 when it has none of
	// its own.
	socket() int
}

// dialSSE returns a dialFunc for an SSE upstream. The request carries the client's
// forwarded headers and, when resuming, Last-Event-ID, as a browser's EventSource
// sends it on reconnect. With reuseData, an event's Data is valid only while it is
// handed on (sse.Parser.ReuseData), for a sink that keeps none.
func dialSSE(client *sseClient, cr *clientRequest, maxSize int, reuseData bool) dialFunc {
	return func(ctx context.Context, lastID string) (upstreamConn, error) {
		ctx, cancel := context.WithCancel(ctx)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cr.upstream.String(), nil)
		if err != nil {
			cancel()
			return nil, &upstreamError{status: http.StatusBadGateway, reason: reasonUnreachable, err: err}
		}
		maps.Copy(req.Header, cr.header)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Cache-Control", "no-cache")
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, release, err := client.do(req)
		if err != nil {
			cancel()
			return nil, transportError("sse upstream", err)
		}
		// An answer that is no stream is not read: its connection goes (an error
		// body is not worth waiting for, however slowly the upstream sends it).
		if resp.StatusCode < 200 || resp.StatusCode > 299 || resp.StatusCode == http.StatusNoContent {
			cancel()
			release()
			return nil, statusError("sse upstream", resp.StatusCode)
		}
		if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/event-stream" {
			cancel()
			release()
			return nil, &upstreamError{status: http.StatusBadGateway, reason: reasonContentType,
				err: fmt.Errorf("sse upstream: content type %q is not text/event-stream", resp.Header.Get("Content-Type"))}
		}
		body, _ := resp.Body.(*streamBody)
		u := &sseUpstream{cancel: cancel, release: release, body: body}
		u.wait.r = resp.Body
		u.parser.Reset(&u.wait, maxSize)
		if reuseData {
			u.parser.ReuseData()
		}
		// Browsers seed a reconnected stream with the id they resume from, so events
		// without id: keep it rather than reset it.
		u.parser.SetLastEventID(lastID)
		return u, nil
	}
}

// relayTo lets each hand the stream to loop while out keeps up with it.
func (u *sseUpstream) relayTo(loop *relayLoop, out relayOut, f *feed) {
	if u.body != nil {
		u.loop, u.out, u.feed = loop, out, f
	}
}

// each reads the stream: on the relay loop while it can (relayTo), else on the
// caller's goroutine. The waiter is told before each read of the body. A done ctx
// ends the read, as the request's context.
func (u *sseUpstream) each(ctx context.Context, to eventReceiver) error {
	u.to = to
	return u.eachFrom(ctx, false, nil)
}

// resumeRelayed goes on reading the stream after a time on the relay loop that
// freed its goroutine (errParked) ended with why, on the goroutine that resumes it.
func (u *sseUpstream) resumeRelayed(ctx context.Context, why error) error {
	return u.eachFrom(ctx, true, why)
}

// eachFrom is each, starting, when back, with the end of a time on the relay loop
// that ended with why. It returns errParked, and nothing touches the stream any
// more, when the stream went back to the loop and freed the goroutine.
func (u *sseUpstream) eachFrom(ctx context.Context, back bool, why error) error {
	for {
		if back || (u.loop != nil && u.out != nil) {
			var entered, done bool
			var err error
			if back {
				back = false
				entered, done, err = u.afterRelay(ctx, why)
			} else {
				entered, done, err = u.eachRelayed(ctx)
			}
			if done {
				return err
			}
			if entered {
				// Back for a slow client: once it has caught up and the
				// upstream pauses, the stream goes back to the loop.
				u.wait.rejoin = u.mayRejoin
			} else {
				u.loop = nil // it never can
			}
		}
		err := u.eachHere()
		if err != sse.ErrWouldBlock {
			return err
		}
		u.wait.rejoin = nil
	}
}

// mayRejoin reports whether a stream that left the relay loop can go back: its
// client has taken everything, and nothing of the upstream's is waiting.
func (u *sseUpstream) mayRejoin() bool {
	return !u.out.behind() && u.body.idle()
}

// eachHere reads the stream on the caller's goroutine.
func (u *sseUpstream) eachHere() error {
	for {
		ev, err := u.parser.Next()
		if errors.Is(err, sse.ErrTooLong) {
			return errOversize
		}
		if err != nil {
			return err
		}
		if !u.to.receive(ev) {
			return nil
		}
	}
}

// eachRelayed hands the stream's socket to the relay loop, which parses what it
// reads and hands the events on there (relayData), and returns errParked: the
// stream comes back (afterRelay, on a goroutine of its own) when ctx is done,
// to.receive returns false, the event is over size, the client falls behind or the
// socket ends. done is false when the stream goes on here (eachHere): it could not
// enter the loop (entered is false), or came back for a wait (a slow client).
func (u *sseUpstream) eachRelayed(ctx context.Context) (entered, done bool, err error) {
	// A socket in the loop of its own each time: a leave asked for an earlier
	// time there must not find this one.
	r := &relayed{h: u}
	if !u.out.startRelay(func() { u.loop.leave(r) }, u.loop) {
		return false, false, nil
	}
	fd, ok := u.body.takeSocket()
	if !ok {
		u.out.stopRelay()
		return false, false, nil
	}
	r.fd = fd
	u.stopped, u.stopErr = false, nil
	u.sinkWarmer, _ = u.feed.sink.(warmer)
	// What was read with the response head goes first, from here.
	if more, err := u.pump(); !more {
		u.stopped, u.stopErr = true, err
	}
	var why error
	if !u.stopped && !u.out.behind() {
		why = u.feed.serveRelayed(ctx, u.loop, r)
		if why == errParked {
			return true, true, errParked
		}
	}
	return u.afterRelay(ctx, why)
}

// afterRelay takes the stream back from the relay loop, which it left with why.
func (u *sseUpstream) afterRelay(ctx context.Context, why error) (entered, done bool, err error) {
	if why == errLeaveAsked || why == errRelayClosed {
		why = nil // the socket is still good
	}
	u.body.returnSocket(why)
	u.out.stopRelay()
	switch {
	case u.stopped:
		return true, true, u.stopErr
	case ctx.Err() != nil:
		return true, true, ctx.Err()
	}
	return true, false, nil
}

// relayData, relayLeft, relayWritable and relayTick make the stream the handler of
// its socket in the relay loop: relayData parses what the loop read.
func (u *sseUpstream) relayData(b []byte) bool {
	u.body.feed(b)
	if more, err := u.pump(); !more {
		u.stopped, u.stopErr = true, err
		return false
	}
	return !u.out.behind()
}

func (u *sseUpstream) relayLeft(why error) { u.feed.relayLeft(why) }

// relayWarm reads the stream's parser, body, feed and writer (relayLoop.warm).
func (u *sseUpstream) relayWarm() uintptr {
	b, f := u.body, u.feed
	sum := uintptr(u.parser.Buffered()) + uintptr(len(u.parser.LastEventID())) +
		uintptr(len(b.pending)) + uintptr(b.left) + f.warm()
	if u.sinkWarmer != nil {
		sum += u.sinkWarmer.warm()
	}
	return sum
}
func (u *sseUpstream) relayWritable()      {}
func (u *sseUpstream) relayTick(time.Time) {}

// pump hands u.to the events of the bytes the relay loop gave the body. more is
// true when they are used up; otherwise to.receive returned false (err nil) or the
// stream failed.
func (u *sseUpstream) pump() (more bool, err error) {
	for {
		ev, err := u.parser.Next()
		switch {
		case err == sse.ErrWouldBlock:
			return true, nil
		case errors.Is(err, sse.ErrTooLong):
			return false, errOversize
		case err != nil:
			return false, err
		}
		if !u.to.receive(ev) {
			return false, nil
		}
	}
}

func (u *sseUpstream) setWaiter(w waiter) { u.wait.waiter = w }
func (u *sseUpstream) validUTF8() bool    { return true }
func (u *sseUpstream) resumeID() string   { return u.parser.LastEventID() }

func (u *sseUpstream) retry() (time.Duration, bool) {
	ms, ok := u.parser.Retry()
	return sse.RetryDuration(ms), ok
}

func (u *sseUpstream) close() {
	u.cancel()
	u.release()
}

// drainAndClose reads a little of an unwanted body so the connection can be reused.
func drainAndClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 4<<10)
	body.Close()
}

// waitReader tells its waiter before each read of the upstream body: the parser
// reads only when it has no complete event left, so that is when the events so far
// must go out. Then, when rejoin says so, it answers sse.ErrWouldBlock instead of
// reading, for the stream to go back to the relay loop.
type waitReader struct {
	r      io.Reader
	waiter waiter
	rejoin func() bool
}

func (w *waitReader) Read(p []byte) (int, error) {
	if w.waiter != nil {
		w.waiter.wait()
	}
	if w.rejoin != nil && w.rejoin() {
		return 0, sse.ErrWouldBlock
	}
	return w.r.Read(p)
}
