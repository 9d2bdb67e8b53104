package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/ssews/ssews/sse"
)

// demoWait bounds every wait of these tests.
const demoWait = 10 * time.Second

// startTestUpstream runs the demo upstream with a fast clock; the test closes it.
func startTestUpstream(t *testing.T) *demoUpstream {
	t.Helper()
	u, err := startDemoUpstream(slog.New(slog.DiscardHandler), 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func closeTestUpstream(t *testing.T, u *demoUpstream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), demoWait)
	defer cancel()
	if err := u.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// openFeed GETs the feed, resuming after lastID when it is set.
func openFeed(t *testing.T, u *demoUpstream, lastID string) (*sse.Parser, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), demoWait)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.url("http", "/events").String(), nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("GET /events: %d %q", resp.StatusCode, ct)
	}
	return sse.NewParser(resp.Body, 1<<20), func() { cancel(); resp.Body.Close() }
}

// TestDemoFeed: the feed numbers its events, resumes after Last-Event-ID without a
// gap, takes published messages, and ends its streams on Close.
func TestDemoFeed(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	u := startTestUpstream(t)

	p, stop := openFeed(t, u, "")
	first, err := p.Next()
	if err != nil {
		t.Fatal(err)
	}
	second, _ := p.Next()
	n1, _ := strconv.Atoi(first.ID)
	if n2, _ := strconv.Atoi(second.ID); n1 == 0 || n2 != n1+1 {
		t.Fatalf("ids %q, %q; want consecutive numbers", first.ID, second.ID)
	}
	stop()

	p, stop = openFeed(t, u, first.ID)
	if ev, err := p.Next(); err != nil || ev.ID != second.ID || ev.Data != second.Data {
		t.Fatalf("resumed after %s: %+v, %v; want %+v", first.ID, ev, err, second)
	}
	resp, err := http.Post(u.url("http", "/publish").String(), "text/plain", strings.NewReader(" hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /publish: %d", resp.StatusCode)
	}
	for {
		ev, err := p.Next()
		if err != nil {
			t.Fatalf("no chat event: %v", err)
		}
		if ev.Type == "chat" {
			if ev.Data != "hello" {
				t.Fatalf("chat data %q; want hello", ev.Data)
			}
			break
		}
	}

	closeTestUpstream(t, u)
	for {
		if _, err := p.Next(); err != nil {
			break // the stream ended
		}
	}
	stop()
	http.DefaultClient.CloseIdleConnections()
}

// TestDemoChat: a message from one chat client reaches all of them as a chat
// envelope, a client resumes with ?since=, and Close says goodbye with 1001.
func TestDemoChat(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	u := startTestUpstream(t)
	chatURL := u.url("ws", "/chat").String()
	a, _, err := websocket.DefaultDialer.Dial(chatURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _, err := websocket.DefaultDialer.Dial(chatURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if err := a.WriteMessage(websocket.TextMessage, []byte("hi all")); err != nil {
		t.Fatal(err)
	}
	var chatID string
	for _, c := range []*websocket.Conn{a, b} {
		env := readEnvelope(t, c, "chat")
		var m chatMessage
		if err := json.Unmarshal(env.Data, &m); err != nil || m.Text != "hi all" || !strings.HasPrefix(m.From, "guest-") {
			t.Fatalf("chat data %s; want from guest-N, text hi all", env.Data)
		}
		chatID = env.ID
	}

	n, _ := strconv.Atoi(chatID)
	r, _, err := websocket.DefaultDialer.Dial(chatURL+"?"+demoResumeParam+"="+strconv.Itoa(n-1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if env := readEnvelope(t, r, ""); env.ID != chatID || env.Event != "chat" {
		t.Fatalf("resumed after %d: %+v; want the chat event %s", n-1, env, chatID)
	}

	closeTestUpstream(t, u)
	r.SetReadDeadline(time.Now().Add(demoWait))
	for {
		if _, _, err := r.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Fatalf("read after Close: %v; want close 1001", err)
			}
			break
		}
	}
}

// rawEnvelope is an envelope with its data left as JSON.
type rawEnvelope struct {
	Event string          `json:"event"`
	ID    string          `json:"id"`
	Data  json.RawMessage `json:"data"`
}

// readEnvelope reads envelopes until one of type typ ("" for any).
func readEnvelope(t *testing.T, c *websocket.Conn, typ string) rawEnvelope {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(demoWait))
	for {
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var env rawEnvelope
		if err := json.Unmarshal(p, &env); err != nil || env.ID == "" || len(env.Data) == 0 {
			t.Fatalf("frame %s is not an envelope with id and data", p)
		}
		if typ == "" || env.Event == typ {
			return env
		}
	}
}

// TestDemoHubDropsSlowSubscriber: a subscriber that does not read is dropped once
// its queue is full, and the hub's history stays bounded.
func TestDemoHubDropsSlowSubscriber(t *testing.T) {
	h := newHub()
	s, _ := h.subscribe("")
	for range demoHistory + 10 {
		h.publish("tick", "x", false)
	}
	got := 0
	for range s.C {
		got++
	}
	if got != demoQueue {
		t.Errorf("slow subscriber got %d events before it was dropped; want %d", got, demoQueue)
	}
	if len(h.history) != demoHistory {
		t.Errorf("history holds %d events; want %d", len(h.history), demoHistory)
	}
	_, backlog := h.subscribe("1")
	if len(backlog) != demoHistory || backlog[0].ID != 11 {
		t.Errorf("resume after an id gone from the history: %d events from %d; want %d from 11", len(backlog), backlog[0].ID, demoHistory)
	}
	h.close()
	if s, _ := h.subscribe(""); s != nil {
		if _, open := <-s.C; open {
			t.Error("subscribing to a closed hub gave an open subscription")
		}
	}
}

func TestDemoURL(t *testing.T) {
	for _, tc := range []struct {
		addr string
		tls  bool
		want string
	}{
		{"[::]:8080", false, "http://localhost:8080/"},
		{"0.0.0.0:8080", true, "https://localhost:8080/"},
		{"127.0.0.1:4000", false, "http://127.0.0.1:4000/"},
		{"[::1]:4000", false, "http://[::1]:4000/"},
	} {
		if got := demoURL(tc.addr, tc.tls); got != tc.want {
			t.Errorf("demoURL(%q, %v) = %q; want %q", tc.addr, tc.tls, got, tc.want)
		}
	}
}
