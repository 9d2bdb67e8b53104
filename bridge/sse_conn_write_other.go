//go:build !unix

package bridge

import "syscall"

// tryWrite never writes where non-blocking socket writes are not wired up: every
// chunk goes through the client's goroutine.
func tryWrite(syscall.RawConn, []byte) int { return 0 }
