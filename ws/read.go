package ws

import (
	"context"
	"time"

	"github.com/gorilla/websocket"
)

// Read returns the next data message. Only one goroutine may call Read at a
// time.
//
// A close frame from the peer ends the connection and Read returns it as a
// *websocket.CloseError (see CloseCode, IsNormalClose), so the caller can
// pass the code on. Any other read failure (websocket.ErrReadLimit after
// the 1009 close, a timeout when the peer stopped answering pings, a reset)
// closes the connection too and is returned as is, and again by every later
// Read. After a local Close or CloseNow, Read returns ErrClosed. When ctx is
// done Read returns ctx.Err() at once and the
// connection stays open: the message being read, if any, is delivered by
// the next Read.
func (c *Conn) Read(ctx context.Context) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	select {
	case m := <-c.in:
		return m, nil
	case <-c.readerDone:
		return Message{}, c.readErr
	case <-c.closing:
		return Message{}, ErrClosed
	case <-c.abort:
		return Message{}, ErrClosed
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// readLoop is the only goroutine that reads from the connection. Owning the
// read in one place lets Read honour a context without a read deadline in
// the past, which would corrupt gorilla's read state, and lets Close see the
// peer's close frame even when nobody is calling Read.
func (c *Conn) readLoop() {
	defer close(c.readerDone)
	for {
		if c.opts.PingInterval > 0 {
			// Each read gives the peer a fresh 2*PingInterval, so time
			// spent waiting for Read to take the previous message never
			// counts against the peer.
			_ = c.ws.SetReadDeadline(time.Now().Add(2 * c.opts.PingInterval))
		}
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return
		}
		select {
		case c.in <- Message{Binary: typ == websocket.BinaryMessage, Data: data}:
		case <-c.closing:
			// Closing: drop data and keep reading, to reach the peer's
			// close frame that Close is waiting for.
		case <-c.abort:
		case <-c.done:
		}
	}
}

// readFailed records what Read reports from now on and, when nobody is
// closing the connection already, closes it with err.
func (c *Conn) readFailed(err error) {
	c.mu.Lock()
	switch c.state {
	case stateOpen:
		c.readErr = err
		c.state, c.err = stateClosed, err
		c.mu.Unlock()
		c.release()
		return
	case stateClosing:
		// Our own Close or CloseNow caused this (or crossed the peer's
		// close frame); either way the caller closed it.
		c.readErr = ErrClosed
	default:
		// A write error closed the connection under the reader.
		c.readErr = c.closedErrLocked()
	}
	c.mu.Unlock()
}

// setKeepaliveHandlers pushes the read deadline forward whenever the peer
// shows life with a control frame. gorilla calls both handlers from the
// reader goroutine, inside ReadMessage, so the deadline keeps a single
// owner.
func (c *Conn) setKeepaliveHandlers() {
	wait := 2 * c.opts.PingInterval
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(wait))
	})
	pong := c.ws.PingHandler() // gorilla's default answers with a pong via WriteControl
	c.ws.SetPingHandler(func(data string) error {
		if err := c.ws.SetReadDeadline(time.Now().Add(wait)); err != nil {
			return err
		}
		return pong(data)
	})
}
