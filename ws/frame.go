package ws

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/gorilla/websocket"
)

// ServerFrame returns data as one unmasked, uncompressed WebSocket frame from a
// server (RFC 6455 section 5.2), text or binary: the bytes gorilla would write for
// it on a connection without compression, which is what Upgrade gives. Encoded once
// per message, they let TryWriteFrames and SendFrame send a message shared by many
// connections as it is.
func ServerFrame(binaryMsg bool, data []byte) []byte {
	return append(AppendFrameHeader(make([]byte, 0, maxHeader+len(data)), binaryMsg, len(data)), data...)
}

// maxHeader is the longest header of an unmasked frame.
const maxHeader = 10

// HeaderRoom is the room to leave at the front of a buffer a payload is built in,
// so that FrameInPlace can make it a frame without copying the payload.
const HeaderRoom = maxHeader

// FrameInPlace returns the ServerFrame of the payload that follows HeaderRoom bytes
// of room in buf: the header is written just before the payload, in that room.
func FrameInPlace(buf []byte, binaryMsg bool) []byte {
	var header [maxHeader]byte
	h := AppendFrameHeader(header[:0], binaryMsg, len(buf)-HeaderRoom)
	start := HeaderRoom - len(h)
	copy(buf[start:], h)
	return buf[start:]
}

// AppendFrameHeader appends the header of a ServerFrame of n payload bytes to dst,
// for a caller that appends the payload itself (from a string, say).
func AppendFrameHeader(dst []byte, binaryMsg bool, n int) []byte {
	const fin = 0x80
	op := byte(fin | websocket.TextMessage)
	if binaryMsg {
		op = fin | websocket.BinaryMessage
	}
	switch {
	case n <= 125:
		return append(dst, op, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(dst, op, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, op, 127), uint64(n))
	}
}

// AppendControlFrame appends a close, ping or pong frame with payload (at most 125
// bytes) to dst: unmasked from a server, masked with a fresh key from a client.
func AppendControlFrame(dst []byte, opcode int, payload []byte, masked bool) []byte {
	const fin, mask = 0x80, 0x80
	payload = payload[:min(len(payload), 125)]
	if !masked {
		return append(append(dst, byte(fin|opcode), byte(len(payload))), payload...)
	}
	dst = append(dst, byte(fin|opcode), byte(mask|len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, rand.Uint32())
	key := dst[len(dst)-4:]
	for i, b := range payload {
		dst = append(dst, b^key[i%4])
	}
	return dst
}

// TryWriteFrames writes frames (from ServerFrame) on the spot when nothing else is
// waiting to be written: one non-blocking write of them all, without waking the
// writer, so a batch of messages fanned out to thousands of idle connections costs
// each one system call. It returns how many frames, from the first, are taken: the
// rest of a frame the socket took only part of is kept back for the writer, which
// sends it before anything else; the frames after it were not written. Send those
// the usual way, with TrySendFrame. It takes none when the writer is busy, the
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
