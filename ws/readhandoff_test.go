package ws_test

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/internal/sockio"
	"github.com/ssews/ssews/ws"
)

// waiter is a WaitReadable for tests: a goroutine per wait peeks at the socket
// until it is readable, then calls ready, unless stop came first. It counts the
// waits it took over.
type waiter struct {
	mu      sync.Mutex
	waits   int
	started chan struct{} // a value per wait taken over
	wg      sync.WaitGroup
}

func newWaiter(tb testing.TB) *waiter {
	w := &waiter{started: make(chan struct{}, 100)}
	tb.Cleanup(w.wg.Wait)
	return w
}

func (w *waiter) wait(conn net.Conn, ready func()) (stop func(), ok bool) {
	raw, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil, false
	}
	stopped := make(chan struct{})
	var once sync.Once
	w.mu.Lock()
	w.waits++
	w.mu.Unlock()
	w.started <- struct{}{}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case <-stopped:
				return
			case <-time.After(time.Millisecond):
			}
			readable := false
			_ = raw.Control(func(fd uintptr) { readable = sockio.Readable(fd) })
			if readable {
				ready()
				return
			}
		}
	}()
	return func() { once.Do(func() { close(stopped) }) }, true
}

// TestIdleReaderHandsOffItsWait: with WaitReadable, an idle reader hands its wait
// over and ends; bytes from the peer bring a reader back, which takes the message
// and hands off again; a pong counts as life.
func TestIdleReaderHandsOffItsWait(t *testing.T) {
	t.Parallel()
	w := newWaiter(t)
	got := make(chan ws.Message, 4)
	server, peer := newPair(t, ws.Options{
		QueueLen:     8,
		OnMessage:    func(m ws.Message) { got <- m },
		WaitReadable: w.wait,
	}, pairOptions{})
	recvWithin(t, w.started, "the first hand-off")
	for i, text := range []string{"one", "two"} {
		if err := peer.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
			t.Fatal(err)
		}
		if m := recvWithin(t, got, "the peer's message"); string(m.Data) != text {
			t.Fatalf("message %d: %q", i, m.Data)
		}
		recvWithin(t, w.started, "the hand-off after a message")
	}
	mustSend(t, server, ws.Message{Data: []byte("back")})
	if _, data, err := peerRead(t, peer); err != nil || string(data) != "back" {
		t.Fatalf("peer read %q, %v", data, err)
	}
}

// TestWaitingReaderEndsWithTheConnection: closing a connection whose reader waits
// through WaitReadable ends the wait and returns; Close still sees the peer's
// close frame, which brings a reader back.
func TestWaitingReaderEndsWithTheConnection(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"CloseNow", "Close"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			w := newWaiter(t)
			server, peer := newPair(t, ws.Options{OnMessage: func(ws.Message) {}, WaitReadable: w.wait}, pairOptions{})
			recvWithin(t, w.started, "the hand-off")
			go func() { // the peer answers the close frame, as gorilla does while it reads
				for {
					if _, _, err := peer.ReadMessage(); err != nil {
						return
					}
				}
			}()
			closed := make(chan error, 1)
			go func() {
				if how == "CloseNow" {
					closed <- server.CloseNow(websocket.CloseGoingAway, "bye")
				} else {
					closed <- server.Close(websocket.CloseNormalClosure, "bye")
				}
			}()
			if err := recvWithin(t, closed, how); err != nil {
				t.Errorf("%s: %v", how, err)
			}
			waitDone(t, server)
		})
	}
}

// TestWaitingReaderPeerSilence: while no reader waits, a peer that sends nothing,
// not even a pong, for 2*PingInterval fails the connection with a timeout, as a
// reader's deadline would; one that answers pings stays.
func TestWaitingReaderPeerSilence(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond // a peer under the race detector on a busy machine answers within two
	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		w := newWaiter(t)
		start := time.Now()
		server, _ := newPair(t, ws.Options{PingInterval: interval, OnMessage: func(ws.Message) {}, WaitReadable: w.wait}, pairOptions{})
		waitDone(t, server)
		if err := server.Err(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Err() = %v; want a timeout", err)
		}
		if d := time.Since(start); d < 2*interval {
			t.Errorf("failed after %v; want at least 2*PingInterval", d)
		}
	})
	t.Run("answering", func(t *testing.T) {
		t.Parallel()
		w := newWaiter(t)
		server, peer := newPair(t, ws.Options{PingInterval: interval, OnMessage: func(ws.Message) {}, WaitReadable: w.wait}, pairOptions{})
		expectPings(t, 6, notePings(peer), readUntilError(peer), server)
	})
}
