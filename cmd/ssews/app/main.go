// Package app is the ssews command: it wires configuration, logging, the bridge and
// the admin server, and is importable so end-to-end tests run the real thing.
package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssews/ssews/bridge"
	"github.com/ssews/ssews/config"
)

// Main is one running ssews: the client-facing server and the admin server.
type Main struct {
	Config *config.Config
	Logger *slog.Logger
	// Fallback, when set before Open, answers requests to paths that are not routes
	// (instead of 404), so a command can serve its own pages on the routes' listener
	// and origin: `ssews demo` serves its page at / this way.
	Fallback http.Handler

	registry *prometheus.Registry
	bridge   *bridge.Server
	server   *http.Server
	admin    *http.Server
	ln       net.Listener
	adminLn  net.Listener
	ready    atomic.Bool
	serveErr chan error
}

// NewMain prepares ssews for cfg; Open starts it.
func NewMain(cfg *config.Config, logger *slog.Logger) *Main {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Main{Config: cfg, Logger: logger, registry: reg, serveErr: make(chan error, 2)}
	m.bridge = bridge.New(bridge.Options{
		Routes:          cfg.Resolved,
		Metrics:         bridge.NewMetrics(reg),
		Logger:          logger,
		WriteTimeout:    cfg.WriteTimeout,
		UpstreamTimeout: cfg.UpstreamTimeout,
		MaxConnections:  cfg.MaxConnections,
		ClientBuffer:    cfg.ClientBuffer,
	})
	return m
}

// Open listens on both addresses and serves in the background: when it returns, the
// addresses are known (tests listen on :0) and clients can connect.
//
// A certificate and key that do not load are a *config.Error, found before anything
// listens.
func (m *Main) Open() error {
	m.server = &http.Server{
		Handler:           m.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Streams are never idle; this closes keep-alive connections (and HTTP/2
		// connections without streams) that clients leave open and unused.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	if m.Config.TLSCert != "" {
		if err := m.configureTLS(); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on SSEWS_LISTEN %s: %w", m.Config.Listen, err)
	}
	m.ln = ln
	if m.Config.AdminListen != "" {
		aln, err := net.Listen("tcp", m.Config.AdminListen)
		if err != nil {
			m.ln.Close()
			return fmt.Errorf("listen on SSEWS_ADMIN_LISTEN %s: %w", m.Config.AdminListen, err)
		}
		m.adminLn = aln
		m.admin = &http.Server{Handler: m.adminHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		go m.serve(m.admin, aln)
	}
	m.ready.Store(true)
	useTLS := m.server.TLSConfig != nil // read before Serve, which may set it
	go m.serve(m.server, m.ln)
	m.Logger.Info("ssews listening", "addr", m.ln.Addr().String(), "tls", useTLS, "admin", m.AdminAddr(), "routes", len(m.Config.Resolved))
	return nil
}

// configureTLS loads the certificate and lets serve offer HTTP/2 (ALPN h2, so a page
// can hold more than six EventSources on one connection) next to HTTP/1.1, which
// WebSocket clients use. Serving goes through ServeTLS, which offers h2 only when the
// server really speaks it (GODEBUG=http2server=0 turns it off).
//
// WebSocket over HTTP/2 (RFC 8441 extended CONNECT) is not served: gorilla upgrades
// HTTP/1.1 requests only. Go does not advertise extended CONNECT unless
// GODEBUG=http2xconnect=1; with that setting browsers would send their WebSockets
// over the HTTP/2 connection and fail, so HTTP/2 is turned off instead.
func (m *Main) configureTLS() error {
	cert, err := tls.LoadX509KeyPair(m.Config.TLSCert, m.Config.TLSKey)
	if err != nil {
		// Name the file at fault: the certificate when it holds none, else the key.
		v := "SSEWS_TLS_KEY"
		if b, rerr := os.ReadFile(m.Config.TLSCert); rerr != nil || !bytes.Contains(b, []byte("-----BEGIN CERTIFICATE-----")) {
			v = "SSEWS_TLS_CERT"
		}
		return &config.Error{Var: v, Err: err}
	}
	m.server.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		m.Logger.Warn("HTTP/2 disabled: GODEBUG=http2xconnect=1 would make browsers send WebSockets over HTTP/2, which ssews does not serve")
		var p http.Protocols
		p.SetHTTP1(true)
		m.server.Protocols = &p
	}
	return nil
}

// handler is the client-facing handler: the bridge, with Fallback for other paths.
func (m *Main) handler() http.Handler {
	if m.Fallback == nil {
		return m.bridge
	}
	routes := make(map[string]bool, len(m.Config.Resolved))
	for _, rt := range m.Config.Resolved {
		routes[rt.Path] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if routes[r.URL.Path] {
			m.bridge.ServeHTTP(w, r)
			return
		}
		m.Fallback.ServeHTTP(w, r)
	})
}

// serve runs one server until it is shut down, reporting any other end.
func (m *Main) serve(s *http.Server, ln net.Listener) {
	var err error
	if s.TLSConfig != nil {
		err = s.ServeTLS(ln, "", "") // certificates are in TLSConfig
	} else {
		err = s.Serve(ln)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		m.serveErr <- err
	}
}

// Err reports a server that stopped by itself.
func (m *Main) Err() <-chan error { return m.serveErr }

// Addr is the client-facing address.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// AdminAddr is the admin address, "" when disabled.
func (m *Main) AdminAddr() string {
	if m.adminLn == nil {
		return ""
	}
	return m.adminLn.Addr().String()
}

// adminHandler serves /healthz, /readyz and /metrics.
func (m *Main) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !m.ready.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry}))
	return mux
}

// Shutdown drains: /readyz turns 503, new clients are refused, WebSocket clients get
// close 1001 and SSE streams end; it returns when all have gone or ctx is done.
func (m *Main) Shutdown(ctx context.Context) error {
	m.ready.Store(false)
	m.bridge.Drain()
	err := m.server.Shutdown(ctx) // waits for SSE handlers; hijacked ones are tracked by the bridge
	if werr := m.bridge.Wait(ctx); err == nil {
		err = werr
	}
	if err != nil {
		m.server.Close()
	}
	m.bridge.Close()
	if m.admin != nil {
		m.admin.Close()
	}
	return err
}
