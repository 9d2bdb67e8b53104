// Package sockio holds the two socket operations that ssews does without waiting,
// for connections whose owners do their own waiting: a write of what the socket
// takes at once (a shared stream writes each batch to thousands of idle clients
// from one goroutine), and a peek that tells whether a read would wait (an idle
// WebSocket reader waits for the socket outside gorilla).
package sockio
