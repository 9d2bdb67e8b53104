//go:build linux

package bridge

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/ssews/ssews/ws"
)

// wsTunnel is a per-client WebSocket session between a client and a WebSocket
// upstream, both plain TCP, relayed on a relay loop as nginx relays one: the bytes
// of each side go to the other as they come, frames unchanged, with no goroutine,
// no buffer per message and no wake-up per message. Frames are followed
// (ws.FrameScanner) for what the session must still do itself: the size limit,
// RFC 6455's framing rules, close codes (a close frame with no status becomes
// 1000, as in the gorilla-based proxy), its own pings to each side (both sides'
// own pings and pongs pass through), counts for the metrics, and the ending.
//
// Backpressure is TCP's: while one side has not taken what was written to it, the
// other side is not read. A side that takes nothing for the write timeout, or says
// nothing for two heartbeats, is lost.
type wsTunnel struct {
	rt   *route
	loop *relayLoop
	cm   *clientMetrics // the WebSocket clients' series of the route
	cl   *tunnelSide
	up   *tunnelSide
	// finish runs once the tunnel has ended, with why (nil: a close handshake).
	finish func(why error)
	ended  bool
	// closing is when a close handshake began (a close went one way).
	closing time.Time
	// originals are the connections the sockets were taken from, until start.
	originals [2]net.Conn
}

// tunnelSide is one of a tunnel's two connections.
type tunnelSide struct {
	t      *wsTunnel
	peer   *tunnelSide
	r      relayed
	client bool // the client's side; else the upstream's
	sc     ws.FrameScanner
	// out holds what this side has not taken yet; nil when it has taken
	// everything.
	out []byte
	// pending holds our own frames for this side until what goes to it is
	// between frames.
	pending []byte
	// lastRead is when this side was last heard; lastPing when we last pinged it.
	lastRead, lastPing time.Time
	blockedSince       time.Time // out has been waiting since
	gotClose           bool      // a close frame went to this side
	// msgs and bytes count the data messages from this side since the last
	// commit to the metrics.
	msgs, bytes int
}

// tunnelCloseWait is how long a close handshake may take once one side closed.
const tunnelCloseWait = 5 * time.Second

// newTunnel prepares to relay the session of upConn and clientConn on a relay
// loop, when both are plain TCP connections that it can take over; false leaves
// them as they are. start begins the relay.
func (rt *route) newTunnel(upConn, clientConn *websocket.Conn) (*wsTunnel, bool) {
	loop := rt.srv.relayLoop()
	if loop == nil {
		return nil, false
	}
	upNet, ok := ws.Socket(upConn)
	if !ok {
		return nil, false
	}
	hc, ok := upNet.(*headConn)
	if !ok {
		return nil, false
	}
	rest, ok := hc.rest()
	if !ok {
		return nil, false
	}
	clNet, ok := ws.Socket(clientConn)
	if !ok {
		return nil, false
	}
	upFD, err := dupSocket(hc.TCPConn)
	if err != nil {
		return nil, false
	}
	clFD, err := dupSocket(clNet)
	if err != nil {
		unix.Close(upFD)
		return nil, false
	}
	now := time.Now()
	t := &wsTunnel{rt: rt, loop: loop, cm: rt.metrics.clients[clientWS], originals: [2]net.Conn{hc, clNet}}
	limit := rt.cfg.MaxMessage
	t.cl = &tunnelSide{t: t, client: true, sc: *ws.NewFrameScanner(true, limit), lastRead: now, lastPing: now}
	t.up = &tunnelSide{t: t, sc: *ws.NewFrameScanner(false, limit), lastRead: now, lastPing: now}
	t.cl.peer, t.up.peer = t.up, t.cl
	for s, fd := range map[*tunnelSide]int{t.cl: clFD, t.up: upFD} {
		s.r = relayed{fd: fd, h: s, ticks: true}
	}
	t.up.r.first = rest
	return t, true
}

// start closes the connections the tunnel's sockets came from and hands the
// sockets to the loop; finish runs, once, when the session ends.
func (t *wsTunnel) start(finish func(error)) {
	t.finish = finish
	for _, c := range t.originals {
		c.Close()
	}
	t.originals = [2]net.Conn{}
	if !t.loop.post(func() {
		if t.ended { // drained before it started
			return
		}
		t.loop.addNow(&t.cl.r)
		t.loop.addNow(&t.up.r) // with what came with the handshake's answer first
	}) {
		t.ended = true
		unix.Close(t.up.r.fd)
		unix.Close(t.cl.r.fd)
		finish(errRelayClosed)
	}
}

// drain ends the tunnel for shutdown: 1001 both ways.
func (t *wsTunnel) drain() {
	t.loop.post(func() {
		if t.ended {
			return
		}
		t.cl.say(websocket.CloseGoingAway, "server shutting down")
		t.up.say(websocket.CloseGoingAway, "")
		t.end(errDraining)
	})
}

// relayData passes on what this side sent.
func (s *tunnelSide) relayData(b []byte) bool {
	t, to := s.t, s.peer
	if t.ended {
		return true
	}
	s.lastRead = t.loop.now
	to.startWrite()
	for len(b) > 0 {
		n, res, err := s.sc.Scan(b)
		if err != nil {
			s.fail(err)
			return true
		}
		f := s.sc.Frame()
		switch {
		case f.IsControl(): // passed on, or answered, once whole (frameDone)
		case res == ws.ScanHeader:
			to.out = append(to.out, s.sc.Header()...)
		case res == ws.ScanPayload:
			to.out = append(to.out, b[:n]...)
		}
		b = b[n:]
		if res != ws.ScanMore && s.sc.FrameDone() {
			s.frameDone(f)
			if t.ended {
				return true
			}
		}
	}
	s.commitCounts()
	to.endWrite()
	if len(to.out) > 0 { // backpressure: hear no more from this side until it has
		t.loop.want(&s.r, false, len(s.out) > 0)
	}
	return true
}

// frameDone handles the end of a frame from this side.
func (s *tunnelSide) frameDone(f ws.Frame) {
	to := s.peer
	switch {
	case !f.IsControl():
		if f.Fin {
			s.msgs++
			s.bytes += int(s.sc.MessageLen())
		}
	case f.Opcode == websocket.CloseMessage:
		code, text := ws.ClosePayload(s.sc.Control())
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure // 1005 may not go on the wire
		}
		to.out = ws.AppendControlFrame(to.out, websocket.CloseMessage, websocket.FormatCloseMessage(code, text), !to.client)
		to.gotClose = true
		if !s.gotClose {
			s.t.closing = s.t.loop.now // the other side is to answer
		} else {
			s.t.end(nil) // the answer to a close: the handshake is over
			return
		}
	default: // ping and pong pass through, masked as the other side's direction wants
		to.out = ws.AppendControlFrame(to.out, f.Opcode, s.sc.Control(), !to.client)
	}
	to.out = append(to.out, to.pending...)
	to.pending = to.pending[:0]
}

// say queues a close frame of ours for this side.
func (s *tunnelSide) say(code int, text string) {
	s.control(websocket.CloseMessage, websocket.FormatCloseMessage(code, text))
	s.gotClose = true
}

// control queues a control frame of ours for this side, between the frames passed
// on to it; the caller writes it (endWrite, end). It never takes the loop's
// scratch buffer, which the other side may be using.
func (s *tunnelSide) control(op int, payload []byte) {
	if s.peer.sc.AtBoundary() {
		s.out = ws.AppendControlFrame(s.out, op, payload, !s.client)
	} else {
		s.pending = ws.AppendControlFrame(s.pending, op, payload, !s.client)
	}
}

// startWrite makes out ready to take bytes: the loop's scratch buffer, unless this
// side holds bytes already.
func (s *tunnelSide) startWrite() {
	if len(s.out) == 0 {
		s.out = s.t.loop.scratch[:0]
	}
}

// endWrite writes out, and keeps what the socket did not take.
func (s *tunnelSide) endWrite() {
	if len(s.out) == 0 {
		s.out = nil
		return
	}
	n, err := writeNow(s.r.fd, s.out)
	if err != nil {
		s.out = nil
		if !s.t.ended {
			s.lost(fmt.Errorf("write: %w", err))
		}
		return
	}
	rest := s.out[n:]
	scratch := unsafe.SliceData(s.out) == unsafe.SliceData(s.t.loop.scratch)
	switch {
	case len(rest) == 0:
		s.out = nil
		s.blockedSince = time.Time{}
	case scratch:
		s.out = append([]byte(nil), rest...)
	default:
		s.out = s.out[:copy(s.out, rest)]
	}
	if s.out != nil && s.blockedSince.IsZero() {
		s.blockedSince = s.t.loop.now
	}
	s.t.loop.want(&s.r, s.peer.out == nil && !s.t.ended, s.out != nil)
}

// relayWritable writes what this side did not take, and reads the other side
// again once this one has taken everything.
func (s *tunnelSide) relayWritable() {
	s.endWrite()
	if s.out == nil && !s.t.ended {
		s.t.loop.want(&s.peer.r, true, s.peer.out != nil)
	}
}

// relayTick pings a quiet side and ends the session when a side is gone quiet for
// two heartbeats, takes no writes for the write timeout, or a close is not
// answered.
func (s *tunnelSide) relayTick(now time.Time) {
	t := s.t
	if t.ended {
		return
	}
	interval := t.rt.cfg.Heartbeat
	switch {
	case !t.closing.IsZero() && now.Sub(t.closing) > tunnelCloseWait:
		t.end(errors.New("close not answered"))
	case s.out != nil && now.Sub(s.blockedSince) > t.rt.srv.opts.WriteTimeout:
		s.lost(errors.New("write timeout"))
	case interval > 0 && now.Sub(s.lastRead) >= 2*interval:
		s.lost(errors.New("no pong within two heartbeats"))
	case interval > 0 && now.Sub(s.lastRead) >= interval && now.Sub(s.lastPing) >= interval:
		s.lastPing = now
		s.control(websocket.PingMessage, nil)
		s.endWrite()
	}
}

// relayWarm reads both sides of the tunnel (relayLoop.warm).
func (s *tunnelSide) relayWarm() uintptr {
	return uintptr(len(s.out)) + uintptr(len(s.peer.out)) + uintptr(s.msgs)
}

// relayLeft is told how this side's socket left the loop.
func (s *tunnelSide) relayLeft(err error) {
	if !s.t.ended {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF // gone without a close handshake
		}
		s.lost(err)
	}
}

// lost ends the session for a side gone without a close handshake: the other side
// gets the code that says so.
func (s *tunnelSide) lost(err error) {
	if s.client {
		s.peer.say(websocket.CloseGoingAway, "client connection lost")
	} else {
		s.t.rt.log.Warn("upstream connection lost", "err", err)
		s.peer.say(closeBadGateway, "upstream connection lost")
	}
	s.t.end(&directionError{fromUpstream: !s.client, err: err})
}

// fail ends the session for a frame this side may not send.
func (s *tunnelSide) fail(err error) {
	rt := s.t.rt
	tooBig := errors.Is(err, ws.ErrMessageTooBig)
	switch {
	case s.client && tooBig:
		rt.metrics.oversizeClient.Inc()
		rt.log.Warn("client message over max_message; closed with 1009")
		s.say(websocket.CloseMessageTooBig, "")
		s.peer.say(websocket.CloseGoingAway, "client connection lost")
	case s.client:
		s.say(websocket.CloseProtocolError, "")
		s.peer.say(websocket.CloseGoingAway, "client connection lost")
	case tooBig:
		rt.metrics.oversizeUpstream.Inc()
		s.peer.say(closeBadGateway, "upstream message over max_message")
		s.say(websocket.CloseNormalClosure, "")
	default:
		rt.log.Warn("upstream broke the WebSocket protocol", "err", err)
		s.say(websocket.CloseProtocolError, "")
		s.peer.say(closeBadGateway, "upstream connection lost")
	}
	s.t.end(&directionError{fromUpstream: !s.client, err: err})
}

// commitCounts adds the messages passed on since the last commit to the loop's
// counts, which go to the metrics at its next tick.
func (s *tunnelSide) commitCounts() {
	if s.msgs == 0 {
		return
	}
	m, l := s.t.rt.metrics, s.t.loop
	if s.client {
		l.count(&m.msgForwarded, float64(s.msgs))
	} else {
		l.count(&m.eventsIn, float64(s.msgs))
		l.count(&m.bytesIn, float64(s.bytes))
		l.count(&s.t.cm.events, float64(s.msgs))
		l.count(&s.t.cm.bytes, float64(s.bytes))
	}
	s.msgs, s.bytes = 0, 0
}

// end takes both sockets out of the loop and closes them, after one write of what
// each has not taken (the close frames, usually), and runs finish.
func (t *wsTunnel) end(why error) {
	if t.ended {
		return
	}
	t.ended = true
	for _, s := range []*tunnelSide{t.cl, t.up} {
		s.commitCounts()
		if len(s.out) > 0 {
			_, _ = writeNow(s.r.fd, s.out)
		}
		s.out, s.pending = nil, nil
		t.loop.drop(&s.r, errLeaveAsked)
		unix.Close(s.r.fd)
	}
	t.finish(why)
}
