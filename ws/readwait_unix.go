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
