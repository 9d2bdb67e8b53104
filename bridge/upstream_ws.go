package bridge

import (
	"context"
	"errors"
	"net/http"
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
	// last is the message the last event came from (shared WS-to-WS fan-out).
	last *ws.Message
}

// dialWSUpstream opens a WebSocket upstream connection for cr, resuming after lastID
// through the route's resume parameter. subprotocols are offered as the client
// offered them (proxy path only).
func dialWSUpstream(ctx context.Context, dialer *websocket.Dialer, cr *clientRequest, lastID string, subprotocols []string) (*websocket.Conn, error) {
	u := upstreamURLWithResume(cr.upstream, cr.route.ResumeParam, lastID)
	h := cr.header.Clone()
	d := *dialer
	d.Subprotocols = subprotocols
	conn, resp, err := d.DialContext(ctx, u.String(), h)
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
	u.last = &m
	return u.reader.Event(m), nil
}

func (u *wsUpstream) setWaitHook(hook func())      { u.hook = hook }
func (u *wsUpstream) resumeID() string             { return u.reader.LastID() }
func (u *wsUpstream) retry() (time.Duration, bool) { return u.reader.Retry() }
func (u *wsUpstream) close()                       { _ = u.conn.Close(websocket.CloseNormalClosure, "") }
