// Package ws wraps a gorilla/websocket connection so that the rest of ssews
// can use it from any goroutine without breaking gorilla's concurrency
// contract.
//
// gorilla allows one concurrent reader and one concurrent writer, and only
// Close and WriteControl may be called from other goroutines. A Conn is
// correct by construction instead of by convention:
//
//   - One writer owns every data write: messages, prepared messages, frame
//     bytes shared by many connections (SendFrame), pings
//     and the graceful close frame. It is a goroutine that runs while there
//     is something to write and ends when there is not, so an idle
//     connection holds none; runs never overlap. Senders hand it messages
//     through a bounded queue (events and bytes), so a slow peer costs
//     bounded memory and blocks or rejects its senders instead of growing a
//     buffer. The only other writes are gorilla's control frames from other
//     goroutines (the reader's pongs and close answer, CloseNow's close
//     frame), and, while the writer is idle, TryWriteFrames' one
//     non-blocking write of frames encoded once for many connections.
//   - One reader goroutine owns every read, so control frames (pong, ping,
//     close) are processed and the read deadline is kept in one place. Read
//     takes a context; cancelling it returns at once without touching the
//     connection, which stays usable (a read deadline in the past would
//     leave gorilla's read state corrupt and lose the peer's close frame).
//     Between messages, on a server's connection over plain TCP, it waits
//     for the socket outside gorilla, with a stack that shrinks back to the
//     smallest size (waitIdle), or hands that wait to Options.WaitReadable
//     and ends until the peer's next bytes bring a reader back
//     (readhandoff.go): one reader at a time, still.
//
// Both exit when the connection closes, for whatever reason: Close,
// CloseNow, a write error or a read error.
//
// A fast stream must not cost a system call and two goroutine switches per
// message. Connections made with Upgrade or BatchingDialer write through a
// batchConn: when the writer finds more messages queued behind the one it
// writes, their frames collect in a pooled buffer and leave with the last
// one, in one system call; a lone message, a ping or a close frame goes
// out at once. On the way in, the reader reads a bounded few messages
// ahead of Read, which takes them without waking anyone.
//
// The package does no logging: every failure comes back as an error, and
// IsNormalClose tells callers which ones are not worth logging.
package ws
