//go:build unix

package bridge

import "syscall"

// tryWrite writes what of b the socket takes without waiting, and returns how much:
// 0 when it takes nothing now (EAGAIN) or the write failed, which the blocking write
// that follows will report.
func tryWrite(raw syscall.RawConn, b []byte) int {
	n := 0
	err := raw.Write(func(fd uintptr) bool {
		n, _ = syscall.Write(int(fd), b)
		return true // never wait for the socket here
	})
	if err != nil || n < 0 {
		return 0
	}
	return n
}
