package ws

import (
	"errors"
	"runtime"
	"time"

	"github.com/gorilla/websocket"
)

// writeRun is one run of the writer, the goroutine that writes queued data,
// pings and the graceful close frame. A run starts when a message is queued,
// a ping falls due or a close begins (queue.start, queue.kick), writes until
// nothing is left to do, and ends (queue.park): an idle connection has no
// writer goroutine. Runs never overlap. Pings are written by the writer,
// not by the timer that makes them due, because gorilla's write methods,
// deadlines included, must not run concurrently (centrifuge documents the
// data race that a timer goroutine causes).
func (c *Conn) writeRun() {
	for {
		// A close request wins over more data: Close's time budget is
		// already running.
		select {
		case <-c.done:
			c.writerExit(nil)
			return
		case <-c.abort:
			c.writerExit(nil)
			return
		case <-c.closing:
			c.writerExit(c.writeClose())
			return
		default:
		}
		err := c.writeQueued()
		if err == nil {
			err = c.out.flushHeld() // the rest of a frame TryWriteFrames began
		}
		if err == nil && c.pingDue.CompareAndSwap(true, false) {
			err = c.writePing()
			c.pinger.Reset(c.opts.PingInterval)
		}
		if err != nil {
			c.fail(err)
			c.writerExit(err)
			return
		}
		if c.q.park() {
			return
		}
	}
}

// writerExit ends the writer for good: no run starts after it.
func (c *Conn) writerExit(err error) {
	c.q.finish()
	if c.pinger != nil {
		c.pinger.Stop()
	}
	c.writerErr = err
	close(c.writerDone)
}

// pingDueNow is the ping timer's. While the writer is idle and the socket takes
// it, the ping is written on the spot, as TryWriteFrames writes frames: an idle
// connection's keep-alive then starts no writer goroutine. Otherwise the next run
// of the writer pings.
func (c *Conn) pingDueNow() {
	if c.silentTooLong() {
		c.fail(errPeerSilent)
		return
	}
	if c.tryPing() {
		c.pinger.Reset(c.opts.PingInterval)
		return
	}
	c.pingDue.Store(true)
	c.q.kick()
}

// tryPing writes an empty ping frame without waiting, when the connection has a
// plain socket and nothing else to write.
func (c *Conn) tryPing() bool {
	if c.out == nil || c.out.raw == nil || c.interrupt.Load() || !c.q.claim() {
		return false
	}
	taken, held := c.out.tryWritev([][]byte{pingFrame(c.out.br == nil)})
	c.q.unclaim(held)
	return taken == 1
}

// pingFrame is an empty ping (RFC 6455 section 5.5.2): masked, with a fresh key,
// from a client's connection (BatchingDialer), unmasked from a server's.
func pingFrame(masked bool) []byte {
	return AppendControlFrame(nil, websocket.PingMessage, nil, masked)
}

// writeQueued writes everything queued, back to back, so a burst costs one
// wake-up of the writer and, with a batchConn, one system call per batch.
// It stops early when a close begins.
func (c *Conn) writeQueued() error {
	for !c.interrupt.Load() {
		it, bl, ok := c.q.pop()
		if !ok {
			return nil
		}
		c.out.holdNext(c.moreFollows(bl))
		if err := c.writeItem(it, c.writeDeadline()); err != nil {
			return err
		}
	}
	return nil
}

// moreFollows decides whether the message just taken may wait in the batch
// for the next one. Only when the next one is already queued: then the
// writer is sure to write again at once, and nothing waits for a timer. A
// sender blocked for room has a message in hand; yielding once lets it
// queue it, which turns a stream that the network writes limit into
// batches, while a lone message still goes out at once.
func (c *Conn) moreFollows(bl backlog) bool {
	switch {
	case c.out == nil:
		return false
	case bl.queued > 0:
		return true
	case bl.waiting == 0:
		return false
	}
	runtime.Gosched()
	return c.q.len() > 0
}

// writeDeadline is the deadline of the next message or ping. With a
// batchConn it is zero: the batchConn gives each network write
// WriteTimeout from its start, reading the clock once per batch.
func (c *Conn) writeDeadline() time.Time {
	if c.out != nil {
		return time.Time{}
	}
	return time.Now().Add(c.opts.WriteTimeout)
}

func (c *Conn) writeItem(it item, deadline time.Time) error {
	_ = c.ws.SetWriteDeadline(deadline) // only records the deadline; cannot fail
	if it.frame != nil {
		// Frame bytes go to the connection as gorilla's frames do, kept in the
		// open batch while another message follows, under this message's
		// deadline (not the one gorilla set for its last frame); gorilla, which
		// writes nothing else meanwhile, holds no state between messages.
		_ = c.out.SetWriteDeadline(deadline)
		_, err := c.out.Write(it.frame)
		return err
	}
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
	c.out.holdNext(false)
	_ = c.ws.SetWriteDeadline(c.writeDeadline())
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
		it, _, ok := c.q.pop()
		if !ok {
			// The close frame ends the batch of the drain.
			c.out.holdNext(false)
			err := c.ws.WriteControl(websocket.CloseMessage, payload, deadline)
			return ignoreCloseSent(err)
		}
		c.out.holdNext(true) // the close frame follows
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
