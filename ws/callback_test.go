package ws_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// TestOnMessageDeliversInOrderAndContextEnds: with OnMessage, messages arrive in
// order on the reader goroutine, and Context ends when the peer closes.
func TestOnMessageDeliversInOrderAndContextEnds(t *testing.T) {
	server, peer := rawPair(t, pairOptions{})
	got := make(chan string, 16)
	c := ws.New(server, ws.Options{OnMessage: func(m ws.Message) { got <- string(m.Data) }})
	defer c.CloseNow(websocket.CloseNormalClosure, "")
	for i := range 5 {
		peer.WriteMessage(websocket.TextMessage, []byte(fmt.Sprint(i)))
	}
	for i := range 5 {
		select {
		case m := <-got:
			if m != fmt.Sprint(i) {
				t.Fatalf("message %d: got %q", i, m)
			}
		case <-time.After(waitLimit):
			t.Fatalf("message %d did not arrive", i)
		}
	}
	if err := c.Context().Err(); err != nil {
		t.Fatalf("context done while open: %v", err)
	}
	peer.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"))
	select {
	case <-c.Context().Done():
	case <-time.After(waitLimit):
		t.Fatal("context not done after the peer closed")
	}
	if code, _, ok := ws.CloseCode(c.Err()); !ok || code != 4001 {
		t.Errorf("Err %v; want the peer's close 4001", c.Err())
	}
}

// TestReadWithOnMessageFails: with OnMessage the messages are the callback's; Read
// says so instead of waiting for ever.
func TestReadWithOnMessageFails(t *testing.T) {
	server, _ := rawPair(t, pairOptions{})
	c := ws.New(server, ws.Options{OnMessage: func(ws.Message) {}})
	defer c.CloseNow(websocket.CloseNormalClosure, "")
	if _, err := c.Read(t.Context()); err == nil {
		t.Fatal("Read with OnMessage: no error")
	}
}
