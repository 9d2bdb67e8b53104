package ws

import (
	"bufio"
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

// Upgrade is u.Upgrade with the connection wrapped for write batching: the
// Conn that New builds on the result writes a burst of queued messages with
// one system call instead of one per message. It answers a failed
// handshake exactly as u.Upgrade does.
//
// gorilla writes the 101 response with a plain Write on the hijacked
// connection; no batch is open then, so it is on the wire when Upgrade
// returns.
//
// The connection reads through a bufio.Reader of u.ReadBufferSize bytes (4096 when
// zero, 512 at least) that Upgrade makes and hands gorilla as the hijacked reader,
// so the Conn that New builds can tell when gorilla has nothing buffered and wait
// for the socket with a shallow stack (batchConn.waitIdle).
func Upgrade(u *websocket.Upgrader, w http.ResponseWriter, r *http.Request, h http.Header) (*websocket.Conn, error) {
	own := *u
	size := own.ReadBufferSize
	if size == 0 {
		size = 4096
	}
	own.ReadBufferSize = 0 // gorilla reads through the hijacked reader: ours
	return own.Upgrade(&hijacker{ResponseWriter: w, readSize: max(size, minReadBuffer)}, r, h)
}

// minReadBuffer is the smallest reader gorilla takes as the hijacked one (it
// wants more than 256 bytes).
const minReadBuffer = 512

// hijacker hands gorilla the hijacked connection wrapped in a batchConn, and a
// reader of readSize bytes on it. It reaches the real Hijack through
// http.ResponseController, which follows Unwrap through middleware wrappers that
// hide http.Hijacker.
type hijacker struct {
	http.ResponseWriter
	readSize int
}

var _ http.Hijacker = (*hijacker)(nil)

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	b := newBatchConn(c)
	if brw.Reader.Buffered() == 0 { // otherwise gorilla refuses the handshake
		b.br = bufio.NewReaderSize(b, h.readSize)
		brw = bufio.NewReadWriter(b.br, brw.Writer)
	}
	return b, brw, nil
}

// Unwrap lets http.ResponseController reach the original ResponseWriter.
func (h *hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// Socket returns the network connection under c, from Upgrade or BatchingDialer,
// for a relay that takes it over before anyone has read from c: false when c is not
// one, or something was read. A connection from Upgrade has nothing in gorilla's
// reader then; a dialled one may have what came with the handshake's answer,
// which the caller must find on its own.
func Socket(c *websocket.Conn) (net.Conn, bool) {
	b, ok := c.NetConn().(*batchConn)
	if !ok || (b.br != nil && b.br.Buffered() > 0) {
		return nil, false
	}
	return b.Conn, true
}
