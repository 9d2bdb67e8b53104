package ws

import (
	"context"

	"github.com/gorilla/websocket"
)

// Send queues m for the writer, blocking while the queue is full (QueueLen
// messages or QueueBytes bytes) until there is room, ctx is done or the
// connection closes. It returns ctx.Err(), or ErrClosed (wrapping the error
// that closed the connection, if any). A nil error means queued, not yet
// written. m.Data must not be modified after Send.
func (c *Conn) Send(ctx context.Context, m Message) error {
	return c.push(ctx, item{msg: m, size: len(m.Data)}, true)
}

// SendPrepared is Send for a message encoded once and sent to many
// connections. size is its payload length, used for the QueueBytes limit.
func (c *Conn) SendPrepared(ctx context.Context, pm *websocket.PreparedMessage, size int) error {
	if pm == nil {
		return errNilPrepared
	}
	return c.push(ctx, item{pm: pm, size: max(size, 0)}, true)
}

// TrySend queues m without blocking and returns ErrQueueFull when the queue
// is full. Shared mode uses it so that one slow client never holds up the
// others; the caller then disconnects that client with CloseNow(1013, ...).
func (c *Conn) TrySend(m Message) error {
	return c.push(context.Background(), item{msg: m, size: len(m.Data)}, false)
}

// TrySendPrepared is TrySend for a prepared message; see SendPrepared.
func (c *Conn) TrySendPrepared(pm *websocket.PreparedMessage, size int) error {
	if pm == nil {
		return errNilPrepared
	}
	return c.push(context.Background(), item{pm: pm, size: max(size, 0)}, false)
}

// SendFrame is Send for a message already framed by ServerFrame, shared by many
// connections: the writer writes its bytes as they are, after what is queued
// before it. size is its payload length. It returns ErrNotServer on a
// connection that Upgrade did not make.
func (c *Conn) SendFrame(ctx context.Context, frame []byte, size int) error {
	if !c.out.serverSide() {
		return ErrNotServer
	}
	return c.push(ctx, item{frame: frame, size: max(size, 0)}, true)
}

// TrySendFrame is TrySend for a frame; see SendFrame.
func (c *Conn) TrySendFrame(frame []byte, size int) error {
	if !c.out.serverSide() {
		return ErrNotServer
	}
	return c.push(context.Background(), item{frame: frame, size: max(size, 0)}, false)
}

func (c *Conn) push(ctx context.Context, it item, block bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := c.q.push(ctx, it, block)
	if err == errQueueClosed {
		return c.closedErr()
	}
	return err
}
