package ws

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ssews/ssews/internal/sockio"
)

// batchSize is the most a batch holds before it goes out: a few hundred
// small events per write system call. Per message, 16 to 64 KiB measured
// the same CPU; a pooled buffer of this size costs nothing while idle.
const batchSize = 32 << 10

// batchPool lends batch buffers only while a batch is open: an idle
// connection holds no buffer, only a pointer.
var batchPool = sync.Pool{New: func() any {
	b := make([]byte, 0, batchSize)
	return &b
}}

// batchConn is the net.Conn that gorilla writes frames to. gorilla issues
// one write system call per frame; batchConn lets the writer goroutine
// collect the frames of several queued messages and send them with one.
//
// It buffers only while the writer holds a batch open (hold), that is while
// the writer knows another message follows. Every other write goes
// straight through, after whatever is pending: the handshake request and
// response, pings, close frames and pongs cannot be stranded in a buffer.
// The batch goes out with the write of its last message, inside gorilla's
// write lock, so gorilla's WriteControl keeps its own timing. Two writes
// happen outside that lock, under mu alone: TryWriteFrames' (which never
// waits, and gives up when mu is held) and the writer's flush of what such a
// write left over (flushHeld).
//
// Control frames written by other goroutines while a batch is open (a pong
// from the reader, CloseNow's close frame) join the batch, whose last
// message follows at once. A goroutine that may end the connection before
// that calls bypass first: from then on every write goes straight through.
type batchConn struct {
	net.Conn

	// br is the reader gorilla reads this connection through, when Upgrade
	// made it (waitIdle); nil otherwise.
	br *bufio.Reader
	// raw is the plain socket under Conn, for non-blocking writes
	// (TryWriteFrames); nil over TLS and other wrappers.
	raw syscall.RawConn

	// hold is set by the writer goroutine: the next writes belong to a
	// message that another one follows, so keep them.
	hold atomic.Bool
	// direct turns batching off for good: set when the connection is
	// closing, so that the close frame is written at once.
	direct atomic.Bool
	closed atomic.Bool

	// readTimeout and writeTimeout, once New sets them, give every network
	// read, and every network write whose deadline gorilla left zero, a
	// fresh deadline of their own. A fast stream then reads the clock and
	// moves the poller's timer once per system call, not per message.
	readTimeout  atomic.Int64 // time.Duration; 0: no read deadline
	writeTimeout atomic.Int64 // time.Duration; 0: a zero deadline is none

	// mu guards the fields below and serialises every network write: gorilla's
	// under its own write lock, and tryWrite's and flushHeld's beside it.
	mu      sync.Mutex
	buf     *[]byte   // the open batch; nil when empty, back in batchPool
	dl      time.Time // write deadline gorilla asked for; zero: writeTimeout
	applied time.Time // deadline last set on Conn

	// readApplied is the read deadline last set on Conn; only the reader
	// touches it.
	readApplied time.Time
	// onRead, set before the reader starts, is called before each network
	// read (Options.OnWait).
	onRead func()
}

func newBatchConn(c net.Conn) *batchConn {
	b := &batchConn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		b.raw, _ = sc.SyscallConn()
	}
	return b
}

// server reports whether this is a server's connection with a plain socket
// under it (from Upgrade, not over TLS): the one that takes frames of
// ServerFrame and waits for its peer outside gorilla (waitIdle).
func (b *batchConn) server() bool { return b.br != nil && b.raw != nil }

// serverSide reports whether this is a server's connection from Upgrade, over
// TLS or not: the one whose writer takes frames of ServerFrame (SendFrame).
func (b *batchConn) serverSide() bool { return b != nil && b.br != nil }

// tryWritev writes frames without waiting, when no batch is open, and returns
// how many it took: what the socket does not take of the last frame it began
// becomes the batch, which the next write sends first (held: the writer must
// flush it). It takes none when nothing was written, also when another write
// holds the connection (a pong from the reader, which may wait on a full
// socket): tryWritev never waits.
func (b *batchConn) tryWritev(frames [][]byte) (taken int, held bool) {
	if !b.mu.TryLock() {
		return 0, false
	}
	defer b.mu.Unlock()
	if b.closed.Load() || b.buf != nil {
		return 0, false
	}
	n := sockio.TryWritev(b.raw, frames)
	for i, f := range frames {
		switch {
		case n >= len(f):
			n -= len(f)
		case n == 0:
			return i, false
		default:
			b.buf = batchPool.Get().(*[]byte)
			*b.buf = append(*b.buf, f[n:]...)
			return i + 1, true
		}
	}
	return len(frames), false
}

// flushHeld writes out a batch that tryWrite left, if any.
func (b *batchConn) flushHeld() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil || b.closed.Load() {
		return nil
	}
	return b.flush()
}

var _ net.Conn = (*batchConn)(nil)

// NetConn returns the wrapped connection, as tls.Conn's NetConn does, so
// that code tuning the socket can reach it.
func (b *batchConn) NetConn() net.Conn { return b.Conn }

// Write adds p to the open batch, or writes the batch and p when no batch
// is held.
func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return 0, net.ErrClosed
	}
	if b.hold.Load() && !b.direct.Load() {
		return b.add(p)
	}
	return b.writeThrough(p)
}

// add appends p to the batch, writing the batch out first when p does not
// fit. A p as large as half a batch is written at once rather than copied.
func (b *batchConn) add(p []byte) (int, error) {
	if b.buf == nil {
		b.buf = batchPool.Get().(*[]byte)
	}
	if len(*b.buf)+len(p) <= cap(*b.buf) {
		*b.buf = append(*b.buf, p...)
		return len(p), nil
	}
	if err := b.flush(); err != nil {
		return 0, err
	}
	if len(p) >= batchSize/2 {
		return b.write(p)
	}
	b.buf = batchPool.Get().(*[]byte)
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

// writeThrough writes the batch, if any, and p: with one system call when
// p fits in the batch.
func (b *batchConn) writeThrough(p []byte) (int, error) {
	if b.buf == nil {
		return b.write(p)
	}
	if len(*b.buf)+len(p) <= cap(*b.buf) {
		*b.buf = append(*b.buf, p...)
		if err := b.flush(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if err := b.flush(); err != nil {
		return 0, err
	}
	return b.write(p)
}

// flush writes the batch and returns its buffer to the pool. The buffer is
// released even when the write fails: gorilla treats any write error as
// fatal, so the rest of the batch would never go out anyway.
func (b *batchConn) flush() error {
	p := b.buf
	b.buf = nil
	_, err := b.write(*p)
	*p = (*p)[:0]
	batchPool.Put(p)
	return err
}

// write is the one place that writes to the network, under the deadline
// gorilla asked for last, or writeTimeout from now.
func (b *batchConn) write(p []byte) (int, error) {
	dl := b.dl
	if wt := time.Duration(b.writeTimeout.Load()); dl.IsZero() && wt > 0 {
		now := time.Now()
		if keepDeadline(b.applied, now, wt) {
			return b.Conn.Write(p)
		}
		dl = now.Add(wt)
	}
	if !dl.Equal(b.applied) {
		if err := b.Conn.SetWriteDeadline(dl); err != nil {
			return 0, err
		}
		b.applied = dl
	}
	return b.Conn.Write(p)
}

// Read reads from the network, within readTimeout when it is set.
func (b *batchConn) Read(p []byte) (int, error) {
	if b.onRead != nil {
		b.onRead()
	}
	if err := b.armRead(); err != nil {
		return 0, err
	}
	return b.Conn.Read(p)
}

// armRead gives the next network read readTimeout, or most of it (keepDeadline).
func (b *batchConn) armRead() error {
	rt := time.Duration(b.readTimeout.Load())
	if rt <= 0 {
		return nil
	}
	now := time.Now()
	if keepDeadline(b.readApplied, now, rt) {
		return nil
	}
	b.readApplied = now.Add(rt)
	return b.Conn.SetReadDeadline(b.readApplied)
}

// keepDeadline reports whether the deadline last applied still leaves at least
// three quarters of timeout from now: then it stays, and a network operation gets
// between 3/4 and all of its timeout. Moving the poller's timer on every system
// call of a fast stream would cost more than the call; this moves it once per
// quarter of the timeout.
func keepDeadline(applied, now time.Time, timeout time.Duration) bool {
	return applied.Sub(now) >= timeout-timeout/4
}

// setTimeouts makes every network read wait at most read (0: no limit) and
// every network write without a deadline of its own at most write.
func (b *batchConn) setTimeouts(read, write time.Duration) {
	b.readTimeout.Store(int64(read))
	b.writeTimeout.Store(int64(write))
}

// SetWriteDeadline records t for the next network write. gorilla sets a
// deadline before every frame; applying it only when a batch goes out
// saves a timer update per message. A batch therefore gets the deadline of
// its last message.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	b.dl = t
	b.mu.Unlock()
	return nil
}

// SetReadDeadline sets the read deadline now, and remembers it for armRead.
func (b *batchConn) SetReadDeadline(t time.Time) error {
	b.readApplied = t
	return b.Conn.SetReadDeadline(t)
}

// SetDeadline sets the read deadline now and records the write deadline.
func (b *batchConn) SetDeadline(t time.Time) error {
	if err := b.SetReadDeadline(t); err != nil {
		return err
	}
	return b.SetWriteDeadline(t)
}

// Close closes the network connection at once, without waiting for a
// write in progress: that is how a writer stuck on a full socket is freed.
// A batch still pending is dropped.
func (b *batchConn) Close() error {
	b.closed.Store(true)
	if b.mu.TryLock() { // else a Write is in progress: its batch is left to the collector
		if b.buf != nil {
			*b.buf = (*b.buf)[:0]
			batchPool.Put(b.buf)
			b.buf = nil
		}
		b.mu.Unlock()
	}
	return b.Conn.Close()
}

// holdNext tells whether the writes that follow belong to a message that
// another one follows. Only the writer goroutine calls it.
func (b *batchConn) holdNext(hold bool) {
	if b != nil {
		b.hold.Store(hold)
	}
}

// bypass turns batching off for good, so that what is written next, and
// the batch before it, goes out at once. Any goroutine may call it.
func (b *batchConn) bypass() {
	if b != nil {
		b.direct.Store(true)
	}
}

// findBatchConn returns the batchConn under c, looking through wrappers
// such as tls.Conn that expose the connection they wrap; nil if there is
// none, and then Conn writes every message on its own.
func findBatchConn(c net.Conn) *batchConn {
	for c != nil {
		if b, ok := c.(*batchConn); ok {
			return b
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}
