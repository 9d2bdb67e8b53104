package ws

import (
	"errors"
	"time"

	"github.com/gorilla/websocket"
)

// writeLoop is the only goroutine that writes data, pings and the graceful
// close frame. Pings share its select with outbound messages instead of
// running on a timer goroutine, because gorilla's write methods, deadlines
// included, must not run concurrently (centrifuge documents the data race
// that a timer goroutine causes).
func (c *Conn) writeLoop() {
	var err error
	defer func() {
		c.writerErr = err
		close(c.writerDone)
	}()

	var tick <-chan time.Time
	if c.opts.PingInterval > 0 {
		t := time.NewTicker(c.opts.PingInterval)
		defer t.Stop()
		tick = t.C
	}

	for {
		// A close request wins over more data: select picks at random
		// among ready cases, and Close's time budget is already running.
		select {
		case <-c.done:
			return
		case <-c.abort:
			return
		case <-c.closing:
			err = c.writeClose()
			return
		default:
		}

		select {
		case <-c.q.ready:
			err = c.writeQueued()
		case <-tick:
			err = c.writePing()
		case <-c.done:
			return
		case <-c.abort:
			return
		case <-c.closing:
			err = c.writeClose()
			return
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// writeQueued writes everything queued, back to back, so a burst costs one
// wake-up of the writer. It stops early when a close begins.
func (c *Conn) writeQueued() error {
	for !c.interrupt.Load() {
		it, ok := c.q.pop()
		if !ok {
			return nil
		}
		if err := c.writeItem(it, time.Now().Add(c.opts.WriteTimeout)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) writeItem(it item, deadline time.Time) error {
	_ = c.ws.SetWriteDeadline(deadline) // only records the deadline; cannot fail
	if it.pm != nil {
		return c.ws.WritePreparedMessage(it.pm)
	}
	typ := websocket.TextMessage
	if it.msg.Binary {
		typ = websocket.BinaryMessage
	}
	return c.ws.WriteMessage(typ, it.msg.Data)
}

func (c *Conn) writePing() error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	return c.ws.WriteMessage(websocket.PingMessage, nil)
}

// writeClose is the writer's half of a graceful Close: write what is still
// queued, then the close frame, all within the deadline Close set. It stops
// early if CloseNow or a read error closes the connection meanwhile.
func (c *Conn) writeClose() error {
	c.mu.Lock()
	deadline, payload := c.closeDeadline, c.closePayload
	c.mu.Unlock()

	for !c.stopped() {
		it, ok := c.q.pop()
		if !ok {
			err := c.ws.WriteControl(websocket.CloseMessage, payload, deadline)
			return ignoreCloseSent(err)
		}
		if err := c.writeItem(it, deadline); err != nil {
			return ignoreCloseSent(err)
		}
	}
	return nil
}

// stopped reports whether CloseNow began or the connection is closed.
func (c *Conn) stopped() bool {
	select {
	case <-c.abort:
		return true
	case <-c.done:
		return true
	default:
		return false
	}
}

// ignoreCloseSent treats websocket.ErrCloseSent as success: a close frame
// already went out, because the peer closed first and gorilla's close
// handler answered it, or because CloseNow got there first.
func ignoreCloseSent(err error) error {
	if errors.Is(err, websocket.ErrCloseSent) {
		return nil
	}
	return err
}
