package ws

import (
	"errors"

	"github.com/gorilla/websocket"
)

var (
	// ErrQueueFull is returned by TrySend, TrySendPrepared and TrySendFrame when the
	// outbound queue holds QueueLen messages or QueueBytes bytes. In shared
	// mode the caller then disconnects the client with 1013 (see CloseNow)
	// rather than drop an event it could never recover.
	ErrQueueFull = errors.New("ws: outbound queue full")

	// ErrClosed is returned by Send once the connection has closed, and by
	// Read after a local Close or CloseNow. When the connection died of an
	// error (a failed write, a read timeout, the peer's close frame) Send's
	// error wraps both ErrClosed and that cause, so errors.Is(err,
	// ErrClosed) always holds and CloseCode still finds a peer's code.
	ErrClosed = errors.New("ws: connection closed")

	// ErrNotServer is returned by SendFrame and TrySendFrame on a connection
	// that cannot take frame bytes: one that Upgrade did not make (a client's
	// frames must be masked). Send the message another way.
	ErrNotServer = errors.New("ws: frame bytes need a server connection from Upgrade")

	errNilPrepared = errors.New("ws: nil prepared message")
)

// IsNormalClose reports whether err is a close that the peer or we ended
// normally: a close frame with 1000 (normal), 1001 (going away) or 1005 (no
// status), or ErrClosed alone (we closed the connection ourselves). Callers
// use it to avoid logging ordinary disconnects as errors.
func IsNormalClose(err error) bool {
	if err == nil {
		return false
	}
	if err == ErrClosed {
		return true
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return false
	}
	return !websocket.IsUnexpectedCloseError(ce,
		websocket.CloseNormalClosure,
		websocket.CloseGoingAway,
		websocket.CloseNoStatusReceived)
}

// CloseCode extracts the close code and text from err when it is (or wraps)
// a *websocket.CloseError, so the bridge can pass a peer's close code on to
// the other side. ok is false for any other error.
func CloseCode(err error) (code int, text string, ok bool) {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return 0, "", false
	}
	return ce.Code, ce.Text, true
}
