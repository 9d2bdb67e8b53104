package test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/sse"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost, and its
// key, into a temp dir; it returns both paths and a pool that trusts the certificate.
func selfSigned(tb testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ssews test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		tb.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// startTLSProxy runs ssews serving TLS with a fresh self-signed certificate.
func startTLSProxy(tb testing.TB, env map[string]string) (*proxy, *x509.CertPool) {
	tb.Helper()
	cert, key, pool := selfSigned(tb)
	full := map[string]string{"SSEWS_TLS_CERT": cert, "SSEWS_TLS_KEY": key}
	for k, v := range env {
		full[k] = v
	}
	p := startProxy(tb, full)
	p.url = "https://" + p.main.Addr()
	p.ws = "wss://" + p.main.Addr()
	return p, pool
}

// TestTLSHTTP2ManyEventSources: browsers open at most 6 HTTP/1.1 connections per
// host, so a page with more EventSources needs HTTP/2. Ten streams share one TLS
// connection, all live at once.
func TestTLSHTTP2ManyEventSources(t *testing.T) {
	t.Parallel()
	const streams = 10
	second := make(chan struct{})
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "id: 1\ndata: first\n\n")
		select {
		case <-second:
			write(w, "id: 2\ndata: second\n\n")
		case <-r.Context().Done():
			return
		}
		<-r.Context().Done()
	})
	p, pool := startTLSProxy(t, map[string]string{"SSEWS_ROUTES": routes("/news", up.URL)})

	var dials atomic.Int64
	closed := make(chan struct{}, streams)
	dialer := &net.Dialer{Timeout: wait}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &notifyConn{Conn: c, closed: closed}, nil
		},
	}
	t.Cleanup(func() {
		// The connection goes idle once its streams' cancellations are through;
		// closing it then spares the server's wait for a client that would keep
		// it after GOAWAY.
		pollUntil(t, "the HTTP/2 connection closed", func() bool {
			tr.CloseIdleConnections()
			return len(closed) > 0
		})
	})
	client := &http.Client{Transport: tr}

	// The first stream opens the connection; the others are opened at once on it.
	opened := make([]*h2Stream, streams)
	opened[0] = openH2Stream(t, client, p.url+"/news")
	results := make(chan *h2Stream, streams)
	for range streams - 1 {
		go func() { results <- openH2Stream(t, client, p.url+"/news") }()
	}
	for i := 1; i < streams; i++ {
		opened[i] = recv(t, results, "an HTTP/2 event stream")
		if opened[i] == nil {
			t.FailNow()
		}
	}
	for i, s := range opened {
		if ev := s.next(t); ev.Data != "first" || ev.ID != "1" {
			t.Fatalf("stream %d: first event %+v; want id 1, data first", i, ev)
		}
	}
	close(second) // every upstream connection sends again: all streams are live together
	for i, s := range opened {
		if ev := s.next(t); ev.Data != "second" || ev.ID != "2" {
			t.Fatalf("stream %d: second event %+v; want id 2, data second", i, ev)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d TCP connections for %d streams; want 1", n, streams)
	}
}

// notifyConn reports its Close on closed.
type notifyConn struct {
	net.Conn
	once   sync.Once
	closed chan<- struct{}
}

func (c *notifyConn) Close() error {
	c.once.Do(func() { c.closed <- struct{}{} })
	return c.Conn.Close()
}

// h2Stream is an EventSource-like stream over the TLS client.
type h2Stream struct {
	sseStream
}

// openH2Stream GETs url through client and checks it is a 200 event stream over
// HTTP/2. It returns nil after reporting an error, for use off the test goroutine.
func openH2Stream(tb testing.TB, client *http.Client, rawURL string) *h2Stream {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		tb.Errorf("GET %s: %v", rawURL, err)
		return nil
	}
	s := &h2Stream{sseStream{resp: resp, parser: sse.NewParser(resp.Body, 1<<20), cancel: cancel}}
	tb.Cleanup(s.close)
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		tb.Errorf("GET %s: %s %s; want 200 over HTTP/2", rawURL, resp.Proto, resp.Status)
		return nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		tb.Errorf("Content-Type %q; want text/event-stream", ct)
		return nil
	}
	return s
}

// TestTLSWebSocket: WebSocket clients use the same TLS listener over HTTP/1.1, for
// both kinds of upstream, whether they offer ALPN http/1.1 (as browsers do for a
// WebSocket connection) or no ALPN at all.
func TestTLSWebSocket(t *testing.T) {
	t.Parallel()
	sseUp := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: from sse\n\n")
		<-r.Context().Done()
	})
	wsUp := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		c.WriteMessage(websocket.TextMessage, []byte("from ws"))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	p, pool := startTLSProxy(t, map[string]string{"SSEWS_ROUTES": routes("/sse", sseUp.URL, "/ws", wsURL(wsUp.URL))})
	for _, alpn := range [][]string{nil, {"http/1.1"}} {
		d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: alpn}, HandshakeTimeout: wait}
		for path, want := range map[string]string{"/sse": `{"event":"message","data":"from sse"}`, "/ws": "from ws"} {
			c, resp, err := d.Dial(p.ws+path, nil)
			if err != nil {
				t.Fatalf("wss %s (ALPN %q): %v (response %v)", path, alpn, err, resp)
			}
			if got := readText(t, c); got != want {
				t.Errorf("wss %s: %q; want %q", path, got, want)
			}
			if proto := c.UnderlyingConn().(*tls.Conn).ConnectionState().NegotiatedProtocol; alpn != nil && proto != "http/1.1" {
				t.Errorf("wss %s: ALPN %q; want http/1.1", path, proto)
			}
			c.Close()
		}
	}
}

// TestTLSNoWebSocketOverHTTP2: a server that advertises extended CONNECT (RFC 8441,
// SETTINGS_ENABLE_CONNECT_PROTOCOL) invites browsers to run WebSocket over their
// HTTP/2 connection, which ssews's WebSocket side (HTTP/1.1 Upgrade) cannot serve:
// the browser's WebSocket would fail. ssews must not advertise it.
func TestTLSNoWebSocketOverHTTP2(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
	p, pool := startTLSProxy(t, map[string]string{"SSEWS_ROUTES": routes("/x", up.URL)})
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", p.main.Addr(), &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if proto := conn.ConnectionState().NegotiatedProtocol; proto != "h2" {
		t.Fatalf("ALPN %q; want h2 offered to HTTP/2 clients", proto)
	}
	conn.SetDeadline(time.Now().Add(wait))
	// Client preface and an empty SETTINGS frame; the server's first frame is its
	// SETTINGS.
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	if _, err := conn.Write(append([]byte(preface), 0, 0, 0, 4, 0, 0, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var hdr [9]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		t.Fatalf("reading the server's first frame: %v", err)
	}
	length := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
	if typ := hdr[3]; typ != 4 {
		t.Fatalf("first frame type %d; want SETTINGS (4)", typ)
	}
	payload := make([]byte, length)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	const enableConnectProtocol = 0x8
	for i := 0; i+6 <= len(payload); i += 6 {
		id, val := binary.BigEndian.Uint16(payload[i:]), binary.BigEndian.Uint32(payload[i+2:])
		if id == enableConnectProtocol && val != 0 {
			t.Errorf("server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL=%d; browsers would try WebSocket over HTTP/2", val)
		}
	}
}

// TestTLSBinaryALPN runs the binary under the GODEBUG settings that change Go's HTTP/2
// server: ssews offers h2 only when it serves it, and never together with extended
// CONNECT, so both EventSource and WebSocket keep working in browsers.
func TestTLSBinaryALPN(t *testing.T) {
	t.Parallel()
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		write(w, "data: hi\n\n")
		<-r.Context().Done()
	})
	cert, key, pool := selfSigned(t)
	ssewsBinary(t)
	for _, c := range []struct {
		godebug, want string
		warn          bool
	}{
		{"", "h2", false},
		{"http2server=0", "http/1.1", false},
		{"http2xconnect=1", "http/1.1", true},
	} {
		t.Run("GODEBUG="+c.godebug, func(t *testing.T) {
			t.Parallel()
			p := startBinary(t, map[string]string{
				"GODEBUG":            c.godebug,
				"SSEWS_LISTEN":       "127.0.0.1:0",
				"SSEWS_ADMIN_LISTEN": "",
				"SSEWS_LOG_FORMAT":   "json",
				"SSEWS_TLS_CERT":     cert,
				"SSEWS_TLS_KEY":      key,
				"SSEWS_ROUTES":       routes("/x", up.URL),
			})
			addr, _ := p.listening(t)
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/x", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("GET offering h2 and http/1.1: %v", err)
			}
			defer resp.Body.Close()
			if got := resp.TLS.NegotiatedProtocol; resp.StatusCode != http.StatusOK || got != c.want {
				t.Errorf("%s, ALPN %q; want 200 over %s", resp.Status, got, c.want)
			}
			if ev, err := sse.NewParser(resp.Body, 1<<10).Next(); err != nil || ev.Data != "hi" {
				t.Errorf("event %+v, %v; want data hi", ev, err)
			}
			d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}, HandshakeTimeout: wait}
			conn, _, err := d.Dial("wss://"+addr+"/x", nil)
			if err != nil {
				t.Fatalf("wss: %v", err)
			}
			readText(t, conn)
			conn.Close()
			if c.warn {
				p.waitLog(t, "HTTP/2 disabled: GODEBUG=http2xconnect=1 would make browsers send WebSockets over HTTP/2, which ssews does not serve")
			}
		})
	}
}
