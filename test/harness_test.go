// Package test holds ssews's end-to-end tests: the real Main on loopback against
// httptest upstreams, driven by real gorilla WebSocket clients and plain HTTP clients.
package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/ssews/ssews/cmd/ssews/app"
	"github.com/ssews/ssews/config"
	"github.com/ssews/ssews/sse"
)

// wait bounds every wait in these tests: long enough for a loaded CI machine, short
// enough that a hang fails instead of timing the suite out.
const wait = 10 * time.Second

// TestMain fails the run when any goroutine outlives the tests: every proxy is shut
// down by its test, and only the test clients' idle keep-alive connections remain,
// which are closed first.
func TestMain(m *testing.M) {
	code := m.Run()
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left behind: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// proxy is a running ssews.
type proxy struct {
	main *app.Main
	url  string // http://127.0.0.1:port
	ws   string // ws://127.0.0.1:port
	logs *syncBuffer
}

// syncBuffer is a log sink tests can read while the proxy writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startProxy runs ssews's Main with env (SSEWS_ variables) on loopback ports, and
// stops it when the test ends.
func startProxy(tb testing.TB, env map[string]string) *proxy {
	tb.Helper()
	full := map[string]string{
		"SSEWS_LISTEN":       "127.0.0.1:0",
		"SSEWS_ADMIN_LISTEN": "127.0.0.1:0",
		"SSEWS_RETRY":        "50ms",
	}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := config.Load(full)
	if err != nil {
		tb.Fatalf("config: %v", err)
	}
	logs := &syncBuffer{}
	level := slog.LevelDebug
	if _, bench := tb.(*testing.B); bench {
		level = slog.LevelInfo // a line per client would weigh in the measures
	}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{tb}, logs), &slog.HandlerOptions{Level: level}))
	m := app.NewMain(cfg, logger)
	if err := m.Open(); err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := m.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	return &proxy{main: m, url: "http://" + m.Addr(), ws: "ws://" + m.Addr(), logs: logs}
}

// testWriter sends log lines to the test log, so they show only for failing tests.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// routes builds SSEWS_ROUTES from path, upstream pairs.
func routes(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pairs[i] + "=" + pairs[i+1])
	}
	return b.String()
}

// wsURL turns an httptest URL into its ws:// form.
func wsURL(httpURL string) string { return "ws" + strings.TrimPrefix(httpURL, "http") }

// sseStream is an EventSource-like client: one GET, events parsed as they come.
type sseStream struct {
	resp   *http.Response
	parser *sse.Parser
	cancel context.CancelFunc
}

// openSSE GETs url as an EventSource would and fails the test unless it is a 200
// event stream.
func openSSE(tb testing.TB, rawURL string, header http.Header) *sseStream {
	tb.Helper()
	s, status := tryOpenSSE(tb, rawURL, header)
	if status != http.StatusOK {
		tb.Fatalf("GET %s: status %d; want 200", rawURL, status)
	}
	return s
}

// tryOpenSSE GETs url and returns the stream when the status is 200, and the status.
func tryOpenSSE(tb testing.TB, rawURL string, header http.Header) (*sseStream, int) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		tb.Fatalf("GET %s: %v", rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		tb.Fatalf("Content-Type %q; want text/event-stream", ct)
	}
	s := &sseStream{resp: resp, parser: sse.NewParser(resp.Body, 16<<20), cancel: cancel}
	tb.Cleanup(s.close)
	return s, resp.StatusCode
}

func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the next event, failing the test after the wait deadline.
func (s *sseStream) next(tb testing.TB) sse.Event {
	tb.Helper()
	type result struct {
		ev  sse.Event
		err error
	}
	ch := make(chan result, 1)
	go func() {
		ev, err := s.parser.Next()
		ch <- result{ev, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			tb.Fatalf("reading event: %v", r.err)
		}
		return r.ev
	case <-time.After(wait):
		s.close()
		<-ch
		tb.Fatalf("no event within %v", wait)
	}
	return sse.Event{}
}

// nextData returns the next event without its reconnection time: ssews's own
// retry: line attaches to the first event, which is not what most tests look at.
func (s *sseStream) nextData(tb testing.TB) sse.Event {
	tb.Helper()
	ev := s.next(tb)
	ev.Retry, ev.HasRetry = 0, false
	return ev
}

// expectEnd asserts the stream ends (EOF or reset) within the deadline.
func (s *sseStream) expectEnd(tb testing.TB) {
	tb.Helper()
	ch := make(chan error, 1)
	go func() {
		for {
			if _, err := s.parser.Next(); err != nil {
				ch <- err
				return
			}
		}
	}()
	select {
	case <-ch:
	case <-time.After(wait):
		s.close()
		<-ch
		tb.Fatalf("stream did not end within %v", wait)
	}
}

// dialWS opens a WebSocket client to url and fails the test on error.
func dialWS(tb testing.TB, rawURL string, header http.Header) *websocket.Conn {
	tb.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(rawURL, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		tb.Fatalf("dial %s: %v (status %d)", rawURL, err, status)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// dialWSStatus dials url expecting the handshake to be refused, and returns the status.
func dialWSStatus(tb testing.TB, rawURL string) int {
	tb.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(rawURL, nil)
	if err == nil {
		c.Close()
		tb.Fatalf("dial %s succeeded; want refusal", rawURL)
	}
	if resp == nil {
		tb.Fatalf("dial %s: %v; want an HTTP status", rawURL, err)
	}
	return resp.StatusCode
}

// readText reads one text message within the deadline.
func readText(tb testing.TB, c *websocket.Conn) string {
	tb.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	typ, p, err := c.ReadMessage()
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		tb.Fatalf("message type %d; want text", typ)
	}
	return string(p)
}

// readClose reads until the connection closes and returns the close code.
func readClose(tb testing.TB, c *websocket.Conn) (int, string) {
	tb.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce):
			return ce.Code, ce.Text
		case strings.HasSuffix(err.Error(), "bad close code 1014"):
			// gorilla refuses to parse 1014 (it predates the code's
			// registration): the code is read from its error, the text is lost.
			return 1014, ""
		}
		tb.Fatalf("read: %v; want a close frame", err)
	}
}

// recv waits for a value on ch within the deadline.
func recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		tb.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// get performs a GET and returns status and body.
func get(tb testing.TB, rawURL string, header http.Header) (int, string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body)
}

var _ = url.Values{}

func timeNowPlusWait() time.Time { return time.Now().Add(wait) }
