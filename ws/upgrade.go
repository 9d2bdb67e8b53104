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
func Upgrade(u *websocket.Upgrader, w http.ResponseWriter, r *http.Request, h http.Header) (*websocket.Conn, error) {
	return u.Upgrade(&hijacker{ResponseWriter: w}, r, h)
}

// hijacker hands gorilla the hijacked connection wrapped in a batchConn.
// It reaches the real Hijack through http.ResponseController, which
// follows Unwrap through middleware wrappers that hide http.Hijacker.
type hijacker struct {
	http.ResponseWriter
}

var _ http.Hijacker = (*hijacker)(nil)

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return newBatchConn(c), brw, nil
}

// Unwrap lets http.ResponseController reach the original ResponseWriter.
func (h *hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
