package bridge

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/ws"
)

// route serves one configured path to both kinds of client.
type route struct {
	srv     *Server
	cfg     *config.Route
	log     *slog.Logger
	metrics *routeMetrics
	origins originPolicy
	// sse opens SSE upstream streams, following redirects as EventSource does;
	// calls takes them as the answer (auth_url, publish): a redirect to a login
	// page that answers 200 must not admit a client, nor turn a POST into a GET.
	sse    *sseClient
	calls  *http.Client
	dialer *websocket.Dialer
	// allowHeaders is the preflight's Access-Control-Allow-Headers.
	allowHeaders string
	// hubs holds the streams of a shared route; nil in per-client mode.
	hubs *hubSet
}

func newRoute(s *Server, cfg *config.Route, transport *http.Transport) *route {
	rt := &route{
		srv:     s,
		cfg:     cfg,
		log:     s.log.With("route", cfg.Path),
		metrics: s.opts.Metrics.route(cfg.Path),
		origins: newOriginPolicy(cfg.AllowedOrigins),
		sse:     newSSEClient(&http.Client{Transport: transport}, s.opts.UpstreamTimeout),
		calls: &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		// Upstream connections batch queued messages into one network write.
		dialer: ws.BatchingDialer(&websocket.Dialer{
			NetDialContext:   trackingDial(&net.Dialer{Timeout: s.opts.UpstreamTimeout, KeepAlive: 30 * time.Second}),
			Proxy:            http.ProxyFromEnvironment,
			HandshakeTimeout: s.opts.UpstreamTimeout,
			ReadBufferSize:   4096,
			WriteBufferSize:  4096,
			WriteBufferPool:  wsWriteBuffers,
		}),
		allowHeaders: strings.Join(append([]string{"Last-Event-ID", "Authorization", "Cache-Control"}, cfg.ForwardHeaders...), ", "),
	}
	if cfg.Shared {
		rt.hubs = newHubSet(rt, s.base)
	}
	return rt
}

// serveHTTP applies the checks of SPEC section 6, then serves the client by kind.
func (rt *route) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !rt.origins.allows(r) {
		rt.metrics.rejected.WithLabelValues(reasonOrigin).Inc()
		http.Error(w, "ssews: origin not allowed", http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodOptions:
		rt.preflight(w, r)
		return
	default:
		rt.metrics.rejected.WithLabelValues(reasonMethod).Inc()
		w.Header().Set("Allow", "GET, OPTIONS")
		http.Error(w, "ssews: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !rt.srv.acquire() {
		rt.metrics.rejected.WithLabelValues(reasonLimit).Inc()
		unavailable(w, rt.cfg.Retry)
		return
	}
	l := &lease{srv: rt.srv}
	defer l.end()

	cr := newClientRequest(rt.cfg, r)
	cr.lease = l
	if rt.cfg.AuthURL != nil {
		actx, acancel := rt.clientContext(r) // shutdown gives up the question too
		err := rt.authorize(actx, cr, r)
		acancel()
		if err != nil {
			rt.metrics.rejected.WithLabelValues(reasonAuth).Inc()
			rt.refuse(r.Context(), w, cr, err)
			return
		}
	}
	isWS := websocket.IsWebSocketUpgrade(r)
	switch {
	case isWS && rt.cfg.Shared:
		rt.serveSharedWS(w, r, cr)
	case rt.cfg.Shared:
		rt.origins.setCORS(w, r)
		rt.serveSharedSSE(w, r, cr)
	case isWS && rt.cfg.UpstreamIsSSE():
		rt.serveWSFromSSE(w, r, cr)
	case isWS:
		rt.proxyWS(w, r, cr)
	default:
		rt.origins.setCORS(w, r)
		rt.serveSSE(w, r, cr)
	}
}

// preflight answers a CORS preflight from an allowed origin (fetch-based SSE clients
// send one for Last-Event-ID and Authorization).
func (rt *route) preflight(w http.ResponseWriter, r *http.Request) {
	rt.origins.setCORS(w, r)
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET")
	h.Set("Access-Control-Allow-Headers", rt.allowHeaders)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// dial returns the dialFunc of this route's upstream for one client, or for a
// shared stream, whose hub keeps the events it is given (eventSink).
func (rt *route) dial(cr *clientRequest, keepsEvents bool) dialFunc {
	if rt.cfg.UpstreamIsSSE() {
		return dialSSE(rt.sse, cr, int(rt.cfg.MaxMessage), !keepsEvents)
	}
	return dialWS(rt.dialer, cr, rt.wsOptions())
}

// Per-connection write queues: long enough that a connection's writer can batch what
// a fast stream sends into one network write, short enough that a slow peer blocks
// its sender soon, which carries the backpressure back to the upstream.
const (
	wsQueueLen   = 64
	wsQueueBytes = 1 << 20
)

// wsOptions are the options of a route's WebSocket connections, to clients and to
// the upstream alike. In per-client mode a slow client blocks its sender, and so
// slows its own upstream and nothing else; shared clients narrow the queue to the
// client buffer (sharedWSOptions).
func (rt *route) wsOptions() ws.Options {
	return ws.Options{
		ReadLimit:    rt.cfg.MaxMessage,
		PingInterval: rt.cfg.Heartbeat,
		WriteTimeout: rt.srv.opts.WriteTimeout,
		QueueLen:     wsQueueLen,
		QueueBytes:   int(max(wsQueueBytes, 2*rt.cfg.MaxMessage)),
		// A client's idle reader hands its wait to the server's watcher, so a
		// client that sends nothing holds no goroutine (upstream connections,
		// which ssews dialled, keep theirs).
		WaitReadable: rt.srv.waitReadable,
	}
}

// openFeed opens cr's upstream for a per-client session. When it cannot, the client
// has been answered (refuse) and ok is false.
func (rt *route) openFeed(ctx context.Context, w http.ResponseWriter, cr *clientRequest) (f *feed, ok bool) {
	f = newFeed(rt.dial(cr, false), cr.lastEventID, rt.cfg.Retry, rt.metrics, rt.log)
	f.client = cr.remoteAddr
	if err := f.connect(ctx); err != nil {
		rt.refuse(ctx, w, cr, err)
		return nil, false
	}
	return f, true
}

// refuse answers a client whose upstream could not be opened with the status SPEC
// section 5 assigns. Once shutdown has started, the attempt was given up for it: the
// client gets 503 with Retry-After, as a new client would, so it comes back to
// another instance. A client that has gone (ctx done otherwise) is not answered.
func (rt *route) refuse(ctx context.Context, w http.ResponseWriter, cr *clientRequest, err error) {
	if rt.srv.Draining() {
		unavailable(w, rt.cfg.Retry)
		return
	}
	if ctx.Err() != nil {
		return
	}
	status := clientStatus(err)
	level := slog.LevelWarn
	if failureReason(err) == reasonAuth && (status == http.StatusUnauthorized || status == http.StatusForbidden) {
		level = slog.LevelDebug // a denied client is the auth service doing its job
	}
	rt.log.Log(context.Background(), level, "client refused", "client", cr.remoteAddr, "status", status, "err", err)
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	http.Error(w, "ssews: "+http.StatusText(status), status)
}

// connected records a client for its lifetime; call the returned func with why it
// left (nil: the client went away by itself).
func (rt *route) connected(kind, remoteAddr string) func(error) {
	cm := rt.metrics.clients[kind]
	cm.open.Inc()
	cm.total.Inc()
	rt.log.Debug("client connected", "client", remoteAddr, "protocol", kind)
	return func(why error) {
		cm.open.Dec()
		reason := "client left"
		if why != nil && !errors.Is(why, context.Canceled) {
			reason = why.Error()
		}
		rt.log.Debug("client disconnected", "client", remoteAddr, "protocol", kind, "reason", reason)
	}
}

// sessionContext is the context of a session that may outlive its request (a
// stream handed off by its handler): it ends when shutdown starts, or when the
// returned cancel is called.
func (rt *route) sessionContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(rt.srv.drainCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// clientContext is the context of one client's session: it ends when the client
// leaves before its stream starts, when the handler returns, and when shutdown
// starts, so an upstream connect still under way is given up at once. (After a
// WebSocket upgrade, the request's context no longer follows the client: the
// session's reader ends it.)
func (rt *route) clientContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(rt.srv.drainCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}
