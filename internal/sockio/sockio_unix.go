//go:build unix

package sockio

import "syscall"

// TryWrite writes what of p the socket takes at once and returns how much: 0 when
// it takes nothing now (EAGAIN), or when the write fails, which the caller's
// blocking write then reports. The caller serialises its writes on the connection.
//
// It goes through Control, not RawConn.Write: a write that never waits needs no
// deadline, and RawConn.Write refuses to write at all once a deadline set for the
// connection's blocking writes has passed, however idle the connection has been
// since.
func TryWrite(raw syscall.RawConn, p []byte) int {
	n := 0
	err := raw.Control(func(fd uintptr) {
		n, _ = syscall.Write(int(fd), p)
	})
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// Readable reports whether a read from fd would not wait: bytes, end of stream or
// an error are there. It peeks, so nothing is taken from the socket. As the f of
// RawConn.Read, it waits (within the read deadline) until the socket is readable.
func Readable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EINTR
}
