package bridge

import "time"

// The relay loop (relay_linux.go) serves many per-client sessions on one goroutine,
// each socket through its relayHandler; off Linux there is none (relay_other.go),
// and the handlers go unused.

// relayHandler serves a socket in the loop. It is an interface rather than
// functions: every read calls it, and a function value bound to a stream is an
// object of its own, one more place in memory that each event would touch.
type relayHandler interface {
	// relayData handles bytes read from the socket; false asks to leave.
	relayData(b []byte) bool
	// relayLeft runs once, on the loop, when the socket has left it: with nil
	// when relayData asked, errLeaveAsked after leave, else how the socket ended.
	relayLeft(why error)
	// relayWritable runs when the socket takes writes again, after the handler
	// asked (relayLoop.want).
	relayWritable()
	// relayTick runs every tick of the loop with the loop's clock, for sockets
	// added with ticks set.
	relayTick(now time.Time)
	// relayWarm reads what the handler's next relayData will, and returns
	// something of it (see relayLoop.warm).
	relayWarm() uintptr
}

// warmer is a stream's writer that can read, ahead, where it will write an event,
// for its stream's relayWarm (relayLoop.warm).
type warmer interface {
	warm() uintptr
}
