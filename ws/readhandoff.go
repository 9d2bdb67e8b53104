package ws

import (
	"os"
	"time"

	"github.com/ssews/ssews/internal/sockio"
)

// An idle reader can hand its wait over (Options.WaitReadable): once the peer has
// nothing more to read, the reader goroutine registers the socket with the waiter
// and ends, and the waiter's ready starts reading again on a goroutine of its own.
// The reader's life is guarded by rmu: running, waiting (stopWait set), or done,
// after which readerDone is closed, once, by whoever ended it: the reader on a read
// error, or release for a reader that was waiting.

// handOff gives the reader's wait to WaitReadable, when the connection has one and
// is still open; false means the reader waits itself. The caller is the running
// reader, which ends at once when it returns true.
func (c *Conn) handOff() bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rstate != readerRunning || c.interrupt.Load() {
		return false
	}
	stop, ok := c.opts.WaitReadable(c.out.Conn, c.resumeReader)
	if !ok {
		return false
	}
	c.rstate, c.stopWait, c.waitingSince = readerWaiting, stop, time.Now()
	return true
}

// resumeReader is the waiter's ready: the socket is readable (or hung up), so a
// reader runs again, on this goroutine.
func (c *Conn) resumeReader() {
	c.rmu.Lock()
	if c.rstate != readerWaiting {
		c.rmu.Unlock()
		return // the connection closed meanwhile
	}
	c.rstate, c.stopWait = readerRunning, nil
	c.rmu.Unlock()
	c.readLoop()
}

// readerExit ends the running reader for good.
func (c *Conn) readerExit() {
	c.rmu.Lock()
	c.rstate = readerDone
	c.rmu.Unlock()
	close(c.readerDone)
}

// endWaitingReader ends a reader that is waiting through WaitReadable, for release:
// no read will tell why the connection closed, so it records that for Read.
func (c *Conn) endWaitingReader() {
	c.rmu.Lock()
	if c.rstate != readerWaiting {
		c.rmu.Unlock()
		return // a running reader sees the close and exits by itself
	}
	c.rstate = readerDone
	stop := c.stopWait
	c.stopWait = nil
	c.rmu.Unlock()
	stop()
	c.mu.Lock()
	if c.local.Load() {
		c.readErr = ErrClosed
	} else {
		c.readErr = c.closedErrLocked()
	}
	c.mu.Unlock()
	close(c.readerDone)
}

// silentTooLong reports whether the peer has sent nothing since the reader handed
// its wait over, 2*PingInterval ago or more: the read deadline a waiting reader
// would have hit.
func (c *Conn) silentTooLong() bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.rstate == readerWaiting && time.Since(c.waitingSince) >= 2*c.opts.PingInterval
}

// errPeerSilent is the timeout of a peer that showed no life within 2*PingInterval
// while no reader was waiting for it: a net.Error that reports Timeout, as a read
// deadline's.
var errPeerSilent = os.ErrDeadlineExceeded

// readableNow reports whether the socket has bytes (or end of stream) to read, without
// waiting.
func (b *batchConn) readableNow() bool {
	readable := true
	_ = b.raw.Control(func(fd uintptr) { readable = sockio.Readable(fd) })
	return readable
}
