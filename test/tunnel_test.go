package test

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The per-client WebSocket proxy of a plain ws:// upstream runs on the relay loop
// (ssews_relayed_streams counts it); these tests look at what only that relay does
// itself. The proxy's other behaviour (messages both ways, close codes passed on,
// pings, backpressure, shutdown, limits) is tested for it by the tests that do not
// care how it is relayed.

// TestTunnelPassesFramesAsTheyAre: fragments stay fragments, a ping from the
// client reaches the upstream and its pong comes back, and the session is counted
// on the relay loop until it ends.
func TestTunnelPassesFramesAsTheyAre(t *testing.T) {
	t.Parallel()
	pinged := make(chan string, 1)
	var up *backend
	up = newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.SetPingHandler(func(data string) error {
			pinged <- data
			return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wait))
		})
		c.NetConn().Write([]byte("\x01\x04frag"))  // a text message's first frame
		c.NetConn().Write([]byte("\x80\x05ments")) // and its last
		up.waitClientGone(c)
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", wsURL(up.URL))})
	c := dialWS(t, p.ws+"/r", nil)
	if got := readText(t, c); got != "fragments" {
		t.Fatalf("got %q; want fragments", got)
	}
	waitGauge(t, p, relayedSeries, 1)
	pong := make(chan string, 1)
	c.SetPongHandler(func(data string) error { pong <- data; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	go c.ReadMessage() // control frames are handled while reading
	if got := recv(t, pinged, "the client's ping at the upstream"); got != "are you there" {
		t.Fatalf("upstream got ping %q", got)
	}
	if got := recv(t, pong, "the upstream's pong at the client"); got != "are you there" {
		t.Fatalf("client got pong %q", got)
	}
	leaveRelayed(t, p, func() { c.Close() }, up.gone)
}

// TestTunnelHandshakeRest: frames an upstream sends in the same write as its 101
// answer reach the client (gorilla's reader took them with the answer).
func TestTunnelHandshakeRest(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	served := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			conn.Close()
			return
		}
		h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(h[:]) + "\r\n\r\n"
		frames := "\x81\x05first\x81\x06second"
		conn.Write([]byte(head + frames)) // one write: the frames come with the answer
		served <- conn
	}()
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", "ws://"+ln.Addr().String())})
	c := dialWS(t, p.ws+"/r", nil)
	conn := recv(t, served, "the upstream's connection")
	t.Cleanup(func() { conn.Close() })
	for _, want := range []string{"first", "second"} {
		if got := readText(t, c); got != want {
			t.Fatalf("got %q; want %q", got, want)
		}
	}
	waitGauge(t, p, relayedSeries, 1)
}

// TestTunnelUpstreamFailures: what the client is told when its upstream breaks off.
func TestTunnelUpstreamFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		env      map[string]string
		upstream func(c *websocket.Conn)
		code     int
		text     string
		metric   string // a series that counts the failure
	}{
		{
			name: "message over max_message",
			env:  map[string]string{"SSEWS_MAX_MESSAGE": "1000"},
			upstream: func(c *websocket.Conn) {
				c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 2000)))
			},
			code: 1014, text: "upstream message over max_message",
			metric: `ssews_oversize_messages_total{reason="upstream",route="/r"}`,
		},
		{
			name:     "connection lost",
			upstream: func(c *websocket.Conn) { c.NetConn().Close() },
			code:     1014, text: "upstream connection lost",
		},
		{
			name: "frame with a reserved bit",
			upstream: func(c *websocket.Conn) {
				c.NetConn().Write([]byte("\xC1\x02hi")) // RSV1 without an extension
			},
			code: 1014, text: "upstream connection lost",
		},
		{
			name: "close without a status",
			upstream: func(c *websocket.Conn) {
				c.WriteControl(websocket.CloseMessage, nil, time.Now().Add(wait))
			},
			code: websocket.CloseNormalClosure,
		},
		{
			name: "close with a code of its own",
			upstream: func(c *websocket.Conn) {
				c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"), time.Now().Add(wait))
			},
			code: 4001, text: "bye",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
				c.WriteMessage(websocket.TextMessage, []byte("hello"))
				tc.upstream(c)
				c.ReadMessage() // until ssews closes
			})
			env := map[string]string{"SSEWS_ROUTES": routes("/r", wsURL(up.URL))}
			for k, v := range tc.env {
				env[k] = v
			}
			p := startProxy(t, env)
			c := dialWS(t, p.ws+"/r", nil)
			if got := readText(t, c); got != "hello" {
				t.Fatalf("got %q; want hello", got)
			}
			if code, text := readClose(t, c); code != tc.code || (code != 1014 && text != tc.text) {
				t.Fatalf("close %d %q; want %d %q", code, text, tc.code, tc.text)
			}
			waitGauge(t, p, relayedSeries, 0)
			if tc.metric != "" {
				waitMetric(t, p, tc.metric, 1)
			}
		})
	}
}

// TestTunnelClientProtocolError: a client frame that breaks RFC 6455 (unmasked)
// gets the client 1002, and the upstream is told the client is gone.
func TestTunnelClientProtocolError(t *testing.T) {
	t.Parallel()
	closed := make(chan int, 1)
	up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.WriteMessage(websocket.TextMessage, []byte("hello"))
		_, _, err := c.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok {
			closed <- ce.Code
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_ROUTES": routes("/r", wsURL(up.URL))})
	c := dialWS(t, p.ws+"/r", nil)
	readText(t, c)
	c.NetConn().Write([]byte("\x81\x02hi")) // a client's frame must be masked
	if code, _ := readClose(t, c); code != websocket.CloseProtocolError {
		t.Fatalf("close %d; want 1002", code)
	}
	if code := recv(t, closed, "the upstream's close"); code != websocket.CloseGoingAway {
		t.Fatalf("upstream got close %d; want 1001", code)
	}
}
