package bridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// wsUpstream is an open WebSocket upstream read as events (SPEC section 4). Its
// connection's reader goroutine translates each message and hands the event on
// itself (each), so an event costs no hand-over to another goroutine; messages that
// arrive before each starts wait for it, which holds the upstream back meanwhile.
type wsUpstream struct {
	// conn is made from dialed, with opts, when each first runs unless the
	// stream goes to the relay loop (relayTo): gorilla reads nothing before.
	conn   *ws.Conn
	dialed *websocket.Conn
	opts   ws.Options
	// loop, out and feed are set by relayTo; rr reads the stream while it is
	// on the loop.
	loop   *relayLoop
	out    relayOut
	feed   *feed
	rr     *wsRelayReader
	reader MessageReader
	// started is closed when each starts, or when the connection is closed first.
	started   chan struct{}
	startOnce sync.Once

	// mu is held while a callback runs on the reader goroutine, so that each, once
	// it has set stopped, knows none runs any more: what the callbacks touched is
	// then the caller's again.
	mu      sync.Mutex
	to      eventReceiver
	waiter  waiter
	stopped bool
	refused chan struct{} // closed when to.receive returned false
	// last is the message the last event came from (shared WS-to-WS fan-out),
	// kept by value: per-client streams never look at it.
	last ws.Message
}

// dialWSUpstream opens a WebSocket upstream connection for cr, resuming after lastID
// through the route's resume parameter. subprotocols are offered as the client
// offered them (proxy path only).
//
// With takeable, a plain ws:// connection is recorded during the handshake
// (headConn), so that a relay (wsTunnel, a relayed wsUpstream) can take it over.
func dialWSUpstream(ctx context.Context, dialer *websocket.Dialer, cr *clientRequest, lastID string, subprotocols []string, takeable bool) (*websocket.Conn, error) {
	u := upstreamURLWithResume(cr.upstream, cr.route.ResumeParam, lastID)
	h := cr.header.Clone()
	d := *dialer
	d.Subprotocols = subprotocols
	// gorilla reads the handshake response under its own deadline only; a client that
	// leaves, or shutdown, must not wait for it. The dial records its connection, and
	// ctx ending first cuts the read short.
	dialed := &dialedConn{record: takeable && u.Scheme == "ws"}
	stop := context.AfterFunc(ctx, dialed.abort)
	conn, resp, err := d.DialContext(context.WithValue(ctx, dialedKey{}, dialed), u.String(), h)
	if !stop() && err == nil {
		conn.Close()
		return nil, transportError("ws upstream", ctx.Err())
	}
	if err != nil {
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			if resp.Body != nil {
				drainAndClose(resp.Body)
			}
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				// A 2xx other than 101 is no WebSocket: a gateway error, not a status to pass on.
				return nil, &upstreamError{status: http.StatusBadGateway, reason: reasonProtocol, err: err}
			}
			return nil, statusError("ws upstream", resp.StatusCode)
		}
		return nil, transportError("ws upstream", err)
	}
	if hc, ok := dialed.conn.(*headConn); ok {
		hc.endRecording()
	}
	return conn, nil
}

// dialWS returns a dialFunc that reads a WebSocket upstream as events.
func dialWS(dialer *websocket.Dialer, cr *clientRequest, opts ws.Options) dialFunc {
	return func(ctx context.Context, lastID string) (upstreamConn, error) {
		conn, err := dialWSUpstream(ctx, dialer, cr, lastID, nil, true)
		if err != nil {
			return nil, err
		}
		u := &wsUpstream{
			dialed:  conn,
			opts:    opts,
			reader:  *NewMessageReader(cr.route.Format, cr.route.BinaryEvent, lastID),
			started: make(chan struct{}),
			refused: make(chan struct{}),
		}
		return u, nil
	}
}

// onMessage hands m's event to each's receiver, on the reader goroutine.
func (u *wsUpstream) onMessage(m ws.Message) {
	<-u.started
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stopped {
		return
	}
	u.last = m
	if !u.to.receive(u.reader.Event(m)) {
		u.stopped = true
		close(u.refused)
	}
}

// onWait tells the waiter while each runs: the reader is about to wait on the
// network, so what was read so far goes out.
func (u *wsUpstream) onWait() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.to != nil && !u.stopped && u.waiter != nil {
		u.waiter.wait()
	}
}

// relayTo lets each read the stream on loop while out keeps up with it.
func (u *wsUpstream) relayTo(loop *relayLoop, out relayOut, f *feed) {
	u.loop, u.out, u.feed = loop, out, f
}

// open wraps the dialled connection, which starts its reader.
func (u *wsUpstream) open() {
	if u.conn == nil {
		u.opts.OnMessage, u.opts.OnWait = u.onMessage, u.onWait
		u.conn = ws.New(u.dialed, u.opts)
		u.dialed = nil
	}
}

func (u *wsUpstream) each(ctx context.Context, to eventReceiver) error {
	if u.conn == nil && u.loop != nil && u.out != nil {
		if done, err := u.eachRelayed(ctx, to); done {
			return err
		}
	}
	u.open()
	u.mu.Lock()
	u.to = to
	u.mu.Unlock()
	u.startOnce.Do(func() { close(u.started) })
	var err error
	select {
	case <-u.refused:
	case <-ctx.Done():
		err = ctx.Err()
	case <-u.conn.Done():
		switch err = u.conn.Err(); {
		case errors.Is(err, websocket.ErrReadLimit):
			err = errOversize
		case err == nil:
			err = ws.ErrClosed
		}
	}
	u.stop()
	return err
}

// stop ends the callbacks: it returns once none runs, and none runs after it.
func (u *wsUpstream) stop() {
	u.mu.Lock()
	u.stopped = true
	u.mu.Unlock()
	u.startOnce.Do(func() { close(u.started) })
}

func (u *wsUpstream) setWaiter(w waiter) {
	u.mu.Lock()
	u.waiter = w
	u.mu.Unlock()
}

func (u *wsUpstream) validUTF8() bool              { return false } // text frames may hold anything
func (u *wsUpstream) resumeID() string             { return u.reader.LastID() }
func (u *wsUpstream) retry() (time.Duration, bool) { return u.reader.Retry() }

func (u *wsUpstream) close() {
	u.stop() // messages that come while the close completes are dropped
	switch {
	case u.conn != nil:
		_ = u.conn.Close(websocket.CloseNormalClosure, "")
	case u.dialed != nil:
		u.dialed.NetConn().Close()
	}
}

// dialedKey carries a *dialedConn to trackingDial through gorilla's dial context.
type dialedKey struct{}

// dialedConn is the network connection of a WebSocket dial under way.
type dialedConn struct {
	mu      sync.Mutex
	conn    net.Conn
	aborted bool
	// record: the connection is dialled as a headConn, for a relay that may take
	// it over after the handshake (wsTunnel).
	record bool
}

// abort makes the dial's pending read or write fail at once.
func (d *dialedConn) abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.aborted = true
	if d.conn != nil {
		_ = d.conn.SetDeadline(longAgo)
	}
}

func (d *dialedConn) set(c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conn = c
	if d.aborted {
		_ = c.SetDeadline(longAgo)
	}
}

// trackingDial dials as nd does and records the connection for dialWSUpstream.
func trackingDial(nd *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := nd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if d, ok := ctx.Value(dialedKey{}).(*dialedConn); ok {
			if tc, isTCP := c.(*net.TCPConn); isTCP && d.record {
				c = &headConn{TCPConn: tc, recording: true}
			}
			d.set(c)
		}
		return c, nil
	}
}

// headConn records what a WebSocket dial reads, so that what gorilla's reader took
// past the handshake's response is known (rest) to a relay that takes the socket
// over from gorilla: gorilla gives no access to its buffer.
type headConn struct {
	*net.TCPConn
	recording bool
	rec       []byte
	// after is what came after the 101 answer (endRecording); ok, that it is known.
	after   []byte
	afterOK bool
}

func (c *headConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if c.recording {
		c.rec = append(c.rec, p[:n]...)
	}
	return n, err
}

// endRecording stops the recording once the handshake is over and keeps what was
// read after the 101 answer (a proxy's CONNECT answer may come before it).
func (c *headConn) endRecording() {
	c.recording = false
	rec := bytes.NewReader(c.rec)
	br := headReaders.Get().(*bufio.Reader) // lent: read only here
	br.Reset(rec)
	defer func() {
		br.Reset(nil)
		headReaders.Put(br)
	}()
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			c.rec = nil
			return
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	n := br.Buffered() + rec.Len()
	c.after, c.afterOK = bytes.Clone(c.rec[len(c.rec)-n:]), true
	c.rec = nil
}

// rest returns what was read after the 101 answer, once, for a relay that takes
// the connection over: gorilla's reader holds it, and has read nothing since. false
// when it cannot be told.
func (c *headConn) rest() ([]byte, bool) {
	rest, ok := c.after, c.afterOK
	c.after, c.afterOK = nil, false
	return rest, ok
}
