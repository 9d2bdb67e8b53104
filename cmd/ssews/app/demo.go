package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/ssews/ssews/config"
)

// The demo's routes: one per kind of upstream, so the page shows all four paths.
const (
	demoSSEPath = "/sse"
	demoWSPath  = "/ws"
)

// demoInterval is how often the demo upstreams produce an event: often enough to
// look alive, seldom enough to read.
const demoInterval = time.Second

// RunDemo runs `ssews demo`: built-in upstreams on a loopback port (an SSE feed with
// a publish endpoint, a WebSocket chat), ssews routes in front of them (/sse and /ws,
// besides any routes configured), and the demo page at / on the same listener. Every
// SSEWS_ variable applies as it does to `ssews`. It prints the URL to open on stdout,
// calls ready (when not nil) with the same URL once clients can connect, runs until
// ctx is done, then shuts everything down and returns the exit status.
func RunDemo(ctx context.Context, env map[string]string, stdout, stderr io.Writer, ready func(url string)) int {
	cfg, err := config.LoadOptions(env, false)
	if err != nil {
		fmt.Fprintf(stderr, "ssews: %v\n", err)
		return exitConfig
	}
	for _, rt := range cfg.Resolved {
		if rt.Path == demoSSEPath || rt.Path == demoWSPath {
			fmt.Fprintf(stderr, "ssews: SSEWS_ROUTES/SSEWS_CONFIG: path %s is the demo's own route; use another path\n", rt.Path)
			return exitConfig
		}
	}
	logger := newLogger(stderr, cfg, env)
	up, err := startDemoUpstream(logger, demoInterval)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return exitError
	}
	cfg.Resolved = append(cfg.Resolved, demoRoutes(cfg, up)...)
	m := NewMain(cfg, logger)
	m.Fallback = demoPage()
	if err := m.Open(); err != nil {
		logger.Error("cannot start", "err", err)
		closeDemoUpstream(ctx, cfg, up)
		return exitError
	}
	pageURL := demoURL(m.Addr(), cfg.TLSCert != "")
	fmt.Fprintf(stdout, "ssews demo: open %s (SSE route %s, WebSocket route %s)\n", pageURL, demoSSEPath, demoWSPath)
	if ready != nil {
		ready(pageURL)
	}

	code := exitOK
	select {
	case <-ctx.Done():
	case err := <-m.Err():
		logger.Error("server stopped", "err", err)
		code = exitError
	case err := <-up.Err():
		logger.Error("demo upstream stopped", "err", err)
		code = exitError
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	// The proxy first, so that it does not see its upstreams go and reconnect.
	if err := m.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Error("shutdown", "err", err)
		code = exitError
	}
	closeDemoUpstream(sctx, cfg, up)
	logger.Info("stopped")
	return code
}

// closeDemoUpstream stops the demo upstream within the shutdown timeout.
func closeDemoUpstream(ctx context.Context, cfg *config.Config, up *demoUpstream) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	_ = up.Close(ctx)
}

// demoRoutes are the demo's two routes, with every option at its global setting: the
// SSE feed, whose WebSocket clients' messages are POSTed to its publish endpoint, and
// the chat, which resumes after the last event id it is given.
func demoRoutes(cfg *config.Config, up *demoUpstream) []config.Route {
	sseRoute := cfg.NewRoute(demoSSEPath, up.url("http", "/events"))
	sseRoute.Publish = up.url("http", "/publish")
	wsRoute := cfg.NewRoute(demoWSPath, up.url("ws", "/chat"))
	wsRoute.ResumeParam = demoResumeParam
	return []config.Route{sseRoute, wsRoute}
}

// demoURL is the page's URL for the address ssews listens on: a wildcard address
// becomes localhost, which is what a browser on the same machine opens.
func demoURL(addr string, tls bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	if port == "" {
		return scheme + "://" + host + "/"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}
