package ws_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// Close drains the queue, then sends its close frame; a peer that answers
// lets Close return without waiting out its second.
func TestCloseDeliversQueuedThenCode(t *testing.T) {
	t.Parallel()
	const n = 10
	server, peer := newPair(t, ws.Options{QueueLen: n}, pairOptions{})
	for i := range n {
		mustSend(t, server, ws.Message{Data: fmt.Appendf(nil, "m%d", i)})
	}

	closed := make(chan error, 1)
	go func() { closed <- server.Close(websocket.CloseNormalClosure, "bye") }()

	for i := range n {
		_, data, err := peerRead(t, peer)
		if want := fmt.Sprintf("m%d", i); err != nil || string(data) != want {
			t.Fatalf("peer: got %q, %v; want %q", data, err, want)
		}
	}
	_, _, err := peerRead(t, peer) // gorilla answers the close frame here
	if code, text, ok := ws.CloseCode(err); !ok || code != websocket.CloseNormalClosure || text != "bye" {
		t.Fatalf("peer: got %v; want close 1000 %q", err, "bye")
	}

	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Close did not return")
	}
	select {
	case <-server.Done():
	default:
		t.Error("Done not closed after Close returned")
	}
	if err := server.Err(); err != nil {
		t.Errorf("Err() = %v; want nil", err)
	}
	if err := server.Close(websocket.CloseNormalClosure, "again"); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := server.CloseNow(websocket.CloseGoingAway, ""); err != nil {
		t.Errorf("CloseNow after Close: %v", err)
	}
	if _, err := server.Read(context.Background()); !errors.Is(err, ws.ErrClosed) || !ws.IsNormalClose(err) {
		t.Errorf("Read after Close: got %v; want ErrClosed", err)
	}
}

// A peer that never answers costs Close its one-second wait, no more.
func TestCloseSilentPeer(t *testing.T) {
	t.Parallel()
	server, _ := newPair(t, ws.Options{}, pairOptions{})
	start := time.Now()
	if err := server.Close(websocket.CloseGoingAway, "shutdown"); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v; want about 1s", d)
	}
}

// Close drops inbound data nobody reads, to reach the peer's answer to its
// close frame instead of waiting out its second.
func TestCloseWithUnreadInbound(t *testing.T) {
	t.Parallel()
	server, peer := newPair(t, ws.Options{}, pairOptions{})
	go func() { // the peer sends, then answers our close frame
		_ = peer.WriteMessage(websocket.TextMessage, []byte("never read"))
		for {
			if _, _, err := peer.ReadMessage(); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	if err := server.Close(websocket.CloseNormalClosure, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("Close took %v; want it to see the peer's close frame well before its 1s wait", d)
	}
}

// Draining to a peer that does not read is bounded by WriteTimeout; the
// failed drain is why the connection closed.
func TestCloseDrainTimeout(t *testing.T) {
	t.Parallel()
	server, _ := newPair(t, ws.Options{QueueLen: 4, WriteTimeout: 500 * time.Millisecond}, pairOptions{smallBuffers: true})
	fillUntilBlocked(t, server, 32<<10, 100*time.Millisecond)

	start := time.Now()
	_ = server.Close(websocket.CloseNormalClosure, "") // nil if the stuck write failed first
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v; want about WriteTimeout", d)
	}
	if err := server.Err(); !isTimeout(err) {
		t.Errorf("Err() = %v; want a timeout", err)
	}
}

// CloseNow skips a full queue: the peer, once it reads, gets what was on
// the wire and then 1013, not the queued messages.
func TestCloseNowSkipsQueue(t *testing.T) {
	t.Parallel()
	const queueLen, size = 4, 32 << 10
	server, peer := newPair(t, ws.Options{QueueLen: queueLen, WriteTimeout: stuckWriteTimeout}, pairOptions{smallBuffers: true})
	sent := fillUntilStuck(t, server, size)

	closed := make(chan error, 1)
	go func() { closed <- server.CloseNow(websocket.CloseTryAgainLater, "slow") }()

	// Once the queue refuses with ErrClosed, CloseNow has stopped the
	// writer from taking more messages: only then let the peer read.
	deadline := time.Now().Add(waitLimit)
	for !errors.Is(server.TrySend(ws.Message{}), ws.ErrClosed) {
		if time.Now().After(deadline) {
			t.Fatal("CloseNow did not close the queue")
		}
		runtime.Gosched()
	}

	got := 0
	for {
		_, _, err := peerRead(t, peer)
		if err == nil {
			got++
			continue
		}
		if code, text, ok := ws.CloseCode(err); !ok || code != websocket.CloseTryAgainLater || text != "slow" {
			t.Fatalf("peer after %d messages: got %v; want close 1013 %q", got, err, "slow")
		}
		break
	}
	if got > sent-queueLen {
		t.Errorf("peer got %d of %d messages; want the %d queued ones skipped", got, sent, queueLen)
	}

	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("CloseNow: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("CloseNow did not return")
	}
	if err := server.Err(); err != nil {
		t.Errorf("Err() = %v; want nil", err)
	}
}

// With the socket full the close frame cannot go out; CloseNow still
// closes the connection within its short deadline.
func TestCloseNowSocketFull(t *testing.T) {
	t.Parallel()
	server, _ := newPair(t, ws.Options{WriteTimeout: stuckWriteTimeout}, pairOptions{smallBuffers: true})
	fillUntilStuck(t, server, 32<<10)

	start := time.Now()
	_ = server.CloseNow(websocket.CloseGoingAway, "shutdown") // the frame may not fit
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("CloseNow took %v; want at most about 1s", d)
	}
	select {
	case <-server.Done():
	default:
		t.Fatal("Done not closed after CloseNow returned")
	}
}

// CloseNow cuts short a Close that is draining to a stuck peer.
func TestCloseNowDuringClose(t *testing.T) {
	t.Parallel()
	server, _ := newPair(t, ws.Options{QueueLen: 4, WriteTimeout: stuckWriteTimeout}, pairOptions{smallBuffers: true})
	fillUntilStuck(t, server, 32<<10)

	closed := make(chan error, 1)
	go func() { closed <- server.Close(websocket.CloseNormalClosure, "") }()
	// Wait until Close has begun: the queue then refuses new messages.
	deadline := time.Now().Add(waitLimit)
	for !errors.Is(server.TrySend(ws.Message{}), ws.ErrClosed) {
		if time.Now().After(deadline) {
			t.Fatal("Close did not close the queue")
		}
		runtime.Gosched()
	}
	_ = server.CloseNow(websocket.CloseGoingAway, "")
	select {
	case <-closed:
	case <-time.After(waitLimit):
		t.Fatal("Close did not return after CloseNow")
	}
}

// Close and CloseNow from many goroutines at once: one acts, all return
// once the connection is closed (run with -race).
func TestConcurrentClose(t *testing.T) {
	t.Parallel()
	server, peer := newPair(t, ws.Options{QueueLen: 8}, pairOptions{})
	go func() { // answer the close frame
		for {
			if _, _, err := peer.ReadMessage(); err != nil {
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_ = server.TrySend(ws.Message{Data: []byte("x")})
			if i%2 == 0 {
				_ = server.Close(websocket.CloseNormalClosure, "")
			} else {
				_ = server.CloseNow(websocket.CloseGoingAway, "")
			}
			select {
			case <-server.Done():
			default:
				t.Error("Close returned before Done was closed")
			}
		})
	}
	wg.Wait()
	if err := server.Err(); err != nil {
		t.Errorf("Err() = %v; want nil", err)
	}
}
