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

	pings := notePings(peer)
	peerDone := readUntilError(peer)

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

// Messages read ahead of Read are still delivered, in order, before the
// peer's close frame that followed them.
func TestReadDeliversBeforeClose(t *testing.T) {
	t.Parallel()
	server, peer := newPair(t, ws.Options{}, pairOptions{})
	for _, m := range []string{"a", "b", "c"} {
		if err := peer.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done")
	if err := peer.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, server) // the reader has seen the close frame: all is read ahead

	for _, want := range []string{"a", "b", "c"} {
		if got := mustRead(t, server); string(got.Data) != want {
			t.Fatalf("Read: got %q; want %q", got.Data, want)
		}
	}
	if err := readErr(t, server); !ws.IsNormalClose(err) {
		t.Fatalf("Read after the messages: got %v; want the peer's close 1000", err)
	}
}

// Nobody reads: the reader stops after a bounded read-ahead and TCP holds
// the peer back; nothing is lost once Read catches up.
func TestReadBackpressure(t *testing.T) {
	t.Parallel()
	s, peer := rawPair(t, pairOptions{})
	_ = tcpConn(s).SetReadBuffer(8 << 10)
	_ = tcpConn(peer).SetWriteBuffer(8 << 10)
	server := ws.New(s, ws.Options{})
	t.Cleanup(func() { _ = server.CloseNow(websocket.CloseGoingAway, "") })

	msg := make([]byte, 16<<10)
	written := 0
	for ; written < 10_000; written++ {
		_ = peer.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		if err := peer.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			if !isTimeout(err) {
				t.Fatalf("peer write: %v", err)
			}
			break
		}
	}
	if written == 10_000 {
		t.Fatal("the peer never blocked: inbound messages are not bounded")
	}
	// 64 KiB read ahead, plus what the sockets hold.
	t.Logf("the peer blocked after %d KiB", written*len(msg)>>10)
	if written*len(msg) > 4<<20 {
		t.Errorf("the peer wrote %d KiB before blocking; want the read-ahead bounded", written*len(msg)>>10)
	}
	for i := range written {
		if got := mustRead(t, server); len(got.Data) != len(msg) {
			t.Fatalf("message %d: %d bytes; want %d", i, len(got.Data), len(msg))
		}
	}
}

// TestPingsBothWays: pings written without the writer goroutine are frames the peer
// takes, unmasked from a server's connection and masked from a client's (gorilla
// closes the connection on a frame masked the wrong way), with their timer re-armed.
func TestPingsBothWays(t *testing.T) {
	t.Parallel()
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			serverEnd, clientEnd := rawPair(t, pairOptions{})
			pinger, peer := serverEnd, clientEnd
			if side == "client" {
				pinger, peer = clientEnd, serverEnd
			}
			// Two intervals are what the peer has to answer in: long enough for a
			// loaded machine running the race detector.
			c := ws.New(pinger, ws.Options{PingInterval: 100 * time.Millisecond})
			defer c.CloseNow(websocket.CloseNormalClosure, "")
			expectPings(t, 5, notePings(peer), readUntilError(peer), c)
		})
	}
}
