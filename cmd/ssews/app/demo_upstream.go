package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// demoUpstream is the backend `ssews demo` puts behind its routes, on a loopback
// port of its own: an SSE feed (GET /events, POST /publish) and a WebSocket chat
// (/chat). It owns every goroutine it starts; Close ends them all.
type demoUpstream struct {
	feed      *hub
	chat      *hub
	guests    atomic.Uint64
	chatConns connTracker
	server    *http.Server
	ln        net.Listener
	cancel    context.CancelFunc
	done      sync.WaitGroup // the server and the producer
	serveErr  chan error
}

// startDemoUpstream listens on 127.0.0.1:0 and starts serving and producing events
// every interval.
func startDemoUpstream(logger *slog.Logger, interval time.Duration) (*demoUpstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo upstream: %w", err)
	}
	u := &demoUpstream{feed: newHub(), chat: newHub(), ln: ln, serveErr: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events", u.serveEvents)
	mux.HandleFunc("POST /publish", u.servePublish)
	mux.HandleFunc("GET /chat", u.serveChat)
	u.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	u.done.Add(2)
	go func() {
		defer u.done.Done()
		if err := u.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			u.serveErr <- err
		}
	}()
	go func() {
		defer u.done.Done()
		u.produce(ctx, interval)
	}()
	return u, nil
}

// Err reports the upstream's server stopping by itself.
func (u *demoUpstream) Err() <-chan error { return u.serveErr }

// url is the upstream's URL for path, with scheme http or ws.
func (u *demoUpstream) url(scheme, path string) *url.URL {
	return &url.URL{Scheme: scheme, Host: u.ln.Addr().String(), Path: path}
}

// produce is the demo's "application": a tick every interval on the feed, with news
// every fifth and a multi-line report every sixth tick instead (the first of each
// within seconds, so a fresh page shows every kind at once), and the number of chat
// connections on the chat, until ctx ends.
func (u *demoUpstream) produce(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			clock := now.Format("15:04:05")
			switch {
			case n%6 == 3:
				u.feed.publish("report", fmt.Sprintf("status report #%d\nfeed clients: %d\nchat clients: %d\nat %s",
					n/6+1, u.feed.count(), u.chat.count(), clock), false)
			case n%5 == 2:
				u.feed.publish("news", demoHeadlines[(n/5)%len(demoHeadlines)], false)
			default:
				u.feed.publish("tick", clock, false)
			}
			presence, _ := json.Marshal(map[string]any{"online": u.chat.count(), "at": clock})
			u.chat.publish("presence", string(presence), true)
		}
	}
}

// demoHeadlines are the feed's news, in turn.
var demoHeadlines = []string{
	"EventSource clients now read WebSocket backends",
	"WebSocket clients subscribe to SSE feeds, one frame per event",
	"Last-Event-ID resume works across the bridge",
	"Heartbeats keep idle streams alive through proxies",
	"Slow clients are disconnected, never buffered without bound",
}

// Close stops producing, ends every connection and waits for all of the upstream's
// goroutines. Chat connections end within demoWriteTimeout of the hubs closing.
func (u *demoUpstream) Close(ctx context.Context) error {
	u.cancel()
	u.feed.close()
	u.chat.close()
	err := u.server.Shutdown(ctx)
	if err != nil {
		u.server.Close()
	}
	u.chatConns.closeAndWait()
	u.done.Wait()
	return err
}

// connTracker counts the chat's hijacked connections, which http.Server.Shutdown
// does not wait for, and refuses new ones once closing.
type connTracker struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// enter admits one connection, unless closing; the caller calls leave when it ends.
func (t *connTracker) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *connTracker) leave() { t.wg.Done() }

// closeAndWait refuses new connections and waits for the admitted ones to end.
func (t *connTracker) closeAndWait() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}
