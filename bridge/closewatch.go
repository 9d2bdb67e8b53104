package bridge

import "net"

// A shared EventSource client is only ever written to: after its request it sends
// nothing, and the one thing to hear from it is that it hung up. watchClosed tells
// its session so (gone), and the returned stop ends the watch; call stop before
// closing conn. Where the platform allows (closewatch_linux.go), one epoll instance
// per server watches every such connection, so an idle client costs no goroutine;
// elsewhere, and for connections without a file descriptor of their own (TLS), a
// goroutine per connection waits in a one-byte read.

// watchByRead calls gone once conn reads EOF or fails: the client left, or its
// session closed conn. It reads one byte at a time into the stack: an EventSource
// client sends nothing more, so the read just waits.
func watchByRead(conn net.Conn, gone func()) {
	var b [1]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			gone()
			return
		}
	}
}
