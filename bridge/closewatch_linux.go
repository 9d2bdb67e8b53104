//go:build linux

package bridge

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// closeWatcher hears hang-ups for many connections with one epoll instance and one
// goroutine: Go's runtime poller only wakes a goroutine parked in Read, and thousands
// of parked readers are most of what an idle shared client would otherwise cost.
// Connections are registered one-shot: an event disarms its connection until it is
// looked at, so a client that sends bytes is read from (and ignored) at most once per
// event, and a hang-up is reported once.
type closeWatcher struct {
	epfd  int
	wake  int // eventfd that close writes to, to end the loop
	spawn func(func())

	mu      sync.Mutex // held around every use of epfd but the wait
	next    uint32
	watches map[uint32]*watched
	closed  bool
	done    chan struct{}
}

// watched is one registered connection.
type watched struct {
	raw  syscall.RawConn
	gone func()
	// readable: gone is the ready of waitReadable, run at the first event.
	readable bool
}

// wakeID is the epoll data of the wake eventfd; connections get ids from 1.
const wakeID = 0

// newEpollWithWake returns an epoll instance with an eventfd in it, under wakeID,
// that a write wakes the instance's loop with.
func newEpollWithWake() (epfd, wake int, err error) {
	epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1, -1, fmt.Errorf("epoll: %w", err)
	}
	wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return -1, -1, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeID}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return -1, -1, fmt.Errorf("epoll_ctl: %w", err)
	}
	return epfd, wake, nil
}

// wakeUp wakes the loop of the epoll instance that the eventfd wake is in.
func wakeUp(wake int) {
	var one = [8]byte{1}
	_, _ = unix.Write(wake, one[:])
}

// newCloseWatcher starts the watcher's goroutine; spawn runs a hung-up connection's
// gone, so a slow session never holds up the others. When epoll cannot be set up,
// the watcher it returns with the error gives each connection a reading goroutine.
func newCloseWatcher(spawn func(func())) (*closeWatcher, error) {
	fallback := &closeWatcher{epfd: -1, spawn: spawn}
	epfd, wake, err := newEpollWithWake()
	if err != nil {
		return fallback, fmt.Errorf("close watcher: %w", err)
	}
	w := &closeWatcher{epfd: epfd, wake: wake, spawn: spawn, watches: map[uint32]*watched{}, done: make(chan struct{})}
	go w.loop()
	return w, nil
}

// watch registers conn; gone runs (on a goroutine of spawn) once its peer hangs up.
// Connections without a descriptor of their own (TLS) get a reading goroutine.
func (w *closeWatcher) watch(conn net.Conn, gone func()) (stop func()) {
	raw := rawSocket(conn)
	if raw == nil || w.epfd < 0 {
		w.spawn(func() { watchByRead(conn, gone) })
		return func() {}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.spawn(func() { watchByRead(conn, gone) })
		return func() {}
	}
	id := w.newID()
	if err := w.arm(raw, id, unix.EPOLL_CTL_ADD); err != nil {
		w.spawn(func() { watchByRead(conn, gone) })
		return func() {}
	}
	w.watches[id] = &watched{raw: raw, gone: gone}
	return func() { w.unwatch(raw, id) }
}

// waitReadable runs ready (on a goroutine of spawn) once conn is readable or hung
// up, for a WebSocket reader that handed its wait over (ws.Options.WaitReadable);
// stop ends the wait. ok is false when conn cannot be watched (no descriptor of its
// own, no epoll): its reader waits itself.
func (w *closeWatcher) waitReadable(conn net.Conn, ready func()) (stop func(), ok bool) {
	raw := rawSocket(conn)
	if raw == nil || w.epfd < 0 {
		return nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, false
	}
	id := w.newID()
	if err := w.arm(raw, id, unix.EPOLL_CTL_ADD); err != nil {
		return nil, false
	}
	w.watches[id] = &watched{raw: raw, gone: ready, readable: true}
	return func() { w.unwatch(raw, id) }, true
}

// unwatch ends the watch of raw under id, if it is still on.
func (w *closeWatcher) unwatch(raw syscall.RawConn, id uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.watches[id]; ok && !w.closed {
		delete(w.watches, id)
		_ = raw.Control(func(fd uintptr) { _ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) })
	}
}

// newID returns an id no registered connection has. Callers hold w.mu.
func (w *closeWatcher) newID() uint32 {
	for {
		w.next++
		if _, taken := w.watches[w.next]; !taken && w.next != wakeID {
			return w.next
		}
	}
}

// arm (re-)registers raw's descriptor for one event: readable or hung up. Callers
// hold w.mu.
func (w *closeWatcher) arm(raw syscall.RawConn, id uint32, op int) error {
	var err error
	cerr := raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(id)}
		err = unix.EpollCtl(w.epfd, op, int(fd), &ev)
	})
	return errors.Join(cerr, err)
}

func (w *closeWatcher) loop() {
	defer close(w.done)
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(w.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			id := uint32(ev.Fd)
			if id == wakeID {
				return
			}
			w.handle(id, ev.Events)
		}
	}
}

// handle looks at the connection id after an event: bytes are read and ignored and
// the connection is armed again; a hang-up ends the watch and runs its gone. A
// waitReadable watch ends at its first event and runs its ready.
func (w *closeWatcher) handle(id uint32, events uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.watches[id]
	if c == nil || w.closed {
		return // its session stopped the watch meanwhile, or the server is closing
	}
	if !c.readable && events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 && drain(c.raw) && w.arm(c.raw, id, unix.EPOLL_CTL_MOD) == nil {
		return
	}
	delete(w.watches, id)
	if c.readable { // its reader reads on; the descriptor leaves the set
		_ = c.raw.Control(func(fd uintptr) { _ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) })
	}
	w.spawn(c.gone)
}

// drain reads and drops what the peer sent, without waiting; false means the peer
// has closed (EOF) or the connection failed.
func drain(raw syscall.RawConn) bool {
	var buf [512]byte
	open := true
	err := raw.Read(func(fd uintptr) bool {
		for {
			n, err := unix.Read(int(fd), buf[:])
			switch {
			case errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EAGAIN):
				return true
			case err != nil || n == 0:
				open = false
				return true
			}
		}
	})
	return open && err == nil
}

// close ends the watcher's goroutine and releases its descriptors. Connections still
// registered are not told anything more, and later ones get a reading goroutine:
// call it once every session has ended.
func (w *closeWatcher) close() {
	w.mu.Lock()
	if w.epfd < 0 || w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true // from here on, nothing but the loop touches epfd
	w.mu.Unlock()
	wakeUp(w.wake)
	<-w.done
	unix.Close(w.wake)
	unix.Close(w.epfd)
}
