package ws_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

func TestReadLimit(t *testing.T) {
	t.Parallel()
	const limit = 1024
	server, peer := newPair(t, ws.Options{ReadLimit: limit}, pairOptions{})

	if err := peer.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("a"), limit)); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, server); len(got.Data) != limit {
		t.Fatalf("Read: got %d bytes; want %d", len(got.Data), limit)
	}

	if err := peer.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("a"), limit+1)); err != nil {
		t.Fatal(err)
	}
	if err := readErr(t, server); err != websocket.ErrReadLimit {
		t.Errorf("Read: got %v; want websocket.ErrReadLimit", err)
	}
	waitDone(t, server)

	_, _, err := peerRead(t, peer)
	if code, _, ok := ws.CloseCode(err); !ok || code != websocket.CloseMessageTooBig {
		t.Errorf("peer: got %v; want close %d", err, websocket.CloseMessageTooBig)
	}
}

// A peer that answers pings (gorilla does while it reads) stays connected
// across many ping intervals.
func TestPingHealthyPeer(t *testing.T) {
	t.Parallel()
	server, peer := newPair(t, ws.Options{PingInterval: 100 * time.Millisecond}, pairOptions{})

	pings := make(chan struct{}, 100)
	answer := peer.PingHandler()
	peer.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return answer(data)
	})
	peerDone := make(chan error, 1)
	go func() {
		for {
			if _, _, err := peer.ReadMessage(); err != nil {
				peerDone <- err
				return
			}
		}
	}()

	// Five pings span at least 400ms, twice the 200ms read deadline.
	for i := range 5 {
		select {
		case <-pings:
		case <-server.Done():
			t.Fatalf("connection closed after %d pings: %v", i, server.Err())
		case <-time.After(waitLimit):
			t.Fatalf("got %d pings; want 5", i)
		}
	}
	select {
	case <-server.Done():
		t.Fatalf("connection closed: %v", server.Err())
	default:
	}

	if err := server.Close(websocket.CloseNormalClosure, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-peerDone:
	case <-time.After(waitLimit):
		t.Fatal("peer reader did not stop")
	}
}

// A peer that stops reading never answers pings: Read fails with a timeout
// soon after 2*PingInterval.
func TestPingDeadPeer(t *testing.T) {
	t.Parallel()
	start := time.Now() // before New sets the first read deadline
	server, _ := newPair(t, ws.Options{PingInterval: 50 * time.Millisecond}, pairOptions{})

	err := readErr(t, server)
	if !isTimeout(err) {
		t.Fatalf("Read: got %v; want a timeout", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("Read failed after %v; want at least 2*PingInterval", d)
	}
	waitDone(t, server)
	if !isTimeout(server.Err()) {
		t.Errorf("Err() = %v; want a timeout", server.Err())
	}
}

// Any frame shows life: a peer that pings us but never reads our pings
// keeps the connection up; once it goes quiet, Read times out.
func TestPeerPingsShowLife(t *testing.T) {
	t.Parallel()
	server, peer := newPair(t, ws.Options{PingInterval: 100 * time.Millisecond}, pairOptions{})

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range 20 { // 400ms, twice the 200ms read deadline
		select {
		case <-tick.C:
		case <-server.Done():
			t.Fatalf("connection closed while the peer was pinging: %v", server.Err())
		}
		if err := peer.WriteControl(websocket.PingMessage, nil, time.Now().Add(waitLimit)); err != nil {
			t.Fatal(err)
		}
	}
	tick.Stop()

	if err := readErr(t, server); !isTimeout(err) {
		t.Fatalf("Read after the peer went quiet: got %v; want a timeout", err)
	}
}
