//go:build linux

package bridge

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/ssews/ssews/ws"
)

// eachRelayed reads a plain ws:// upstream on the relay loop, for an EventSource
// client: the loop reads the socket, follows its frames (ws.FrameScanner), and
// hands each message's event to its receiver there, answers pings, pings a quiet upstream
// and gives up on one silent for two heartbeats. A client that falls behind pauses
// the reading until the loop hears its socket take writes again (or a tick finds
// it has); one that takes nothing for the write timeout ends the stream. done is
// false when the connection cannot be taken over, and nothing changed; err is
// errParked when the stream went to the loop (feed.serveRelayed).
func (u *wsUpstream) eachRelayed(ctx context.Context, to eventReceiver) (done bool, err error) {
	upNet, ok := ws.Socket(u.dialed)
	if !ok {
		return false, nil
	}
	hc, ok := upNet.(*headConn)
	if !ok {
		return false, nil
	}
	if !u.out.startRelay(func() {}, u.loop) { // a heartbeat left behind: the ticks retry
		return false, nil
	}
	rest, ok := hc.rest()
	fd := -1
	if ok {
		fd, err = dupSocket(hc.TCPConn)
	}
	if !ok || err != nil {
		u.out.stopRelay()
		return false, nil
	}
	hc.Close()
	u.dialed = nil

	rr := &wsRelayReader{u: u, to: to, sc: *ws.NewFrameScanner(false, u.opts.ReadLimit), fd: fd,
		interval: u.opts.PingInterval, writeTimeout: u.opts.WriteTimeout}
	rr.lastRead, rr.lastPing = time.Now(), time.Now()
	r := &relayed{fd: fd, h: rr, ticks: true}
	rr.sinkWarmer, _ = u.feed.sink.(warmer)
	rr.r = r
	r.first = rest // what came with the 101
	u.rr = rr
	why := u.feed.serveRelayed(ctx, u.loop, r)
	if why == errParked {
		return true, why
	}
	return true, u.afterRelay(ctx, why)
}

// resumeRelayed ends the stream after a time on the relay loop that freed its
// goroutine (errParked) ended with why, on the goroutine that resumes it: a
// relayed WebSocket upstream does not go on off the loop.
func (u *wsUpstream) resumeRelayed(ctx context.Context, why error) error {
	return u.afterRelay(ctx, why)
}

// afterRelay takes the stream back from the relay loop, which it left with why, and
// returns why it ended.
func (u *wsUpstream) afterRelay(ctx context.Context, why error) error {
	rr := u.rr
	u.rr = nil
	closeFD(rr.fd)
	u.out.stopRelay()
	switch {
	case rr.stopped:
		return nil
	case rr.err != nil:
		return rr.err
	case ctx.Err() != nil:
		return ctx.Err()
	case why == nil || why == io.EOF || why == errLeaveAsked:
		return io.ErrUnexpectedEOF // gone without a close frame
	}
	return why
}

// wsRelayReader is the state of a WebSocket upstream read on the relay loop.
type wsRelayReader struct {
	u  *wsUpstream
	to eventReceiver
	sc ws.FrameScanner // a value, as reader is in wsUpstream: fewer places an event touches
	fd int
	r  *relayed
	// sinkWarmer is the feed's sink, when it can warm (relayWarm).
	sinkWarmer warmer
	msg        []byte // the data message being read
	bin        bool
	// stopped: to.receive returned false; err: why the stream ended, else.
	stopped bool
	err     error
	// paused: the client is behind, since behindSince, and the socket is not read.
	paused bool
	// client hears the client's socket take writes again, while paused.
	client             *relayed
	clientWatch        clientWatch
	behindSince        time.Time
	lastRead, lastPing time.Time
	interval           time.Duration
	writeTimeout       time.Duration
}

// relayData, relayLeft and relayTick make the reader the handler of the upstream's
// socket in the relay loop.
func (rr *wsRelayReader) relayData(b []byte) bool {
	rr.lastRead = rr.u.loop.now
	if !rr.handle(b) {
		return false
	}
	rr.waited(rr.r)
	return true
}

func (rr *wsRelayReader) relayLeft(why error) {
	rr.unwatchClient() // before the client's socket may close
	rr.u.feed.relayLeft(why)
}

func (rr *wsRelayReader) relayWritable()          {}
func (rr *wsRelayReader) relayTick(now time.Time) { rr.tick(rr.r, now) }

// relayWarm reads the reader, its feed and the client's writer (relayLoop.warm).
func (rr *wsRelayReader) relayWarm() uintptr {
	sum := uintptr(len(rr.msg)) + rr.u.feed.warm()
	if rr.sinkWarmer != nil {
		sum += rr.sinkWarmer.warm()
	}
	return sum
}

// handle reads b's frames; false when the stream is over.
func (rr *wsRelayReader) handle(b []byte) bool {
	// whole is a message that came in one piece, in one frame: it is read from b
	// where it is, not copied into msg first.
	var whole []byte
	for len(b) > 0 {
		n, res, err := rr.sc.Scan(b)
		if err != nil {
			rr.err = err
			if errors.Is(err, ws.ErrMessageTooBig) {
				rr.err = errOversize
			}
			rr.say(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			return false
		}
		f := rr.sc.Frame()
		switch {
		case f.IsControl(): // read once whole (sc.Control)
		case res == ws.ScanHeader && f.Opcode != 0:
			rr.msg, rr.bin = rr.msg[:0], f.Opcode == websocket.BinaryMessage
		case res == ws.ScanPayload && len(rr.msg) == 0 && f.Fin && f.Opcode != 0 && rr.sc.FrameDone():
			whole = b[:n]
		case res == ws.ScanPayload:
			rr.msg = append(rr.msg, b[:n]...)
		}
		b = b[n:]
		if res == ws.ScanMore || !rr.sc.FrameDone() {
			continue
		}
		switch {
		case !f.IsControl() && f.Fin:
			m := ws.Message{Binary: rr.bin, Data: rr.msg}
			if whole != nil {
				m.Data, whole = whole, nil
			}
			if !rr.to.receive(rr.u.reader.Event(m)) {
				rr.stopped = true
				return false
			}
			if cap(rr.msg) > 64<<10 {
				rr.msg = nil // a large message's buffer does not stay with an idle stream
			}
		case f.Opcode == websocket.PingMessage:
			rr.say(websocket.PongMessage, rr.sc.Control())
		case f.Opcode == websocket.CloseMessage:
			code, text := ws.ClosePayload(rr.sc.Control())
			rr.err = &websocket.CloseError{Code: code, Text: text}
			rr.say(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			return false
		}
	}
	return true
}

// waited tells the waiter (the client's flush) after a read, and pauses the
// reading while the client is behind.
func (rr *wsRelayReader) waited(r *relayed) {
	if rr.u.waiter != nil {
		rr.u.waiter.wait()
	}
	if rr.u.out.behind() {
		rr.paused, rr.behindSince = true, rr.u.loop.now
		rr.u.loop.want(r, false, false)
		rr.watchClient()
	}
}

// watchClient has the loop tell when the client's socket takes writes again (its
// descriptor in the set for that alone), to go on at once rather than at a tick.
func (rr *wsRelayReader) watchClient() {
	fd := rr.u.out.socket()
	if fd < 0 || rr.client != nil {
		return
	}
	rr.clientWatch.rr = rr
	rr.client = &relayed{fd: fd, events: unix.EPOLLOUT, h: &rr.clientWatch}
	rr.u.loop.addNow(rr.client)
}

// unwatchClient takes the client's socket out of the set.
func (rr *wsRelayReader) unwatchClient() {
	if rr.client != nil {
		rr.u.loop.drop(rr.client, nil)
		rr.client = nil
	}
}

// resume flushes what the client did not take, and reads the upstream again once
// it took everything.
func (rr *wsRelayReader) resume(r *relayed) {
	if rr.u.waiter != nil {
		rr.u.waiter.wait()
	}
	if !rr.u.out.behind() {
		rr.paused = false
		rr.unwatchClient()
		rr.u.loop.want(r, true, false)
	}
}

// clientWatch is the handler of a paused stream's client socket in the loop,
// there to hear it take writes again.
type clientWatch struct{ rr *wsRelayReader }

func (c *clientWatch) relayWritable()        { c.rr.resume(c.rr.r) }
func (c *clientWatch) relayData([]byte) bool { return true }
func (c *clientWatch) relayLeft(error)       {}
func (c *clientWatch) relayTick(time.Time)   {}
func (c *clientWatch) relayWarm() uintptr    { return 0 }

// tick commits the counts, retries a paused client, and keeps the upstream's
// heartbeat.
func (rr *wsRelayReader) tick(r *relayed, now time.Time) {
	rr.u.feed.commit()
	if rr.paused {
		rr.resume(r)
		switch {
		case !rr.paused:
		case now.Sub(rr.behindSince) > rr.writeTimeout:
			rr.err = errClientStuck
			rr.u.loop.drop(r, nil)
			return
		}
	}
	switch {
	case rr.interval <= 0 || rr.paused:
	case now.Sub(rr.lastRead) >= 2*rr.interval:
		rr.err = errors.New("ws upstream: no pong within two heartbeats")
		rr.u.loop.drop(r, nil)
	case now.Sub(rr.lastRead) >= rr.interval && now.Sub(rr.lastPing) >= rr.interval:
		rr.lastPing = now
		rr.say(websocket.PingMessage, nil)
	}
}

// say writes a control frame of ours to the upstream, masked, if the socket takes
// it at once: a pong or ping that does not fit is not worth waiting for.
func (rr *wsRelayReader) say(op int, payload []byte) {
	_, _ = writeNow(rr.fd, ws.AppendControlFrame(nil, op, payload, true))
}
