//go:build unix

package ws

import "syscall"

// readable reports whether a read from fd would not block: bytes, end of stream
// or an error wait there. It peeks, so nothing is taken from the socket.
func readable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EINTR
}

// tryWrite writes what of p the socket takes without waiting, and returns how
// much: 0 when it takes nothing now (EAGAIN) or the write failed, which the
// blocking write that follows reports.
func tryWrite(raw syscall.RawConn, p []byte) int {
	n := 0
	err := raw.Write(func(fd uintptr) bool {
		n, _ = syscall.Write(int(fd), p)
		return true // never wait for the socket here
	})
	if err != nil || n < 0 {
		return 0
	}
	return n
}
