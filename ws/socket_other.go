//go:build !unix

package ws

import "syscall"

// readable gives up the shallow wait where a socket cannot be peeked: gorilla's
// read does the waiting.
func readable(uintptr) bool { return true }

// tryWrite never writes where non-blocking socket writes are not wired up: every
// message goes through the writer.
func tryWrite(syscall.RawConn, []byte) int { return 0 }
