//go:build linux

package bridge

import (
	"errors"
	"io"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair returns two connected stream sockets, closed at the end of the test:
// the loop reads one, the test writes the other.
func socketPair(t *testing.T) (loopEnd, testEnd int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// probe is a relayed socket that reports what the loop does with it.
type probe struct {
	relayed
	onData func([]byte) bool
	onLeft func(error)
	data   chan string
	why    chan error
}

func newProbe(fd int, keep func(string) bool) *probe {
	p := &probe{data: make(chan string, 16), why: make(chan error, 2)}
	p.fd, p.h = fd, p
	p.onData = func(b []byte) bool {
		p.data <- string(b)
		return keep(string(b))
	}
	p.onLeft = func(err error) { p.why <- err }
	return p
}

func (p *probe) relayData(b []byte) bool { return p.onData(b) }
func (p *probe) relayLeft(why error)     { p.onLeft(why) }
func (p *probe) relayWritable()          {}
func (p *probe) relayTick(time.Time)     {}
func (p *probe) relayWarm() uintptr      { return 0 }

func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5s", what)
		panic("unreachable")
	}
}

// expectNoLeave fails if the socket left the loop again: left runs once.
func (p *probe) expectNoLeave(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.why:
		t.Fatalf("left a second time: %v", err)
	default:
	}
}

func newTestLoop(t *testing.T) *relayLoop {
	t.Helper()
	l, err := newRelayLoop(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	return l
}

func TestRelayLoopReadsUntilTheHandlerLeaves(t *testing.T) {
	l := newTestLoop(t)
	fd, peer := socketPair(t)
	p := newProbe(fd, func(s string) bool { return s != "stop" })
	if !l.add(&p.relayed) {
		t.Fatal("add refused by an open loop")
	}
	for _, s := range []string{"a", "bc", "stop"} {
		unix.Write(peer, []byte(s))
		if got := within(t, p.data, "read"); got != s {
			t.Fatalf("read %q; want %q", got, s)
		}
	}
	if err := within(t, p.why, "leave"); err != nil {
		t.Fatalf("left with %v; want nil (the handler asked)", err)
	}
	l.leave(&p.relayed) // after it left: nothing more happens
	unix.Write(peer, []byte("late"))
	// A socket added after shows the loop went on, and that the first saw nothing.
	fd2, peer2 := socketPair(t)
	p2 := newProbe(fd2, func(string) bool { return true })
	l.add(&p2.relayed)
	unix.Write(peer2, []byte("x"))
	within(t, p2.data, "read of the second socket")
	select {
	case s := <-p.data:
		t.Fatalf("read %q after leaving", s)
	default:
	}
	p.expectNoLeave(t)
}

func TestRelayLoopSocketEnd(t *testing.T) {
	l := newTestLoop(t)
	fd, peer := socketPair(t)
	p := newProbe(fd, func(string) bool { return true })
	l.add(&p.relayed)
	unix.Write(peer, []byte("last"))
	within(t, p.data, "read")
	unix.Shutdown(peer, unix.SHUT_WR)
	if err := within(t, p.why, "leave"); err != io.EOF {
		t.Fatalf("left with %v; want io.EOF", err)
	}
	p.expectNoLeave(t)
}

func TestRelayLoopLeaveAndClose(t *testing.T) {
	l, err := newRelayLoop(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fd, _ := socketPair(t)
	asked := newProbe(fd, func(string) bool { return true })
	l.add(&asked.relayed)
	l.leave(&asked.relayed)
	if err := within(t, asked.why, "leave"); err != errLeaveAsked {
		t.Fatalf("left with %v; want errLeaveAsked", err)
	}
	fd2, _ := socketPair(t)
	open := newProbe(fd2, func(string) bool { return true })
	l.add(&open.relayed)
	l.close()
	if err := within(t, open.why, "leave at close"); !errors.Is(err, errRelayClosed) {
		t.Fatalf("left with %v; want errRelayClosed", err)
	}
	fd3, _ := socketPair(t)
	if l.add(&newProbe(fd3, func(string) bool { return true }).relayed) {
		t.Fatal("a closed loop took a socket")
	}
	asked.expectNoLeave(t)
	open.expectNoLeave(t)
	l.close() // twice is fine
}

// TestRelayLoopFastSocketStarvesNothing: a socket that always has more to read is
// read a buffer at a time, in turn with the others, and still leaves when asked.
func TestRelayLoopFastSocketStarvesNothing(t *testing.T) {
	l := newTestLoop(t)
	fd, peer := socketPair(t)
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() { // keeps the socket readable
		defer close(writerDone)
		chunk := make([]byte, 1<<16)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := unix.Write(peer, chunk); err != nil && err != unix.EAGAIN {
				return
			}
		}
	}()
	defer func() { close(stop); <-writerDone }()
	fast := &probe{why: make(chan error, 2)}
	fast.fd, fast.h = fd, fast
	fast.onData = func([]byte) bool { return true }
	fast.onLeft = func(err error) { fast.why <- err }
	l.add(&fast.relayed)
	fd2, peer2 := socketPair(t)
	slow := newProbe(fd2, func(string) bool { return true })
	l.add(&slow.relayed)
	unix.Write(peer2, []byte("x"))
	if got := within(t, slow.data, "the other socket's read"); got != "x" {
		t.Fatalf("read %q", got)
	}
	l.leave(&fast.relayed)
	if err := within(t, fast.why, "the fast socket's leave"); err != errLeaveAsked {
		t.Fatalf("left with %v", err)
	}
}

// TestRelayLoopEndWithTheLastBytes: a peer's last bytes and its close, there
// together before the loop reads, are both told: no edge follows the close.
func TestRelayLoopEndWithTheLastBytes(t *testing.T) {
	l := newTestLoop(t)
	fd, peer := socketPair(t)
	p := newProbe(fd, func(string) bool { return true })
	unix.Write(peer, []byte("last"))
	unix.Shutdown(peer, unix.SHUT_WR)
	l.add(&p.relayed)
	if got := within(t, p.data, "read"); got != "last" {
		t.Fatalf("read %q", got)
	}
	if err := within(t, p.why, "leave"); err != io.EOF {
		t.Fatalf("left with %v; want io.EOF", err)
	}
}
