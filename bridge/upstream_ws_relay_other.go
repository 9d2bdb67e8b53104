//go:build !linux

package bridge

import "context"

// eachRelayed needs the relay loop: elsewhere a WebSocket upstream is read by its
// ws.Conn.
func (u *wsUpstream) eachRelayed(context.Context, eventReceiver) (bool, error) {
	return false, nil
}

// wsRelayReader reads a WebSocket upstream on the relay loop, which needs epoll.
type wsRelayReader struct{}
