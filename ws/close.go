package ws

import (
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Close closes the connection gracefully: it sends a close frame with code
// and reason after the messages already queued (the drain and the close
// frame share one WriteTimeout), waits up to 1s for the peer's close frame,
// then closes the network connection. Sends made after Close begins fail
// with ErrClosed.
//
// Close is safe to call more than once and from any goroutine, together
// with CloseNow; only the first call acts, and every call returns once the
// connection is closed and the Conn's goroutines have exited. It returns
// the write error that kept the queue or the close frame from going out,
// nil otherwise.
//
// Codes that may not be sent on the wire (1005, 1006, 1015, or outside the
// ranges RFC 6455 allows) send an empty close frame, which the peer reads
// as 1005; reason is cut to the 123 bytes a close frame can carry.
func (c *Conn) Close(code int, reason string) error {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		c.wait()
		return nil
	}
	c.state = stateClosing
	c.closePayload = closePayload(code, reason)
	c.closeDeadline = time.Now().Add(c.opts.WriteTimeout)
	c.mu.Unlock()

	c.local.Store(true)
	c.interrupt.Store(true)
	c.q.close(false) // no new messages; the writer drains the rest
	c.in.close(true) // the reader drops data from now on
	close(c.closing)
	c.q.kick() // the writer runs the drain and the close frame

	<-c.writerDone
	err := c.writerErr
	if err == nil {
		// The close frame is out: give the peer a moment to answer, as
		// RFC 6455 asks, so it sees a clean close rather than a reset.
		t := time.NewTimer(closeWait)
		select {
		case <-c.readerDone: // the peer's close frame, or the connection failed
		case <-c.done: // CloseNow
		case <-t.C:
		}
		t.Stop()
	}
	closed := c.finish(err)
	c.wait()
	if !closed {
		return nil // CloseNow closed it meanwhile; err only reports that
	}
	return err
}

// CloseNow sends a close frame with code and reason, skipping the queue
// (best effort, within min(WriteTimeout, 1s)), and closes the network
// connection at once; queued messages are dropped. Use it for slow clients
// (1013) and shutdown (1001), where waiting behind the queue is the
// problem. It may block for that second when the writer is stuck on a full
// socket, so callers on a hot path run it in its own goroutine.
//
// CloseNow also cuts short a Close in progress. Like Close it is safe to
// call more than once and returns once the connection is closed. The error
// only reports whether the close frame could be written.
func (c *Conn) CloseNow(code int, reason string) error {
	c.mu.Lock()
	if c.state == stateClosed || c.aborting {
		c.mu.Unlock()
		c.wait()
		return nil
	}
	c.aborting = true
	c.state = stateClosing
	c.mu.Unlock()

	c.local.Store(true)
	c.interrupt.Store(true)
	close(c.abort)
	c.q.close(true)
	c.in.close(true)
	c.q.kick() // the writer, running or started for it, ends

	// WriteControl is the one write gorilla allows beside the writer. It
	// takes gorilla's write lock between two messages of the writer, which
	// stops after its current write now that abort is closed.
	// bypass makes the frame, and any batch the writer left open, go out
	// with this write rather than wait for a next message that is dropped.
	c.out.bypass()
	// gorilla's deadline bounds the wait for its write lock and the frame's
	// own write, but not a wait for a write gorilla does not see (the
	// writer's flushHeld): closing the connection when the budget is spent
	// bounds them all.
	budget := min(c.opts.WriteTimeout, closeNowTimeout)
	cut := time.AfterFunc(budget, func() { c.finish(nil) })
	err := ignoreCloseSent(c.ws.WriteControl(websocket.CloseMessage, closePayload(code, reason), time.Now().Add(budget)))
	cut.Stop()
	c.finish(nil)
	c.wait()
	return err
}

// maxCloseReason is what fits in a control frame (125 bytes) after the code.
const maxCloseReason = 123

// closePayload builds a close frame body that a conforming peer accepts: a
// sendable code and a valid UTF-8 reason short enough for a control frame.
// Anything else would make the peer fail the connection with a protocol
// error instead of seeing our close.
func closePayload(code int, reason string) []byte {
	if !sendableCloseCode(code) {
		return []byte{}
	}
	if len(reason) > maxCloseReason {
		reason = reason[:maxCloseReason]
	}
	// Drops invalid bytes, including a rune cut in half above.
	reason = strings.ToValidUTF8(reason, "")
	return websocket.FormatCloseMessage(code, reason)
}

// sendableCloseCode reports whether code may appear in a close frame
// (RFC 6455 section 7.4 and the IANA registry, as gorilla checks on receipt).
func sendableCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
