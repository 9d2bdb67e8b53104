//go:build !linux

package bridge

import (
	"context"

	"github.com/ssews/ssews/sse"
)

// eachRelayed needs the relay loop: elsewhere a WebSocket upstream is read by its
// ws.Conn.
func (u *wsUpstream) eachRelayed(context.Context, func(sse.Event) bool) (bool, error) {
	return false, nil
}
