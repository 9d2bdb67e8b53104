package ws_test

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// TestIdleConnHoldsOnlyAShallowReader: between messages a connection from Upgrade
// has no writer goroutine, and its reader waits for the socket outside gorilla's
// frame reading, so its stack can shrink to the smallest size. Pings and messages
// both ways still flow. (Not parallel: it inspects every goroutine.)
func TestIdleConnHoldsOnlyAShallowReader(t *testing.T) {
	got := make(chan ws.Message, 1)
	server, peer := newPair(t, ws.Options{
		PingInterval: 100 * time.Millisecond,
		QueueLen:     8,
		OnMessage:    func(m ws.Message) { got <- m },
	}, pairOptions{})
	pings := notePings(peer)
	fromServer := make(chan []byte, 1)
	go func() {
		for {
			_, data, err := peer.ReadMessage()
			if err != nil {
				return
			}
			fromServer <- data
		}
	}()

	mustSend(t, server, ws.Message{Data: []byte("to the peer")})
	if data := recvWithin(t, fromServer, "the server's message"); string(data) != "to the peer" {
		t.Fatalf("peer read %q", data)
	}
	if err := peer.WriteMessage(websocket.TextMessage, []byte("to the server")); err != nil {
		t.Fatal(err)
	}
	if m := recvWithin(t, got, "the peer's message"); string(m.Data) != "to the server" {
		t.Fatalf("server read %q", m.Data)
	}
	for range 2 {
		recvWithin(t, pings, "a ping")
	}
	waitIdle(t)

	// The peer's ping, taken between messages, is answered all the same.
	pongs := make(chan string, 1)
	peer.SetPongHandler(func(data string) error {
		pongs <- data
		return nil
	})
	if err := peer.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	if data := recvWithin(t, pongs, "the pong"); data != "are you there" {
		t.Fatalf("pong %q; want the ping's payload", data)
	}
	waitIdle(t)
	if err := peer.WriteMessage(websocket.TextMessage, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if m := recvWithin(t, got, "the peer's second message"); string(m.Data) != "still here" {
		t.Fatalf("server read %q", m.Data)
	}
	select {
	case <-server.Done():
		t.Fatalf("connection closed: %v", server.Err())
	default:
	}
}

// waitIdle waits until no connection's writer runs and no reader waits inside
// gorilla's frame reading.
func waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		stacks := allStacks()
		writing := bytes.Contains(stacks, []byte("ws.(*Conn).writeRun"))
		deepRead := false
		for _, g := range bytes.Split(stacks, []byte("\n\n")) {
			if bytes.Contains(g, []byte("ws.(*Conn).readLoop")) && bytes.Contains(g, []byte("websocket.(*Conn).NextReader")) {
				deepRead = true
			}
		}
		if !writing && !deepRead {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle connection: writer running %v, reader parked in gorilla %v\n%s", writing, deepRead, stacks)
		}
		runtime.Gosched()
	}
}

func allStacks() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
}

func recvWithin[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		tb.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
