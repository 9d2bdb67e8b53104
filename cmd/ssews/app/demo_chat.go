package app

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// demoResumeParam is the query parameter that ssews's /ws route sends the last
// event id in when it (re)connects to the chat (route option resume_param).
const demoResumeParam = "since"

// chatUpgrader accepts the chat's WebSocket connections. They come from ssews, not
// from browsers, so there is no origin to check.
var chatUpgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 1024,
	CheckOrigin:     func(*http.Request) bool { return true },
}

// envelope is the chat's JSON message: the shape ssews reads as event, id and data.
type envelope struct {
	Event string `json:"event"`
	ID    string `json:"id"`
	Data  any    `json:"data"`
}

// chatMessage is the data of a chat event: who said what.
type chatMessage struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// serveChat is the demo's WebSocket upstream: every message a connection sends is
// broadcast to all of them as a chat envelope, and the chat hub's other events
// (presence) go out the same way. The handler returns only when both its reader and
// its writer have ended; the upstream waits for it on shutdown.
func (u *demoUpstream) serveChat(w http.ResponseWriter, r *http.Request) {
	if !u.chatConns.enter() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer u.chatConns.leave()
	// Subscribed before the handshake completes, so that no event published after
	// the client is connected can be missed.
	sub, backlog := u.chat.subscribe(r.URL.Query().Get(demoResumeParam))
	conn, err := chatUpgrader.Upgrade(w, r, nil)
	if err != nil {
		u.chat.unsubscribe(sub)
		return // the upgrader has answered
	}
	defer conn.Close()
	conn.SetReadLimit(demoPublishLimit)
	name := "guest-" + strconv.FormatUint(u.guests.Add(1), 10)

	written := make(chan struct{})
	go func() {
		defer close(written)
		writeChat(conn, sub, backlog)
	}()
	u.readChat(conn, name)
	u.chat.unsubscribe(sub) // ends the writer if the reader ended first
	<-written
}

// readChat broadcasts each text message of conn until it fails or closes. The writer
// closing the connection ends it too.
func (u *demoUpstream) readChat(conn *websocket.Conn, name string) {
	for {
		typ, p, err := conn.ReadMessage()
		if err != nil {
			return
		}
		text := strings.TrimSpace(string(p))
		if typ != websocket.TextMessage || text == "" || !utf8.ValidString(text) {
			continue
		}
		data, _ := json.Marshal(chatMessage{From: name, Text: text})
		u.chat.publish("chat", string(data), true)
	}
}

// writeChat sends the backlog and then every event of sub as envelopes, until the
// hub closes sub (unsubscribed, too slow, or shutting down) or a write fails; then it
// says goodbye and closes the connection, which ends the reader.
func writeChat(conn *websocket.Conn, sub *subscriber, backlog []demoEvent) {
	defer conn.Close()
	for _, ev := range backlog {
		if !writeEnvelope(conn, ev) {
			return
		}
	}
	for ev := range sub.C {
		if !writeEnvelope(conn, ev) {
			return
		}
	}
	deadline := time.Now().Add(demoWriteTimeout)
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "demo chat closing"), deadline)
}

// writeEnvelope writes one event as an envelope; false means the connection is gone.
func writeEnvelope(conn *websocket.Conn, ev demoEvent) bool {
	var data any = ev.Data
	if ev.JSON {
		data = json.RawMessage(ev.Data)
	}
	p, err := json.Marshal(envelope{Event: ev.Type, ID: ev.idString(), Data: data})
	if err != nil {
		return false
	}
	_ = conn.SetWriteDeadline(time.Now().Add(demoWriteTimeout))
	return conn.WriteMessage(websocket.TextMessage, p) == nil
}
