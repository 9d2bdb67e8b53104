package ws

import (
	"errors"
	"io"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/internal/sockio"
)

// An idle connection's reader waits for the peer's next frame. Waiting inside
// gorilla's NextReader parks the goroutine under gorilla's frame parsing, bufio and
// net.Conn.Read, a stack too deep to shrink back to the smallest size, so each idle
// connection would keep twice the stack it needs. When the Conn knows the bufio.Reader
// gorilla reads from (connections from Upgrade) and can reach the socket, the reader
// first waits for the socket to become readable with nothing of gorilla's on the
// stack, and only then calls gorilla.
//
// gorilla's NextReader handles control frames itself and goes on reading until a
// data frame arrives, so the pong that answers each of our pings would leave the
// reader parked deep inside it again. Between messages, the waiter therefore takes
// the peer's pings and pongs itself (skipControl): a pong needs nothing more (any
// bytes show life, see batchConn), a ping gets gorilla's ping handler as it would
// from gorilla. Everything else, close frames included, is left to gorilla.

// waitIdle waits, with a shallow stack, until a read from gorilla would not block
// on the network: gorilla has a frame to read other than a ping or a pong, or the
// peer's end of stream is there. It returns the error of the wait: a timeout once
// the read timeout passes with nothing from the peer, as a read would have. ping
// answers the peer's pings. When the socket has nothing to read and handOff (if
// not nil) takes the wait over, it returns handedOff: the caller ends. It does
// nothing on a connection without a reader of its own (BatchingDialer) or without
// a plain socket (TLS keeps decrypted bytes of its own, which the socket cannot
// show): gorilla's read waits there.
func (b *batchConn) waitIdle(ping func(string) error, handOff func() bool) (handedOff bool, err error) {
	if b == nil || !b.server() {
		return false, nil
	}
	for {
		if b.br.Buffered() == 0 {
			if b.onRead != nil {
				b.onRead()
			}
			if handOff != nil && !b.readableNow() && handOff() {
				return true, nil
			}
			if err := b.armRead(); err != nil {
				return false, err
			}
			if err := b.raw.Read(sockio.Readable); err != nil {
				return false, err
			}
		}
		if skipped, err := b.skipControl(ping); !skipped || err != nil {
			return false, err
		}
	}
}

// skipControl takes a ping or a pong frame from the peer off the reader, when one
// comes next. Once bytes are readable, a control frame (at most 131 bytes) is
// there whole or about to be.
func (b *batchConn) skipControl(ping func(string) error) (bool, error) {
	head, err := b.br.Peek(2)
	if err != nil {
		return false, unlessEOF(err)
	}
	// FIN with opcode ping (9) or pong (10); masked, as a client's frames are; a
	// control frame's payload of at most 125 bytes. Anything else is gorilla's,
	// protocol errors included.
	const fin, masked, maxControl = 0x80, 0x80, 125
	op := head[0]
	if (op != fin|websocket.PingMessage && op != fin|websocket.PongMessage) || head[1]&masked == 0 || int(head[1]&^masked) > maxControl {
		return false, nil
	}
	size := int(head[1] &^ masked)
	frame, err := b.br.Peek(2 + 4 + size)
	if err != nil {
		return false, unlessEOF(err)
	}
	var payload []byte
	if op == fin|websocket.PingMessage {
		payload = make([]byte, size)
		key := frame[2:6]
		for i, c := range frame[6:] {
			payload[i] = c ^ key[i%4]
		}
	}
	_, _ = b.br.Discard(len(frame))
	if payload != nil {
		return true, ping(string(payload))
	}
	return true, nil
}

// unlessEOF drops the end of stream, which gorilla then reads itself and reports
// its way (close 1006). Any other failure, a timeout included, ends the wait:
// bufio would not report it twice, and gorilla's next read would start a new
// timeout.
func unlessEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
