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

func (w *closeWatcher) close() {}
