//go:build unix

package sockio

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxIovecs bounds the buffers of one TryWritev: Linux takes at most 1024 (IOV_MAX).
const maxIovecs = 1024

// TryWritev writes what of bufs the socket takes at once, in order, with one system
// call (send or sendmsg), and returns how many bytes it took, counted across bufs: 0 when it
// takes nothing now (EAGAIN), or when the write fails, which the caller's blocking
// write then reports. A batch of events costs a client one write, not one per
// event. The caller serialises its writes on the connection.
//
// It goes through Control, not RawConn.Write: a write that never waits needs no
// deadline, and RawConn.Write refuses to write at all once a deadline set for the
// connection's blocking writes has passed, however idle the connection has been
// since. And it is a raw system call: the socket never blocks, and a call that
// the runtime sees (syscall.Syscall) lets it hand the caller's processor to
// another thread when the call runs long, as a write to a loopback client does,
// which costs two thread switches for nothing.
func TryWritev(raw syscall.RawConn, bufs [][]byte) int {
	var stack [16]unix.Iovec
	iov := stack[:0]
	for _, b := range bufs[:min(len(bufs), maxIovecs)] {
		if len(b) > 0 {
			v := unix.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
		}
	}
	if len(iov) == 0 {
		return 0
	}
	var n uintptr
	var errno syscall.Errno
	err := raw.Control(func(fd uintptr) {
		if len(iov) == 1 {
			n, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(iov[0].Base)), uintptr(iov[0].Len), sendFlags, 0, 0)
			return
		}
		msg := unix.Msghdr{Iov: &iov[0]}
		msg.SetIovlen(len(iov))
		n, _, errno = unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), sendFlags)
	})
	if err != nil || errno != 0 {
		return 0
	}
	return int(n)
}

// sendFlags: a write never waits, and a peer that has gone is an error (EPIPE),
// not a SIGPIPE for the runtime to field. send and sendmsg, not write and writev,
// because a socket's writes through the file layer cost a little more in the
// kernel, once per event to each client.
const sendFlags = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL

// Readable reports whether a read from fd would not wait: bytes, end of stream or
// an error are there. It peeks, so nothing is taken from the socket. As the f of
// RawConn.Read, it waits (within the read deadline) until the socket is readable.
func Readable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EINTR
}
