package ws

import (
	"encoding/binary"

	"github.com/gorilla/websocket"
)

// ServerFrame returns data as one unmasked, uncompressed WebSocket frame from a
// server (RFC 6455 section 5.2), text or binary: the bytes gorilla would write for
// it on a connection without compression, which is what Upgrade gives. Encoded once
// per message, they let TryWriteFrame send a message shared by many connections with
// one system call each.
func ServerFrame(binaryMsg bool, data []byte) []byte {
	const fin = 0x80
	op := byte(fin | websocket.TextMessage)
	if binaryMsg {
		op = fin | websocket.BinaryMessage
	}
	n := len(data)
	var f []byte
	switch {
	case n <= 125:
		f = append(make([]byte, 0, 2+n), op, byte(n))
	case n <= 0xFFFF:
		f = append(make([]byte, 0, 4+n), op, 126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(make([]byte, 0, 10+n), op, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, data...)
}

// TryWriteFrames writes frames (from ServerFrame) on the spot when nothing else is
// waiting to be written: one non-blocking write of them all, without waking the
// writer, so a batch of messages fanned out to thousands of idle connections costs
// each one system call. It returns how many frames, from the first, are taken: the
// rest of a frame the socket took only part of is kept back for the writer, which
// sends it before anything else; the frames after it were not written. Send those
// the usual way, with TrySendPrepared. It takes none when the writer is busy, the
// socket is full, the connection is closing, or it has no plain socket. Only a
// server's connection (from Upgrade) takes frames: a client's frames must be masked.
func (c *Conn) TryWriteFrames(frames [][]byte) int {
	if c.out == nil || !c.out.server() || c.interrupt.Load() {
		return 0
	}
	// The rest of a frame kept back must fit the writer's batch.
	n := 0
	for n < len(frames) && len(frames[n]) <= batchSize/2 {
		n++
	}
	if n == 0 || !c.q.claim() {
		return 0
	}
	taken, held := c.out.tryWritev(frames[:n])
	c.q.unclaim(held)
	return taken
}
