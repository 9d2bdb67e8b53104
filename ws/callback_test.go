package ws_test

import (
	"fmt"
	"strings"
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

// maskedFrames is the client frames of msgs (text, masked with a zero key), for a
// peer that sends them with one network write.
func maskedFrames(msgs ...string) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, 0x81, 0x80|byte(len(m)), 0, 0, 0, 0)
		b = append(b, m...)
	}
	return b
}

// recordCalls makes OnMessage and OnWait write "m:<data>" and "w" to a channel.
func recordCalls(opts *ws.Options) <-chan string {
	calls := make(chan string, 64)
	opts.OnMessage = func(m ws.Message) { calls <- "m:" + string(m.Data) }
	opts.OnWait = func() { calls <- "w" }
	return calls
}

// nextCall returns the next recorded call, failing after waitLimit.
func nextCall(t *testing.T, calls <-chan string) string {
	t.Helper()
	select {
	case c := <-calls:
		return c
	case <-time.After(waitLimit):
		t.Fatal("no OnMessage or OnWait call")
		return ""
	}
}

// TestOnWaitFollowsWhatOneReadBrought: messages that arrive together are handed to
// OnMessage back to back, and OnWait comes once they all have, before the
// connection waits for more.
func TestOnWaitFollowsWhatOneReadBrought(t *testing.T) {
	server, peer := rawPair(t, pairOptions{})
	var opts ws.Options
	calls := recordCalls(&opts)
	c := ws.New(server, opts)
	defer c.CloseNow(websocket.CloseNormalClosure, "")
	if _, err := peer.UnderlyingConn().Write(maskedFrames("a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	var seq []string
	for len(seq) == 0 || seq[len(seq)-1] != "w" || len(seq) < 4 {
		call := nextCall(t, calls)
		if len(seq) == 0 && call == "w" {
			continue // the reader waiting for the first bytes
		}
		seq = append(seq, call)
	}
	if got := strings.Join(seq, " "); got != "m:a m:b m:c w" {
		t.Errorf("calls %q; want the three messages back to back, then OnWait", got)
	}
}

// TestOnWaitAfterEveryMessageWithoutBatching: on a connection ws cannot watch
// the network reads of (gorilla's own Upgrader), OnWait follows every message.
func TestOnWaitAfterEveryMessageWithoutBatching(t *testing.T) {
	server, peer := rawPair(t, pairOptions{plain: true})
	var opts ws.Options
	calls := recordCalls(&opts)
	c := ws.New(server, opts)
	defer c.CloseNow(websocket.CloseNormalClosure, "")
	if _, err := peer.UnderlyingConn().Write(maskedFrames("a", "b")); err != nil {
		t.Fatal(err)
	}
	var seq []string
	for range 4 {
		seq = append(seq, nextCall(t, calls))
	}
	if got := strings.Join(seq, " "); got != "m:a w m:b w" {
		t.Errorf("calls %q; want OnWait after each message", got)
	}
}
