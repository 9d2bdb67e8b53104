// Package bridge serves ssews routes: it translates between server-sent events and
// WebSocket in both directions and proxies each protocol to itself (SPEC section 1).
package bridge

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/config"
)

// Options configure a Server.
type Options struct {
	Routes          []config.Route
	Metrics         *Metrics
	Logger          *slog.Logger
	WriteTimeout    time.Duration
	UpstreamTimeout time.Duration
	// MaxConnections bounds client connections at once; 0 is unlimited.
	MaxConnections int
	// ClientBuffer is the queue length, in events, of one shared-mode client.
	ClientBuffer int
}

// Server is the client-facing http.Handler of every route.
type Server struct {
	opts     Options
	log      *slog.Logger
	routes   map[string]*route
	upgrader websocket.Upgrader
	// drainCtx is cancelled when shutdown starts: streams end (sessions hang on it
	// with context.AfterFunc), new requests get 503.
	drainCtx    context.Context
	cancelDrain context.CancelFunc
	// active counts client streams, including hijacked WebSocket connections that
	// http.Server.Shutdown does not wait for.
	active    sync.WaitGroup
	open      atomic.Int64
	transport *http.Transport
	// base is the context of shared streams, which outlive any one client.
	base       context.Context
	stopShared context.CancelFunc
	// closeWatch hears shared EventSource clients hang up; it starts with the
	// first of them (watcher).
	watchOnce  sync.Once
	closeWatch *closeWatcher
	// relays read the upstreams of per-client EventSource streams (relayLoop), one
	// per CPU, started with the first such stream.
	relayOnce sync.Once
	relays    []*relayLoop
	nextRelay atomic.Uint32
}

// wsWriteBuffers lends gorilla its write buffers for the length of a write, so idle
// connections hold none.
var wsWriteBuffers = &sync.Pool{}

// New builds the handler of every route in opts.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.UpstreamTimeout <= 0 {
		opts.UpstreamTimeout = 10 * time.Second
	}
	if opts.ClientBuffer <= 0 {
		opts.ClientBuffer = 1 // a shared client's queue, its writer's and its connection's
	}
	s := &Server{
		opts:   opts,
		log:    opts.Logger,
		routes: make(map[string]*route, len(opts.Routes)),
		upgrader: websocket.Upgrader{
			// Clients send little (publish, the odd ping or close), and an
			// idle connection keeps its read buffer.
			ReadBufferSize:  512,
			WriteBufferSize: 4096,
			// An idle connection holds no write buffer: it comes from the pool
			// for the length of a write.
			WriteBufferPool: wsWriteBuffers,
			// Origins are checked before upgrading (checkOrigin), for both protocols.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	s.base, s.stopShared = context.WithCancel(context.Background())
	s.drainCtx, s.cancelDrain = context.WithCancel(context.Background())
	s.transport = newTransport(opts.UpstreamTimeout)
	for i := range opts.Routes {
		rt := &opts.Routes[i]
		s.routes[rt.Path] = newRoute(s, rt, s.transport)
	}
	return s
}

// Close stops the shared streams and releases the idle upstream connections kept for
// reuse. Call it after Wait.
func (s *Server) Close() {
	s.watchOnce.Do(func() {}) // none starts from now on
	if s.closeWatch != nil {
		s.closeWatch.close()
	}
	s.relayOnce.Do(func() {})
	for _, l := range s.relays {
		l.close()
	}
	s.stopShared()
	for _, rt := range s.routes {
		if rt.hubs != nil {
			rt.hubs.closeAll()
		}
	}
	s.transport.CloseIdleConnections()
}

// watchClosed calls gone once conn's client hangs up (closeWatcher); call the
// returned stop before closing conn. The watcher starts with the first connection.
func (s *Server) watchClosed(conn net.Conn, gone func()) (stop func()) {
	w := s.watcher()
	if w == nil { // closed before any was watched
		s.goTracked(func() { watchByRead(conn, gone) })
		return func() {}
	}
	return w.watch(conn, gone)
}

// waitReadable takes over the wait of an idle WebSocket client's reader
// (ws.Options.WaitReadable): the server's watcher runs ready once conn is readable.
func (s *Server) waitReadable(conn net.Conn, ready func()) (stop func(), ok bool) {
	w := s.watcher()
	if w == nil {
		return nil, false
	}
	return w.waitReadable(conn, ready)
}

// watcher is the server's closeWatcher, started with the first connection it
// watches; nil once the server has closed without one.
func (s *Server) watcher() *closeWatcher {
	s.watchOnce.Do(func() {
		w, err := newCloseWatcher(s.goTracked)
		if err != nil {
			s.log.Warn("idle clients get a goroutine each to wait for them", "err", err)
		}
		s.closeWatch = w
	})
	return s.closeWatch
}

// relayLoop returns one of the server's relay loops, in turn; nil when there are
// none (no epoll, or the server has closed).
func (s *Server) relayLoop() *relayLoop {
	s.relayOnce.Do(func() {
		// Ticks drive the relayed WebSocket sessions' heartbeats: a quarter of
		// the shortest, at most a second.
		tick := time.Second
		for _, rt := range s.routes {
			if hb := rt.cfg.Heartbeat; hb > 0 {
				tick = min(tick, max(hb/4, 10*time.Millisecond))
			}
		}
		for range runtime.GOMAXPROCS(0) {
			l, err := newRelayLoop(tick)
			if err != nil {
				s.log.Warn("per-client EventSource streams are read on a goroutine each", "err", err)
			}
			if l == nil {
				break
			}
			s.relays = append(s.relays, l)
		}
	})
	if len(s.relays) == 0 {
		return nil
	}
	return s.relays[int(s.nextRelay.Add(1))%len(s.relays)]
}

// newTransport is the HTTP client side towards SSE upstreams: the upstream timeout
// bounds the dial and the wait for response headers, never the stream itself.
func newTransport(timeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		// A stream's connection (an https upstream's, or one through a proxy)
		// writes one small request and then only reads, for as long as its client
		// stays, keeping its write buffer all that time; a larger publish body is
		// written past the buffer anyway.
		WriteBufferSize: 512,
	}
}

// ServeHTTP dispatches a request to its route after the checks every route shares.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := s.routes[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	rt.serveHTTP(w, r)
}

// Drain starts shutdown: WebSocket clients get close 1001, SSE streams end, and new
// requests are refused with 503.
func (s *Server) Drain() {
	s.cancelDrain()
}

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.drainCtx.Err() != nil }

// Wait blocks until every client stream has ended, or ctx is done.
func (s *Server) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.active.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// acquire admits one more client stream, or reports that the limit or shutdown
// forbids it.
func (s *Server) acquire() bool {
	if s.Draining() {
		return false
	}
	if n := s.open.Add(1); s.opts.MaxConnections > 0 && n > int64(s.opts.MaxConnections) {
		s.open.Add(-1)
		return false
	}
	s.active.Add(1)
	return true
}

func (s *Server) release() {
	s.open.Add(-1)
	s.active.Done()
}

// goTracked runs fn on a goroutine that Wait waits for: work a stream starts from
// a place that must not block (under a hub's lock), such as closing a slow client.
func (s *Server) goTracked(fn func()) {
	s.active.Add(1)
	go func() {
		defer s.active.Done()
		fn()
	}()
}

// lease is one admitted client stream. Its handler releases it on return, unless it
// handed the stream to a goroutine of its own (handOff), which then releases it.
type lease struct {
	srv       *Server
	handedOff bool
}

// end releases the stream unless it was handed off.
func (l *lease) end() {
	if !l.handedOff {
		l.srv.release()
	}
}

// handOff passes the stream to a goroutine that outlives the handler: letting the
// handler return frees net/http's per-connection buffers and its deep stack, which
// an idle shared client would otherwise hold for its whole life. The goroutine calls
// the returned release when the stream ends; Wait waits for it.
func (l *lease) handOff() (release func()) {
	l.handedOff = true
	return l.srv.release
}

// unavailable refuses a client while at the limit or shutting down.
func unavailable(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(retryAfter.Seconds()))))
	http.Error(w, "ssews: too many connections or shutting down", http.StatusServiceUnavailable)
}
