//go:build !unix

package sockio

import "syscall"

// TryWritev never writes where non-blocking socket writes are not wired up: every
// write goes through its connection's blocking path.
func TryWritev(syscall.RawConn, [][]byte) int { return 0 }

// Readable gives up the early wait where a socket cannot be peeked: the caller's
// own read does the waiting.
func Readable(uintptr) bool { return true }
