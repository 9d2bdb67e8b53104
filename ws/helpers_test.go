package ws_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// waitLimit bounds every wait in these tests; reaching it is a failure, not
// a timing assumption.
const waitLimit = 5 * time.Second

const subprotocol = "ssews.test"

// pairOptions shape the raw connection pair.
type pairOptions struct {
	// smallBuffers shrinks the server's send buffer and the client's
	// receive buffer, so a peer that stops reading blocks the writer after
	// a few tens of KiB instead of several MiB.
	smallBuffers bool

	// plain connects both ends with gorilla's own Upgrader and Dialer,
	// without the batching wrapper of ws.Upgrade and ws.BatchingDialer.
	plain bool

	// listener, when set, wraps the server's listener (to watch or stall
	// the server end's network writes).
	listener func(net.Listener) net.Listener
}

// rawPair starts an httptest server that upgrades one connection and dials
// it with a gorilla Dialer. It returns the server and client ends, both
// closed when the test ends.
func rawPair(tb testing.TB, po pairOptions) (server, client *websocket.Conn) {
	tb.Helper()
	conns := make(chan *websocket.Conn, 1)
	up := websocket.Upgrader{Subprotocols: []string{subprotocol}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *websocket.Conn
		var err error
		if po.plain {
			c, err = up.Upgrade(w, r, nil)
		} else {
			c, err = ws.Upgrade(&up, w, r, nil)
		}
		if err != nil {
			return // Upgrade has answered the request
		}
		if po.smallBuffers {
			_ = tcpConn(c).SetWriteBuffer(8 << 10)
		}
		conns <- c
	}))
	if po.listener != nil {
		srv.Listener = po.listener(srv.Listener)
	}
	srv.Start()
	tb.Cleanup(srv.Close)

	d := &websocket.Dialer{
		Subprotocols:     []string{subprotocol},
		HandshakeTimeout: waitLimit,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, addr)
			if err == nil && po.smallBuffers {
				_ = c.(*net.TCPConn).SetReadBuffer(8 << 10)
			}
			return c, err
		},
	}
	if !po.plain {
		d = ws.BatchingDialer(d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	client, resp, err := d.DialContext(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	_ = resp.Body.Close()
	tb.Cleanup(func() { _ = client.Close() })

	select {
	case server = <-conns:
	case <-time.After(waitLimit):
		tb.Fatal("server side of the connection never arrived")
	}
	tb.Cleanup(func() { _ = server.Close() })
	return server, client
}

// tcpConn digs the TCP connection out from under c's wrappers.
func tcpConn(c *websocket.Conn) *net.TCPConn {
	nc := c.NetConn()
	for {
		if tc, ok := nc.(*net.TCPConn); ok {
			return tc
		}
		nc = nc.(interface{ NetConn() net.Conn }).NetConn()
	}
}

// newPair wraps the server end in a ws.Conn; the client end stays a raw
// gorilla connection playing the peer.
func newPair(tb testing.TB, opts ws.Options, po pairOptions) (*ws.Conn, *websocket.Conn) {
	tb.Helper()
	s, c := rawPair(tb, po)
	sc := ws.New(s, opts)
	tb.Cleanup(func() {
		// The peer goes first: if it never read, the reset it sends fails
		// a writer stuck on a full socket at once, instead of CloseNow
		// waiting out its deadline for gorilla's write lock.
		_ = c.Close()
		_ = sc.CloseNow(websocket.CloseGoingAway, "test over")
	})
	return sc, c
}

// newConnPair wraps both ends.
func newConnPair(tb testing.TB, opts ws.Options) (server, client *ws.Conn) {
	tb.Helper()
	s, c := rawPair(tb, pairOptions{})
	server, client = ws.New(s, opts), ws.New(c, opts)
	tb.Cleanup(func() { _ = client.CloseNow(websocket.CloseGoingAway, "test over") })
	tb.Cleanup(func() { _ = server.CloseNow(websocket.CloseGoingAway, "test over") })
	return server, client
}

func mustSend(tb testing.TB, c *ws.Conn, m ws.Message) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.Send(ctx, m); err != nil {
		tb.Fatalf("Send: got %v; want nil", err)
	}
}

func mustRead(tb testing.TB, c *ws.Conn) ws.Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	m, err := c.Read(ctx)
	if err != nil {
		tb.Fatalf("Read: got %v; want a message", err)
	}
	return m
}

// readErr calls Read until it fails and returns the error, discarding
// messages on the way.
func readErr(tb testing.TB, c *ws.Conn) error {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for {
		if _, err := c.Read(ctx); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				tb.Fatal("Read did not fail in time")
			}
			return err
		}
	}
}

// peerRead reads one message on the raw peer, within waitLimit.
func peerRead(tb testing.TB, c *websocket.Conn) (int, []byte, error) {
	tb.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	return c.ReadMessage()
}

// waitDone fails the test unless c closes within waitLimit.
func waitDone(tb testing.TB, c *ws.Conn) {
	tb.Helper()
	select {
	case <-c.Done():
	case <-time.After(waitLimit):
		tb.Fatal("connection did not close in time")
	}
}

// fillUntilStuck sends size-byte messages to a peer that does not read
// until the queue is full and the writer is blocked on a full socket: a
// Send that has waited 300ms for room. It returns how many Sends succeeded.
func fillUntilStuck(tb testing.TB, c *ws.Conn, size int) int {
	tb.Helper()
	return fillUntilBlocked(tb, c, size, 300*time.Millisecond)
}

// fillUntilBlocked is fillUntilStuck with the wait that counts as stuck.
func fillUntilBlocked(tb testing.TB, c *ws.Conn, size int, stuck time.Duration) int {
	tb.Helper()
	msg := ws.Message{Binary: true, Data: make([]byte, size)}
	for n := 0; n < 10_000; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), stuck)
		err := c.Send(ctx, msg)
		cancel()
		switch {
		case err == nil:
		case errors.Is(err, context.DeadlineExceeded):
			return n
		default:
			tb.Fatalf("Send while filling: %v", err)
		}
	}
	tb.Fatal("writer never blocked")
	return 0
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// notePings makes peer report each ping it gets (up to a buffer of 100) and
// answer it as gorilla does.
func notePings(peer *websocket.Conn) <-chan struct{} {
	pings := make(chan struct{}, 100)
	answer := peer.PingHandler()
	peer.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return answer(data)
	})
	return pings
}

// readUntilError reads peer, discarding messages, until a read fails; the error
// arrives on the returned channel.
func readUntilError(peer *websocket.Conn) <-chan error {
	peerErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := peer.ReadMessage(); err != nil {
				peerErr <- err
				return
			}
		}
	}()
	return peerErr
}

// expectPings waits for n pings at peer (notePings), failing the test if the peer's
// reads fail (readUntilError), conn closes, or the pings do not come.
func expectPings(t *testing.T, n int, pings <-chan struct{}, peerErr <-chan error, conn *ws.Conn) {
	t.Helper()
	for i := range n {
		select {
		case <-pings:
		case err := <-peerErr:
			t.Fatalf("peer failed after %d pings: %v", i, err)
		case <-conn.Done():
			t.Fatalf("connection closed after %d pings: %v", i, conn.Err())
		case <-time.After(waitLimit):
			t.Fatalf("got %d pings; want %d", i, n)
		}
	}
}
