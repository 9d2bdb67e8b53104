package ws

import (
	"context"
	"errors"
	"io"
	"sync"
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
// Read; messages that arrived before the failure are returned first. After
// a local Close or CloseNow, Read returns ErrClosed. When ctx is done Read
// returns ctx.Err() at once and the connection stays open: the message
// being read, if any, is delivered by the next Read.
func (c *Conn) Read(ctx context.Context) (Message, error) {
	if c.in == nil {
		return Message{}, errReadWithOnMessage
	}
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	for {
		if c.local.Load() {
			return Message{}, ErrClosed
		}
		// A message already read ahead is taken without a goroutine
		// switch; an empty queue marks Read idle, so the reader signals
		// ready with the next one.
		if it, _, ok := c.in.pop(); ok {
			return it.msg, nil
		}
		select {
		case <-c.in.ready:
		case <-c.readerDone:
			if it, _, ok := c.in.pop(); ok {
				return it.msg, nil
			}
			return Message{}, c.readErr
		case <-c.closing:
			return Message{}, ErrClosed
		case <-c.abort:
			return Message{}, ErrClosed
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// errReadWithOnMessage is Read on a connection whose messages go to OnMessage.
var errReadWithOnMessage = errors.New("ws: Read on a connection with OnMessage")

// readLoop is the only goroutine that reads from the connection. Owning the
// read in one place lets Read honour a context without a read deadline in
// the past, which would corrupt gorilla's read state, and lets Close see the
// peer's close frame even when nobody is calling Read.
func (c *Conn) readLoop() {
	ping := c.ws.PingHandler() // set once, in New
	var handOff func() bool
	if c.opts.WaitReadable != nil {
		handOff = c.handOff
	}
	for {
		if c.opts.PingInterval > 0 && c.out == nil {
			// Each read gives the peer a fresh 2*PingInterval, so time
			// spent waiting for Read to take earlier messages never
			// counts against the peer. A batchConn does this itself, per
			// network read.
			_ = c.ws.SetReadDeadline(time.Now().Add(2 * c.opts.PingInterval))
		}
		handedOff, err := c.out.waitIdle(ping, handOff)
		if handedOff {
			return // the wait is WaitReadable's, and its ready reads on
		}
		if err != nil {
			c.readFailed(err)
			c.readerExit()
			return
		}
		typ, data, err := c.readMessage()
		if err != nil {
			c.readFailed(err)
			c.readerExit()
			return
		}
		// Blocks while Read is behind by inboundLen messages or
		// inboundBytes. Once a close begins the queue refuses: the data is
		// dropped and reading goes on, to reach the peer's close frame
		// that Close is waiting for.
		m := Message{Binary: typ == websocket.BinaryMessage, Data: data}
		if c.opts.OnMessage != nil {
			c.opts.OnMessage(m)
			if c.out == nil && c.opts.OnWait != nil {
				c.opts.OnWait() // no network read to wait for: after every message
			}
			continue
		}
		_ = c.in.push(context.Background(), item{msg: m, size: len(data)}, true)
	}
}

// scratchSize covers the usual event; larger messages grow from it.
const scratchSize = 4 << 10

// scratchPool lends the reader a buffer only while it reads a message, so
// an idle connection holds none.
var scratchPool = sync.Pool{New: func() any {
	b := make([]byte, scratchSize)
	return &b
}}

// readMessage is gorilla's ReadMessage without its 512-byte minimum
// allocation: a message that fits in the scratch buffer costs one
// allocation of its own size, which the caller then owns.
func (c *Conn) readMessage() (int, []byte, error) {
	typ, r, err := c.ws.NextReader()
	if err != nil {
		return typ, nil, err
	}
	sp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(sp)
	s := *sp
	n := 0
	for n < len(s) {
		m, err := r.Read(s[n:])
		n += m
		if err == io.EOF {
			data := make([]byte, n)
			copy(data, s)
			return typ, data, nil
		}
		if err != nil {
			return typ, nil, err
		}
	}
	// Larger than the scratch buffer: carry on as io.ReadAll does.
	data := make([]byte, n, 2*n)
	copy(data, s)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		m, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+m]
		if err == io.EOF {
			return typ, data, nil
		}
		if err != nil {
			return typ, nil, err
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

// Buffered reports how many messages have been read ahead and wait for Read: when it
// is not zero, the next Read returns without waiting on the network. Callers that
// batch their own writes flush only when it is zero.
func (c *Conn) Buffered() int { return c.in.len() }
