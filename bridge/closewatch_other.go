//go:build !linux

package bridge

import "net"

// closeWatcher is a goroutine per connection where epoll is not available.
type closeWatcher struct{ spawn func(func()) }

func newCloseWatcher(spawn func(func())) (*closeWatcher, error) {
	return &closeWatcher{spawn: spawn}, nil
}

// watch calls gone (on a goroutine of spawn) once conn's peer hangs up.
func (w *closeWatcher) watch(conn net.Conn, gone func()) (stop func()) {
	w.spawn(func() { watchByRead(conn, gone) })
	return func() {}
}

// waitReadable cannot take a WebSocket reader's wait over here: it waits itself.
func (w *closeWatcher) waitReadable(net.Conn, func()) (stop func(), ok bool) { return nil, false }

func (w *closeWatcher) close() {}
