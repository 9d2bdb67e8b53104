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

// TryWriteFrame writes frame (from ServerFrame) on the spot when nothing else is
// waiting to be written: one non-blocking write, without waking the writer, so a
// message fanned out to thousands of idle connections costs each one system call.
// What the socket does not take at once is kept back for the writer, which sends
// it before anything else. False means nothing was written (the writer is busy,
// the socket is full, the connection is closing, or it has no plain socket): send
// the message the usual way, with TrySendPrepared. Only a server's connection
// (from Upgrade) takes frames: a client's frames must be masked.
func (c *Conn) TryWriteFrame(frame []byte) bool {
	if c.out == nil || !c.out.server() || len(frame) > batchSize/2 || c.interrupt.Load() || !c.q.claim() {
		return false
	}
	written, held := c.out.tryWrite(frame)
	c.q.unclaim(held)
	return written
}
