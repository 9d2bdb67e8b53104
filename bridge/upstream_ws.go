package bridge

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/sse"
	"github.com/ssews/ssews/ws"
)

// wsUpstream is an open WebSocket upstream read as events (SPEC section 4).
type wsUpstream struct {
	conn   *ws.Conn
	reader *MessageReader
	hook   func()
	// last is the message the last event came from (shared WS-to-WS fan-out),
	// kept by value: per-client streams never look at it.
	last ws.Message
}

// dialWSUpstream opens a WebSocket upstream connection for cr, resuming after lastID
// through the route's resume parameter. subprotocols are offered as the client
// offered them (proxy path only).
func dialWSUpstream(ctx context.Context, dialer *websocket.Dialer, cr *clientRequest, lastID string, subprotocols []string) (*websocket.Conn, error) {
	u := upstreamURLWithResume(cr.upstream, cr.route.ResumeParam, lastID)
	h := cr.header.Clone()
	d := *dialer
	d.Subprotocols = subprotocols
	// gorilla reads the handshake response under its own deadline only; a client that
	// leaves, or shutdown, must not wait for it. The dial records its connection, and
	// ctx ending first cuts the read short.
	dialed := &dialedConn{}
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
	return conn, nil
}

// dialWS returns a dialFunc that reads a WebSocket upstream as events.
func dialWS(dialer *websocket.Dialer, cr *clientRequest, opts ws.Options) dialFunc {
	return func(ctx context.Context, lastID string) (upstreamConn, error) {
		conn, err := dialWSUpstream(ctx, dialer, cr, lastID, nil)
		if err != nil {
			return nil, err
		}
		return &wsUpstream{
			conn:   ws.New(conn, opts),
			reader: NewMessageReader(cr.route.Format, cr.route.BinaryEvent, lastID),
		}, nil
	}
}

func (u *wsUpstream) next(ctx context.Context) (sse.Event, error) {
	if u.hook != nil && u.conn.Buffered() == 0 {
		u.hook() // about to wait on the network: what was read so far goes out
	}
	m, err := u.conn.Read(ctx)
	if err != nil {
		if errors.Is(err, websocket.ErrReadLimit) {
			return sse.Event{}, errOversize
		}
		return sse.Event{}, err
	}
	u.last = m
	return u.reader.Event(m), nil
}

func (u *wsUpstream) setWaitHook(hook func())      { u.hook = hook }
func (u *wsUpstream) resumeID() string             { return u.reader.LastID() }
func (u *wsUpstream) retry() (time.Duration, bool) { return u.reader.Retry() }
func (u *wsUpstream) close()                       { _ = u.conn.Close(websocket.CloseNormalClosure, "") }

// dialedKey carries a *dialedConn to trackingDial through gorilla's dial context.
type dialedKey struct{}

// dialedConn is the network connection of a WebSocket dial under way.
type dialedConn struct {
	mu      sync.Mutex
	conn    net.Conn
	aborted bool
}

// abort makes the dial's pending read or write fail at once.
func (d *dialedConn) abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.aborted = true
	if d.conn != nil {
		_ = d.conn.SetDeadline(time.Unix(1, 0))
	}
}

func (d *dialedConn) set(c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conn = c
	if d.aborted {
		_ = c.SetDeadline(time.Unix(1, 0))
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
			d.set(c)
		}
		return c, nil
	}
}
