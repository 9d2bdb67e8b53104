package bridge

import (
	"net"
	"syscall"
)

// rawSocket is conn's socket for system calls of ssews's own (non-blocking writes,
// peeks, epoll, dup), or nil when conn has none of its own (TLS, another wrapper).
func rawSocket(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
