//go:build linux

package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// relayLoop reads the sockets of many per-client sessions with one epoll instance
// and one goroutine, and hands each read to its session's handler on that
// goroutine, as nginx's workers do. A session fed through Go's runtime poller costs
// a goroutine wake-up and a read that finds nothing (EAGAIN) per event on top of the
// read and the client's write; here an event costs those two system calls and a
// share of one epoll_wait.
//
// Handlers never wait: they write without blocking and, when a peer does not take
// what they write, pause the reading that feeds it (want) until the loop hears the
// peer take writes again, or leave the loop for a goroutine of their own, with
// everything that waits (reconnects, blocking writes with deadlines); a socket
// that ends leaves the loop. Ticks (relayTick) give handlers their timers.
type relayLoop struct {
	epfd   int
	epFile *os.File        // epfd, in Go's runtime poller
	ep     syscall.RawConn // epFile's
	wake   int             // eventfd: commands are waiting, or the loop is closing

	mu        sync.Mutex
	cmds      []func()
	closed    bool
	closeOnce sync.Once

	// The loop's own, touched by nothing else.
	//
	// streams holds the sockets by slot, the epoll data of each (with its
	// generation, so that an event still on its way for a socket that left is
	// not taken for the next one in its slot); free are the slots let go.
	streams []relaySlot
	free    []int32
	gen     uint32
	// tickers are the sockets that asked for ticks: a tick does not visit the
	// others, whose memory it would only bring into the cache.
	tickers []*relayed
	// counts are what the loop's streams counted since the last tick, added to
	// the metrics then: a stream's count is an addition to a map the loop keeps
	// warm, not an atomic one to a counter the other loops add to as well.
	counts map[*prometheus.Counter]float64
	buf    []byte // every read, shared: a handler uses the bytes up or copies them
	// scratch is where handlers build what they write: what a socket does not
	// take is copied out of it before the next handler runs.
	scratch []byte
	// more are the sockets to read again on the next turn (read).
	more, turn []slotRef
	// now is the time of the loop's last wake-up: a clock for handlers that need
	// no more than that.
	now   time.Time
	nowNS atomic.Int64 // now, for clock
	timer int          // timerfd of the ticks
	done  chan struct{}
	// warmth is what warm read, kept so that its reads are not optimised away.
	warmth uintptr
}

// relayed is a socket for the loop.
type relayed struct {
	fd int
	h  relayHandler
	// ticks asks for h.relayTick.
	ticks bool
	// first is what was read from the socket before it came to the loop (with a
	// handshake's answer): relayData has it first, on the loop.
	first []byte
	// events is what the loop is to wait for on the socket when it is added
	// (reads when zero); want changes it later.
	events uint32
	// slot and gen are the socket's place in the loop (its epoll data), tickAt
	// its place among the tickers; in says it is there.
	slot   int32
	gen    uint32
	tickAt int
	in     bool
}

// relaySlot is a socket's place in the loop, with what an event on it needs: the
// loop reaches the handler without touching the relayed, one place in memory less
// per event.
type relaySlot struct {
	h      relayHandler
	r      *relayed
	fd     int32
	events uint32 // what the loop waits for: reads unless paused, writes when asked
	gen    uint32 // 0 when the slot is free
}

// slotRef is a slot as it was when the reference was taken: it still holds the
// same socket while its generation is the same.
type slotRef struct {
	i   int32
	gen uint32
}

// tickID is the epoll data of the loop's timer; wakeID (0) that of its eventfd.
// Sockets are at slot+1.
const tickID = -1

// errLeaveAsked is why a socket left the loop when something outside it asked
// (relayLoop.leave).
var errLeaveAsked = errors.New("relay: leave asked")

// relayReadSize is the loop's read buffer: as much as an upstream read delivers in
// the busiest stream, shared by all of its streams.
const relayReadSize = 64 << 10

// newRelayLoop starts a loop whose handlers' relayTick run every tick.
func newRelayLoop(tick time.Duration) (*relayLoop, error) {
	epfd, wake, err := newEpollWithWake()
	if err != nil {
		return nil, fmt.Errorf("relay loop: %w", err)
	}
	// Non-blocking, the epoll descriptor goes into Go's poller as a file's.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, fmt.Errorf("relay loop: %w", err)
	}
	timer, err := newTicker(epfd, tick)
	if err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, err
	}
	l := &relayLoop{
		epfd:    epfd,
		epFile:  os.NewFile(uintptr(epfd), "relay epoll"),
		wake:    wake,
		timer:   timer,
		counts:  map[*prometheus.Counter]float64{},
		buf:     make([]byte, relayReadSize),
		scratch: make([]byte, 0, 2*relayReadSize),
		now:     time.Now(),
		done:    make(chan struct{}),
	}
	ep, err := l.epFile.SyscallConn()
	if err != nil {
		unix.Close(wake)
		unix.Close(timer)
		l.epFile.Close()
		return nil, fmt.Errorf("relay loop: %w", err)
	}
	l.ep = ep
	l.nowNS.Store(l.now.UnixNano())
	go l.loop()
	return l, nil
}

// add puts r's socket in the loop. It reports false, and r.h.relayLeft never runs,
// when the loop has closed.
func (l *relayLoop) add(r *relayed) bool {
	return l.post(func() { l.addNow(r) })
}

// addNow is add on the loop.
func (l *relayLoop) addNow(r *relayed) {
	events := r.events
	if events == 0 {
		events = unix.EPOLLIN
	}
	if l.gen++; l.gen == 0 {
		l.gen = 1 // 0 marks a free slot
	}
	r.gen = l.gen
	if n := len(l.free); n > 0 {
		r.slot = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		r.slot = int32(len(l.streams))
		l.streams = append(l.streams, relaySlot{})
	}
	ev := unix.EpollEvent{Events: epollEvents(events), Fd: r.slot + 1, Pad: int32(r.gen)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, r.fd, &ev); err != nil {
		l.free = append(l.free, r.slot)
		r.h.relayLeft(fmt.Errorf("relay loop: epoll_ctl: %w", err))
		return
	}
	l.streams[r.slot] = relaySlot{h: r.h, r: r, fd: int32(r.fd), events: events, gen: r.gen}
	r.in = true
	if r.ticks {
		r.tickAt = len(l.tickers)
		l.tickers = append(l.tickers, r)
	}
	if first := r.first; len(first) > 0 {
		r.first = nil
		if !r.h.relayData(first) {
			l.drop(r, nil)
		}
	}
}

// count adds n to c at the next tick. It runs on the loop.
func (l *relayLoop) count(c *prometheus.Counter, n float64) { l.counts[c] += n }

// clock returns the time of the loop's last wake-up, from any goroutine: a clock
// that costs no system call, for handlers that need no better.
func (l *relayLoop) clock() time.Time { return time.Unix(0, l.nowNS.Load()) }

// want sets what the loop waits for on r's socket: reads (unless paused for
// backpressure) and writes (while the handler has bytes the socket did not take).
// It runs on the loop.
func (l *relayLoop) want(r *relayed, read, write bool) {
	var events uint32
	if read {
		events |= unix.EPOLLIN
	}
	if write {
		events |= unix.EPOLLOUT
	}
	if !r.in || events == l.streams[r.slot].events {
		return
	}
	l.streams[r.slot].events = events
	// A change re-arms the edge: what is ready now is reported.
	ev := unix.EpollEvent{Events: epollEvents(events), Fd: r.slot + 1, Pad: int32(r.gen)}
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, r.fd, &ev)
}

// leave takes r's socket out of the loop, unless it has left already;
// r.h.relayLeft runs with errLeaveAsked. Call it after add.
func (l *relayLoop) leave(r *relayed) {
	l.post(func() { l.drop(r, errLeaveAsked) })
}

// post runs cmd on the loop; false when the loop has closed.
func (l *relayLoop) post(cmd func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.cmds = append(l.cmds, cmd)
	if len(l.cmds) == 1 {
		wakeUp(l.wake)
	}
	return true
}

// loop runs until the loop closes. Its goroutine waits in Go's runtime poller, on
// the epoll instance's own descriptor, and takes what is ready without waiting: a
// goroutine blocked in epoll_wait would have the runtime hand its processor to
// another thread at every wait and back at every wake-up, which costs more than
// the reads it saves.
func (l *relayLoop) loop() {
	defer close(l.done)
	events := make([]unix.EpollEvent, 256)
	err := l.ep.Read(func(epfd uintptr) bool {
		for {
			n, err := epollTake(int(epfd), events)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				l.shut(fmt.Errorf("relay loop: epoll_wait: %w", err))
				return true
			case n == 0 && len(l.more) == 0:
				return false // wait until the set is readable again
			}
			l.now = time.Now()
			l.nowNS.Store(l.now.UnixNano())
			l.warm(events[:n])
			for _, ev := range events[:n] {
				switch ev.Fd {
				case wakeID:
					if !l.runCommands() {
						return true
					}
					continue
				case tickID:
					l.tick()
					continue
				}
				i := ev.Fd - 1
				gen := l.streams[i].gen
				if gen != uint32(ev.Pad) {
					continue // left the loop after this was reported
				}
				if ev.Events&unix.EPOLLOUT != 0 {
					l.streams[i].h.relayWritable()
					if l.streams[i].gen != gen {
						continue
					}
				}
				switch {
				case ev.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR|unix.EPOLLRDHUP) == 0:
				case l.streams[i].events&unix.EPOLLIN != 0:
					l.read(slotRef{i, gen}, ev.Events&(unix.EPOLLHUP|unix.EPOLLERR|unix.EPOLLRDHUP) != 0)
				case ev.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0:
					// Reads are paused, and the socket failed: nothing it
					// still holds can be passed on.
					l.drop(l.streams[i].r, unix.ECONNRESET)
				}
			}
			l.turn, l.more = l.more, l.turn[:0]
			for _, ref := range l.turn {
				if l.streams[ref.i].gen == ref.gen && l.streams[ref.i].events&unix.EPOLLIN != 0 {
					l.read(ref, false)
				}
			}
			clear(l.turn)
		}
	})
	if err != nil {
		l.shut(fmt.Errorf("relay loop: %w", err))
	}
}

// warm reads, for every socket reported ready, its slot and then what its handler
// will touch, before any is served. Served one after the other, each stream would
// stall on memory at each of its objects in turn: with thousands of streams, none
// is in the cache when its turn comes. Read a level at a time for all of them, the
// loads are independent and the processor has many of them under way at once; the
// streams are then served from the cache.
func (l *relayLoop) warm(events []unix.EpollEvent) {
	var sum uintptr
	for _, ev := range events {
		if ev.Fd > 0 {
			sum += uintptr(l.streams[ev.Fd-1].gen)
		}
	}
	for _, ev := range events {
		if ev.Fd > 0 {
			if s := &l.streams[ev.Fd-1]; s.gen == uint32(ev.Pad) {
				sum += s.h.relayWarm()
			}
		}
	}
	l.warmth = sum
}

// read reads r's socket after an edge: sockets are in the set edge-triggered, as
// nginx has them, so an epoll_wait does not look at every socket it reported the
// time before again.
//
// ended says the peer has closed (or the socket failed) already: then a short read
// does not mean the socket has no more to say, since its end came with the bytes,
// and no edge will follow; it is read until it tells its end.
func (l *relayLoop) read(ref slotRef, ended bool) {
	for {
		// The slot is looked up again after each handler: one may add sockets,
		// which can move the slots.
		s := &l.streams[ref.i]
		n, err := readNow(int(s.fd), l.buf)
		switch {
		case n > 0:
			if !s.h.relayData(l.buf[:n]) {
				if s := &l.streams[ref.i]; s.gen == ref.gen {
					l.drop(s.r, nil)
				}
				return
			}
			// Edge-triggered: a read that filled the buffer may have left
			// bytes, of which no new edge will tell, so the socket is read
			// again on the loop's next turn (after the others: a fast
			// upstream must not starve them). One that did not fill it took
			// all there was; what comes next makes an edge.
			s := &l.streams[ref.i]
			switch {
			case ended && s.gen == ref.gen && s.events&unix.EPOLLIN != 0:
				continue
			case n == len(l.buf):
				l.more = append(l.more, ref)
			}
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
		case err != nil:
			l.drop(s.r, err)
		default:
			l.drop(s.r, io.EOF)
		}
		return
	}
}

// drop takes r's socket out of the set, unless it left already, and tells r why.
func (l *relayLoop) drop(r *relayed, why error) {
	if !r.in {
		return
	}
	r.in = false
	l.streams[r.slot] = relaySlot{}
	l.free = append(l.free, r.slot)
	if r.ticks {
		last := l.tickers[len(l.tickers)-1]
		l.tickers[r.tickAt], last.tickAt = last, r.tickAt
		l.tickers[len(l.tickers)-1] = nil
		l.tickers = l.tickers[:len(l.tickers)-1]
	}
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, r.fd, nil)
	r.h.relayLeft(why)
}

// epollEvents is what a socket is in the set for: edge-triggered, and its peer's
// close, so that an end that came with the last bytes is not missed.
func epollEvents(events uint32) uint32 {
	if events&unix.EPOLLIN != 0 {
		events |= unix.EPOLLRDHUP
	}
	return events | unix.EPOLLET
}

// tick adds the streams' counts to the metrics and runs the handlers that asked
// for ticks.
func (l *relayLoop) tick() {
	var b [8]byte
	_, _ = unix.Read(l.timer, b[:])
	l.commitCounts()
	// A handler may drop sockets, its own or others: those past the end are
	// skipped, and one moved into a visited place waits for the next tick.
	for i := 0; i < len(l.tickers); i++ {
		r := l.tickers[i]
		r.h.relayTick(l.now)
		if i < len(l.tickers) && l.tickers[i] != r {
			i-- // r left, and the last ticker took its place
		}
	}
}

// commitCounts adds what the streams counted to the metrics.
func (l *relayLoop) commitCounts() {
	for c, n := range l.counts {
		(*c).Add(n)
	}
	clear(l.counts)
}

// newTicker returns a timerfd that fires every tick, in the set epfd.
func newTicker(epfd int, tick time.Duration) (int, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("relay loop: timerfd: %w", err)
	}
	every := unix.NsecToTimespec(tick.Nanoseconds())
	if err := unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: every, Value: every}, nil); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("relay loop: timerfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: tickID}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("relay loop: epoll_ctl: %w", err)
	}
	return fd, nil
}

// runCommands runs what was posted; false when the loop is closing.
func (l *relayLoop) runCommands() bool {
	var b [8]byte
	_, _ = unix.Read(l.wake, b[:])
	l.mu.Lock()
	cmds, closed := l.cmds, l.closed
	l.cmds = nil
	l.mu.Unlock()
	for _, cmd := range cmds {
		cmd()
	}
	if closed {
		l.shut(errRelayClosed)
		return false
	}
	return true
}

var errRelayClosed = errors.New("relay loop closed")

// shut lets every socket still in the loop go, as the loop ends.
func (l *relayLoop) shut(why error) {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	for i := range l.streams {
		if r := l.streams[i].r; r != nil {
			l.drop(r, why)
		}
	}
	l.commitCounts()
}

// close ends the loop; sockets still in it leave with errRelayClosed.
func (l *relayLoop) close() {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		wakeUp(l.wake)
		<-l.done
		unix.Close(l.wake)
		unix.Close(l.timer)
		l.epFile.Close()
	})
}

// takeSocket moves the body's socket out of Go's runtime poller, for the relay loop
// to read: a copy of its descriptor stays, and the connection closes. ok is false
// when the body cannot be read from the loop, and then nothing changed.
func (b *streamBody) takeSocket() (fd int, ok bool) {
	fd, err := dupSocket(b.conn)
	if err != nil {
		return -1, false
	}
	b.conn.Close()
	if b.stopDeadline != nil {
		// The closed connection needs no deadline, and is not kept for one.
		b.stopDeadline()
		b.stopDeadline = nil
	}
	b.conn, b.fd = nil, fd
	return fd, true
}

// dupSocket returns a descriptor of its own for conn's socket: once conn closes,
// which takes its own out of Go's poller, the relay loop reads it alone.
func dupSocket(conn net.Conn) (int, error) {
	raw := rawSocket(conn)
	if raw == nil {
		return -1, errors.New("relay loop: no socket of its own")
	}
	fd := -1
	var derr error
	if err := raw.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return fd, derr
}

// returnSocket gives the socket back to a connection read through Go's poller,
// after the relay loop let it go; sockErr is how the socket ended in the loop, if it
// did: the body's reads then end with it.
func (b *streamBody) returnSocket(sockErr error) {
	b.keepPending()
	fd := b.fd
	b.fd = -1
	if sockErr != nil {
		b.sockErr = sockErr
		unix.Close(fd)
		return
	}
	f := os.NewFile(uintptr(fd), "sse upstream")
	conn, err := net.FileConn(f) // a descriptor of its own, in the poller
	f.Close()
	if err != nil {
		b.sockErr = fmt.Errorf("sse upstream: back from the relay loop: %w", err)
		return
	}
	b.conn = conn
	if b.ctx != nil {
		// One registration at a time: a stream that goes back and forth keeps one.
		if b.stopDeadline != nil {
			b.stopDeadline()
		}
		b.stopDeadline = context.AfterFunc(b.ctx, func() { _ = conn.SetDeadline(longAgo) })
	}
}

// epollTake and readNow are system calls that never wait, made raw: the runtime
// does not see them, so it has no reason to hand the loop's processor to another
// thread (as it may for a syscall.Syscall that runs long), which would cost two
// thread switches for nothing.
func epollTake(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func readNow(fd int, b []byte) (int, error) {
	// recvfrom, not read: a socket's read goes through the file layer first.
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// writeNow writes what the socket takes at once, made raw (see epollTake): 0 and
// no error when it takes nothing now. sendto, not write, as recvfrom for reads;
// MSG_NOSIGNAL: a client gone is an error, not a signal.
func writeNow(fd int, b []byte) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_NOSIGNAL, 0, 0)
	switch errno {
	case 0:
		return int(n), nil
	case unix.EAGAIN:
		return 0, nil
	}
	return 0, errno
}

func closeFD(fd int) error {
	if fd < 0 {
		return nil
	}
	return unix.Close(fd)
}
