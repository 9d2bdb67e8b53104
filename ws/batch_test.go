package ws_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/ws"
)

// stallConn counts the network writes of a server connection and can hold
// the next one until released, to line up a queue behind a busy writer.
type stallConn struct {
	net.Conn
	mu      sync.Mutex
	writes  int
	stall   chan struct{} // writes wait on it while non-nil
	entered chan struct{} // told once a write waits on stall
}

func (s *stallConn) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.writes++
	stall, entered := s.stall, s.entered
	s.entered = nil
	s.mu.Unlock()
	if stall != nil {
		if entered != nil {
			close(entered)
		}
		<-stall
	}
	return s.Conn.Write(p)
}

func (s *stallConn) NetConn() net.Conn { return s.Conn }

// arm makes the next write wait until release; it resets the count and
// returns a channel closed once a write is waiting.
func (s *stallConn) arm() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = 0
	s.stall, s.entered = make(chan struct{}), make(chan struct{})
	return s.entered
}

func (s *stallConn) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.stall)
	s.stall = nil
}

func (s *stallConn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// stallListener wraps every accepted connection in a stallConn.
type stallListener struct {
	net.Listener
	conns chan *stallConn
}

func (l *stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	sc := &stallConn{Conn: c}
	select {
	case l.conns <- sc:
	default:
	}
	return sc, nil
}

// stalledPair is newPair whose server end writes through a stallConn.
func stalledPair(t *testing.T, opts ws.Options, po pairOptions) (*ws.Conn, *websocket.Conn, *stallConn) {
	t.Helper()
	conns := make(chan *stallConn, 1)
	po.listener = func(l net.Listener) net.Listener { return &stallListener{Listener: l, conns: conns} }
	server, peer := newPair(t, opts, po)
	return server, peer, <-conns
}

// Messages that queue up while the writer is busy leave together: n
// messages, far fewer network writes. Without the wrapper each message is
// a write of its own.
func TestBatchingWritesQueuedMessagesTogether(t *testing.T) {
	t.Parallel()
	const n = 100
	for _, tt := range []struct {
		name      string
		po        pairOptions
		maxWrites int
	}{
		// The first message, then one batch of the other 99 (11 KiB).
		{"batching", pairOptions{}, 2},
		{"plain", pairOptions{plain: true}, n},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server, peer, sc := stalledPair(t, ws.Options{QueueLen: n}, tt.po)
			entered := sc.arm()
			mustSend(t, server, ws.Message{Data: []byte("m0")})
			<-entered // the writer is inside the first message's write
			for i := 1; i < n; i++ {
				if err := server.TrySend(ws.Message{Data: fmt.Appendf(nil, "m%d", i)}); err != nil {
					t.Fatalf("TrySend %d: %v", i, err)
				}
			}
			sc.release()

			for i := range n {
				_, data, err := peerRead(t, peer)
				if want := fmt.Sprintf("m%d", i); err != nil || string(data) != want {
					t.Fatalf("peer: got %q, %v; want %q", data, err, want)
				}
			}
			if got := sc.count(); got > tt.maxWrites {
				t.Errorf("%d messages took %d network writes; want at most %d", n, got, tt.maxWrites)
			}
		})
	}
}

// CloseNow's close frame reaches the peer at once, also when it cuts
// short a writer whose queue is backed up.
func TestBatchingCloseNowReachesPeer(t *testing.T) {
	t.Parallel()

	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		server, peer := newPair(t, ws.Options{}, pairOptions{})
		go func() { _ = server.CloseNow(websocket.CloseTryAgainLater, "slow") }()
		_, _, err := peerRead(t, peer)
		if code, text, ok := ws.CloseCode(err); !ok || code != websocket.CloseTryAgainLater || text != "slow" {
			t.Fatalf("peer: got %v; want close 1013 %q", err, "slow")
		}
	})

	t.Run("queue backed up", func(t *testing.T) {
		t.Parallel()
		const n = 50
		server, peer, sc := stalledPair(t, ws.Options{QueueLen: n}, pairOptions{})
		entered := sc.arm()
		mustSend(t, server, ws.Message{Data: []byte("first")})
		<-entered
		for range n - 1 {
			_ = server.TrySend(ws.Message{Data: []byte("queued")})
		}
		closed := make(chan error, 1)
		go func() { closed <- server.CloseNow(websocket.CloseTryAgainLater, "slow") }()
		sc.release()

		for {
			_, _, err := peerRead(t, peer)
			if err == nil {
				continue // what the writer got out before CloseNow stopped it
			}
			if code, _, ok := ws.CloseCode(err); !ok || code != websocket.CloseTryAgainLater {
				t.Fatalf("peer: got %v; want close 1013", err)
			}
			break
		}
		if err := <-closed; err != nil {
			t.Errorf("CloseNow: %v", err)
		}
	})
}

// Control frames need no data behind them to leave: our pings, the pongs
// gorilla answers with from the reader goroutine, and the close frame.
func TestBatchingControlFramesWithoutData(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond // the peer answers within two intervals on a busy machine too
	server, peer := newPair(t, ws.Options{PingInterval: interval}, pairOptions{})

	pings := make(chan time.Time, 10)
	answer := peer.PingHandler()
	peer.SetPingHandler(func(data string) error {
		select {
		case pings <- time.Now():
		default:
		}
		return answer(data)
	})
	pongs := make(chan string, 10)
	peer.SetPongHandler(func(data string) error {
		pongs <- data
		return nil
	})
	peerErr := readUntilError(peer)

	start := time.Now()
	select {
	case at := <-pings:
		// Generous: the point is that it is not stuck until data flows.
		if d := at.Sub(start); d > 20*interval {
			t.Errorf("first ping after %v; want about %v", d, interval)
		}
	case <-time.After(waitLimit):
		t.Fatal("no ping reached the peer")
	}

	if err := peer.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	select {
	case data := <-pongs:
		if data != "hi" {
			t.Errorf("pong %q; want %q", data, "hi")
		}
	case <-time.After(waitLimit):
		t.Fatal("no pong reached the peer")
	}

	closed := make(chan error, 1)
	go func() { closed <- server.Close(websocket.CloseNormalClosure, "bye") }()
	select {
	case err := <-peerErr:
		if code, _, ok := ws.CloseCode(err); !ok || code != websocket.CloseNormalClosure {
			t.Fatalf("peer: got %v; want close 1000", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("close frame did not reach the peer")
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// While data streams in batches, the peer's pings are all answered and
// our own pings still go out.
func TestBatchingControlFramesDuringStream(t *testing.T) {
	t.Parallel()
	const pingsSent = 40
	// A read deadline of 2*PingInterval: wide enough that a reader held up by a
	// loaded machine while it answers a ping does not find it passed.
	server, peer := newPair(t, ws.Options{QueueLen: 64, PingInterval: 100 * time.Millisecond}, pairOptions{})

	var mu sync.Mutex
	pongs, pings := 0, 0
	allPongs := make(chan struct{})
	peer.SetPongHandler(func(string) error {
		mu.Lock()
		defer mu.Unlock()
		if pongs++; pongs == pingsSent {
			close(allPongs)
		}
		return nil
	})
	answer := peer.PingHandler()
	peer.SetPingHandler(func(data string) error {
		mu.Lock()
		pings++
		mu.Unlock()
		return answer(data)
	})
	go func() {
		for {
			if _, _, err := peer.ReadMessage(); err != nil {
				return
			}
		}
	}()

	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		msg := ws.Message{Data: event}
		for {
			select {
			case <-stop:
				return
			default:
			}
			if server.Send(context.Background(), msg) != nil {
				return
			}
		}
	}()

	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for range pingsSent {
		<-tick.C
		if err := peer.WriteControl(websocket.PingMessage, nil, time.Now().Add(waitLimit)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-allPongs:
	case <-time.After(waitLimit):
		mu.Lock()
		t.Errorf("%d of %d pongs reached the peer", pongs, pingsSent)
		mu.Unlock()
	}
	// Our pings run every 50ms; the stream lasted at least 200ms.
	deadline := time.Now().Add(waitLimit)
	for {
		mu.Lock()
		got := pings
		mu.Unlock()
		if got > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("none of our pings reached the peer during the stream")
		}
		<-tick.C
	}
	close(stop)
	<-sent
}

// The handshake goes through the wrappers on both sides: the response
// header of Upgrade, the subprotocol, and a refusal answered as gorilla
// answers it.
func TestBatchingHandshake(t *testing.T) {
	t.Parallel()
	up := websocket.Upgrader{Subprotocols: []string{subprotocol}}
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A middleware wrapper that hides http.Hijacker but unwraps.
		c, err := ws.Upgrade(&up, unwrapper{w}, r, http.Header{"Set-Cookie": {"k=v"}})
		if err == nil {
			conns <- c
		}
	}))
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	d := ws.BatchingDialer(&websocket.Dialer{Subprotocols: []string{subprotocol}, HandshakeTimeout: waitLimit})
	client, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	if got := resp.Header.Get("Set-Cookie"); got != "k=v" {
		t.Errorf("Set-Cookie %q; want %q", got, "k=v")
	}
	if client.Subprotocol() != subprotocol {
		t.Errorf("Subprotocol %q; want %q", client.Subprotocol(), subprotocol)
	}
	server := <-conns
	t.Cleanup(func() { _ = server.Close() })
	exchange(t, ws.New(server, ws.Options{}), ws.New(client, ws.Options{}))

	// Not a WebSocket request: gorilla's 400 passes through the wrapper.
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("plain GET: status %d; want 400", res.StatusCode)
	}
}

// With TLS the wrapper sits above it on the server (one record per batch)
// and under it on the client; both are found and both work.
func TestBatchingTLS(t *testing.T) {
	t.Parallel()
	up := websocket.Upgrader{}
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := ws.Upgrade(&up, w, r, nil); err == nil {
			conns <- c
		}
	}))
	t.Cleanup(srv.Close)
	tlsConf := srv.Client().Transport.(*http.Transport).TLSClientConfig

	d := ws.BatchingDialer(&websocket.Dialer{TLSClientConfig: tlsConf, HandshakeTimeout: waitLimit})
	client, _, err := d.Dial("wss"+strings.TrimPrefix(srv.URL, "https"), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	if _, ok := client.NetConn().(*tls.Conn); !ok {
		t.Fatalf("client conn is %T; want *tls.Conn over the wrapper", client.NetConn())
	}
	server := <-conns
	t.Cleanup(func() { _ = server.Close() })
	exchange(t, ws.New(server, ws.Options{QueueLen: 64}), ws.New(client, ws.Options{QueueLen: 64}))
}

// exchange sends a burst each way and checks it arrives in order, then
// closes both.
func exchange(t *testing.T, a, b *ws.Conn) {
	t.Helper()
	const n = 200
	for _, dir := range []struct{ from, to *ws.Conn }{{a, b}, {b, a}} {
		go func() {
			for i := range n {
				if dir.from.Send(context.Background(), ws.Message{Data: fmt.Appendf(nil, "%d", i)}) != nil {
					return
				}
			}
		}()
		for i := range n {
			if got := mustRead(t, dir.to); string(got.Data) != fmt.Sprint(i) {
				t.Fatalf("got %q; want %d", got.Data, i)
			}
		}
	}
	go func() { _ = b.Close(websocket.CloseNormalClosure, "") }()
	if err := a.Close(websocket.CloseNormalClosure, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
	waitDone(t, b)
}

// unwrapper hides every optional interface of the ResponseWriter it wraps
// except Unwrap, as many middleware wrappers do.
type unwrapper struct{ w http.ResponseWriter }

func (u unwrapper) Header() http.Header         { return u.w.Header() }
func (u unwrapper) Write(p []byte) (int, error) { return u.w.Write(p) }
func (u unwrapper) WriteHeader(status int)      { u.w.WriteHeader(status) }
func (u unwrapper) Unwrap() http.ResponseWriter { return u.w }

// A peer that stops reading while small messages stream in batches still
// fails the connection within WriteTimeout: a batch that cannot go out
// carries the deadline of its last message.
func TestBatchingWriteTimeout(t *testing.T) {
	t.Parallel()
	server, _ := newPair(t, ws.Options{QueueLen: 256, WriteTimeout: 200 * time.Millisecond}, pairOptions{smallBuffers: true})
	msg := ws.Message{Data: make([]byte, 1<<10)}

	start := time.Now()
	var err error
	for err == nil && time.Since(start) < waitLimit {
		err = server.Send(context.Background(), msg)
	}
	if !errors.Is(err, ws.ErrClosed) || !isTimeout(err) {
		t.Fatalf("Send: got %v; want ErrClosed wrapping a timeout", err)
	}
	waitDone(t, server)
}

// BatchingDialer wraps the connection whichever way the Dialer dials.
func TestBatchingDialerDialFuncs(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := ws.Upgrade(&websocket.Upgrader{}, w, r, nil); err == nil {
			_ = c.Close()
		}
	}))
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	var nd net.Dialer
	for _, tt := range []struct {
		name string
		d    websocket.Dialer
	}{
		{"default", websocket.Dialer{}},
		{"NetDial", websocket.Dialer{NetDial: net.Dial}},
		{"NetDialContext", websocket.Dialer{NetDialContext: nd.DialContext}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := ws.BatchingDialer(&tt.d)
			d = ws.BatchingDialer(d) // wrapping twice wraps once
			d.HandshakeTimeout = waitLimit
			c, _, err := d.Dial(url, nil)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			w, ok := c.NetConn().(interface{ NetConn() net.Conn })
			if !ok {
				t.Fatalf("dialled conn is %T; want it wrapped", c.NetConn())
			}
			if _, ok := w.NetConn().(*net.TCPConn); !ok {
				t.Errorf("under the wrapper: %T; want *net.TCPConn", w.NetConn())
			}
		})
	}
}
