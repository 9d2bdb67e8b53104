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
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// relayLoop reads the upstream sockets of many per-client streams with one epoll
// instance and one goroutine, and hands each read to its stream's handler on that
// goroutine, as nginx's workers do. A stream fed through Go's runtime poller costs a
// goroutine wake-up and a read that finds nothing (EAGAIN) per event on top of the
// read and the client's write; here an event costs those two system calls and a
// share of one epoll_wait.
//
// A stream is in the loop only while it needs no waiting: its handler writes its
// client without blocking and asks to leave when it cannot (a slow client), and
// the loop lets it go when its socket ends. It then goes on in a goroutine of its
// own, with everything that waits (reconnects, blocking writes with deadlines).
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
	streams map[int32]*relayed
	next    int32
	buf     []byte // every read, shared: a handler uses the bytes up or copies them
	done    chan struct{}
}

// relayed is a socket in the loop.
type relayed struct {
	fd int
	id int32
	// onData handles bytes read from the socket; false asks to leave.
	onData func([]byte) bool
	// left runs once, on the loop, when the socket has left it: with nil when
	// onData asked, errLeaveAsked after leave, else how the socket ended.
	left func(error)
}

// errLeaveAsked is why a socket left the loop when something outside it asked
// (relayLoop.leave).
var errLeaveAsked = errors.New("relay: leave asked")

// relayReadSize is the loop's read buffer: as much as an upstream read delivers in
// the busiest stream, shared by all of its streams.
const relayReadSize = 64 << 10

func newRelayLoop() (*relayLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("relay loop: epoll: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("relay loop: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeID}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, fmt.Errorf("relay loop: epoll_ctl: %w", err)
	}
	// Non-blocking, the epoll descriptor goes into Go's poller as a file's.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, fmt.Errorf("relay loop: %w", err)
	}
	l := &relayLoop{epfd: epfd, epFile: os.NewFile(uintptr(epfd), "relay epoll"), wake: wake,
		streams: map[int32]*relayed{}, buf: make([]byte, relayReadSize), done: make(chan struct{})}
	ep, err := l.epFile.SyscallConn()
	if err != nil {
		unix.Close(wake)
		l.epFile.Close()
		return nil, fmt.Errorf("relay loop: %w", err)
	}
	l.ep = ep
	go l.loop()
	return l, nil
}

// add puts r's socket in the loop. It reports false, and r.left never runs, when
// the loop has closed.
func (l *relayLoop) add(r *relayed) bool {
	return l.post(func() {
		l.next++
		for l.next == wakeID || l.streams[l.next] != nil {
			l.next++
		}
		r.id = l.next
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: r.id}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, r.fd, &ev); err != nil {
			r.left(fmt.Errorf("relay loop: epoll_ctl: %w", err))
			return
		}
		l.streams[r.id] = r
	})
}

// leave takes r's socket out of the loop, unless it has left already; r.left runs
// with errLeaveAsked. Call it after add.
func (l *relayLoop) leave(r *relayed) {
	l.post(func() {
		if l.streams[r.id] == r {
			l.drop(r, errLeaveAsked)
		}
	})
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
		var one = [8]byte{1}
		_, _ = unix.Write(l.wake, one[:])
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
			case n == 0:
				return false // wait until the set is readable again
			}
			for _, ev := range events[:n] {
				if ev.Fd == wakeID {
					if !l.runCommands() {
						return true
					}
					continue
				}
				if r := l.streams[ev.Fd]; r != nil {
					l.read(r)
				}
			}
		}
	})
	if err != nil {
		l.shut(fmt.Errorf("relay loop: %w", err))
	}
}

// read reads r's socket once: the level-triggered epoll says so again if more is
// there.
func (l *relayLoop) read(r *relayed) {
	for {
		n, err := readNow(r.fd, l.buf)
		switch {
		case n > 0:
			if !r.onData(l.buf[:n]) {
				l.drop(r, nil)
			}
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
		case err != nil:
			l.drop(r, err)
		default:
			l.drop(r, io.EOF)
		}
		return
	}
}

// drop takes r's socket out of the set and tells r why.
func (l *relayLoop) drop(r *relayed, why error) {
	delete(l.streams, r.id)
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, r.fd, nil)
	r.left(why)
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
	for _, r := range l.streams {
		l.drop(r, why)
	}
}

// close ends the loop; sockets still in it leave with errRelayClosed.
func (l *relayLoop) close() {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		var one = [8]byte{1}
		_, _ = unix.Write(l.wake, one[:])
		<-l.done
		unix.Close(l.wake)
		l.epFile.Close()
	})
}

// takeSocket moves the body's socket out of Go's runtime poller, for the relay loop
// to read: a copy of its descriptor stays, and the connection closes. ok is false
// when the body cannot be read from the loop, and then nothing changed.
func (b *streamBody) takeSocket() (fd int, ok bool) {
	sc, isSys := b.conn.(syscall.Conn)
	if !isSys {
		return -1, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, false
	}
	var derr error
	if err := raw.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil || derr != nil {
		return -1, false
	}
	b.conn.Close()
	b.conn, b.fd = nil, fd
	return fd, true
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
		context.AfterFunc(b.ctx, func() { _ = conn.SetDeadline(longAgo) })
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
	n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func closeFD(fd int) error {
	if fd < 0 {
		return nil
	}
	return unix.Close(fd)
}
