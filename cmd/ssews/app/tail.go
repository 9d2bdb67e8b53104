package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ssews/ssews/sse"
)

const (
	// tailDefaultRetry is EventSource's reconnection time until the stream sets one.
	tailDefaultRetry = 3 * time.Second
	// tailMaxEvent bounds one SSE line or event, or one WebSocket message. Browsers
	// set no limit; tail needs one so that a broken stream cannot exhaust memory,
	// and a debugging tool should show events far larger than any proxy allows.
	tailMaxEvent = 64 << 20
	// tailConnectTimeout bounds a dial plus the response headers or the WebSocket
	// handshake, as SSEWS_UPSTREAM_TIMEOUT does for the proxy by default.
	tailConnectTimeout = 10 * time.Second
)

// tailSource opens connections to one endpoint: SSE or WebSocket.
type tailSource interface {
	// connect opens a connection, resuming after lastID when it is not empty. Its
	// errors are *tailEnd.
	connect(ctx context.Context, lastID string) (tailStream, error)
	// close releases what connections left behind, such as idle keep-alive ones.
	close()
}

// tailStream is one open connection.
type tailStream interface {
	// next returns the next event; its errors are *tailEnd.
	next() (sse.Event, error)
	// lastEventID is the id to resume from, as EventSource's lastEventId.
	lastEventID() string
	// retry is the reconnection time the stream set, if any.
	retry() (time.Duration, bool)
	close()
}

// tailEnd is how a connection attempt or a stream ended, and what that means for
// the reconnect loop.
type tailEnd struct {
	err error
	// stop: reconnecting cannot help. Either the server said it is done (204, or a
	// WebSocket close 1000), or the same failure would come back.
	stop bool
	// clean: an orderly end rather than a failure; tail exits 0 when it stops here.
	clean bool
}

func (e *tailEnd) Error() string { return e.err.Error() }
func (e *tailEnd) Unwrap() error { return e.err }

// The four kinds of end.
func endLost(err error) *tailEnd     { return &tailEnd{err: err} }
func endEnded(err error) *tailEnd    { return &tailEnd{err: err, clean: true} }
func endFatal(err error) *tailEnd    { return &tailEnd{err: err, stop: true} }
func endFinished(err error) *tailEnd { return &tailEnd{err: err, stop: true, clean: true} }

// tail is `ssews tail URL`: it prints every event of an SSE or WebSocket endpoint,
// reconnecting as EventSource does, until the stream stops or ctx ends.
func tail(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) int {
	opts, err := parseTailArgs(args)
	switch {
	case errors.Is(err, errTailHelp):
		tailUsage(stdout)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "ssews tail: %v\n%s\n", err, tailHint)
		return exitConfig
	}
	mode := tailModeText
	switch {
	case opts.json:
		mode = tailModeJSON
	case opts.raw:
		mode = tailModeRaw
	}
	var raw io.Writer
	if opts.raw {
		raw = stdout
	}
	var src tailSource
	if opts.webSocket() {
		src = newTailWSSource(opts, raw)
	} else {
		src = newTailSSESource(opts, raw)
	}
	t := &tailer{
		src:         src,
		out:         newTailPrinter(stdout, mode, mode == tailModeText && tailUseColour(stdout, env)),
		stderr:      stderr,
		noReconnect: opts.noReconnect,
		lastID:      opts.lastEventID,
		retry:       tailDefaultRetry,
	}
	defer src.close()
	return t.run(ctx)
}

// tailer is the reconnect loop: EventSource's "reestablish the connection".
type tailer struct {
	src         tailSource
	out         *tailPrinter
	stderr      io.Writer
	noReconnect bool
	lastID      string        // sent as Last-Event-ID on the next connection
	retry       time.Duration // the stream's reconnection time, kept across connections
	// connected is set by the first connection that opens. Until then a failure is
	// reported, not retried: the URL or the server is most likely wrong.
	connected bool
}

// run connects, prints, and reconnects until the stream stops, and returns the exit
// status: 0 for a clean end or ctx done, 1 for an error.
func (t *tailer) run(ctx context.Context) int {
	for {
		end := t.once(ctx)
		if ctx.Err() != nil {
			return exitOK
		}
		if end.stop || t.noReconnect || !t.connected {
			return t.stop(end)
		}
		fmt.Fprintf(t.stderr, "ssews tail: %v; reconnecting in %s%s\n", end, t.retry, t.resumeNote())
		timer := time.NewTimer(t.retry)
		select {
		case <-ctx.Done():
			timer.Stop()
			return exitOK
		case <-timer.C:
		}
	}
}

// stop reports why tail stops, unless the user asked for it with --no-reconnect and
// the stream ended well, and returns the exit status.
func (t *tailer) stop(end *tailEnd) int {
	if !end.clean {
		fmt.Fprintf(t.stderr, "ssews tail: %v\n", end)
		return exitError
	}
	if !t.noReconnect {
		fmt.Fprintf(t.stderr, "ssews tail: %v; not reconnecting\n", end)
	}
	return exitOK
}

// once runs one connection to its end, printing its events.
func (t *tailer) once(ctx context.Context) *tailEnd {
	st, err := t.src.connect(ctx, t.lastID)
	if err != nil {
		return asTailEnd(err)
	}
	defer st.close()
	t.connected = true
	for {
		ev, err := st.next()
		t.lastID = st.lastEventID()
		if d, ok := st.retry(); ok {
			t.retry = d
		}
		if err != nil {
			return asTailEnd(err)
		}
		if err := t.out.event(&ev); err != nil {
			return endFatal(fmt.Errorf("write output: %w", err))
		}
	}
}

func (t *tailer) resumeNote() string {
	if t.lastID == "" {
		return ""
	}
	return fmt.Sprintf(" (Last-Event-ID: %s)", appendTailEscaped(nil, t.lastID))
}

func asTailEnd(err error) *tailEnd {
	var end *tailEnd
	if errors.As(err, &end) {
		return end
	}
	return endLost(err)
}
