package app

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// tailWait bounds every wait in these tests; nothing here takes more than a few
// milliseconds when it works.
const tailWait = 5 * time.Second

// tailBuffer is an output that tail writes from its goroutine while the test reads,
// and that signals every write so the test waits on a channel, not a sleep.
type tailBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func newTailBuffer() *tailBuffer { return &tailBuffer{wrote: make(chan struct{}, 1)} }

func (s *tailBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	n, err := s.b.Write(p)
	s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (s *tailBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the complete lines written so far.
func (s *tailBuffer) lines() []string {
	out := s.String()
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		return strings.Split(out[:i], "\n")
	}
	return nil
}

// tailRun is one tail running in the background, as the binary runs it.
type tailRun struct {
	stdout, stderr *tailBuffer
	cancel         context.CancelFunc
	exited         chan struct{}
	code           int
}

// startTail runs tail with args until it exits or the test ends.
func startTail(t testing.TB, env map[string]string, args ...string) *tailRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &tailRun{stdout: newTailBuffer(), stderr: newTailBuffer(), cancel: cancel, exited: make(chan struct{})}
	if env == nil {
		env = map[string]string{}
	}
	go func() {
		defer close(r.exited)
		r.code = tail(ctx, args, env, r.stdout, r.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.exited:
		case <-time.After(tailWait):
			t.Errorf("tail %q did not exit after cancel", args)
		}
	})
	return r
}

// runTail runs tail to its end.
func runTail(t testing.TB, args ...string) *tailRun {
	t.Helper()
	r := startTail(t, nil, args...)
	r.wait(t)
	return r
}

// wait returns tail's exit status.
func (r *tailRun) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-r.exited:
		return r.code
	case <-time.After(tailWait):
		t.Fatalf("tail did not exit; stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		return -1
	}
}

// waitLines waits until stdout holds at least n complete lines and returns them.
func (r *tailRun) waitLines(t testing.TB, n int) []string {
	t.Helper()
	deadline := time.After(tailWait)
	for {
		if lines := r.stdout.lines(); len(lines) >= n {
			return lines
		}
		select {
		case <-r.stdout.wrote:
		case <-r.exited:
			if lines := r.stdout.lines(); len(lines) >= n {
				return lines
			}
			t.Fatalf("tail exited with %d before %d lines; stdout:\n%s\nstderr:\n%s", r.code, n, r.stdout, r.stderr)
		case <-deadline:
			t.Fatalf("no %d lines from tail; stdout:\n%s\nstderr:\n%s", n, r.stdout, r.stderr)
		}
	}
}

// stderrLines is what tail reported, one line each.
func (r *tailRun) stderrLines() []string { return r.stderr.lines() }

// startTailSSE starts an event stream as servers write it: the headers of the seed
// article, each write flushed at once.
func startTailSSE(t testing.TB, handler func(w *tailSSEWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Connection", "keep-alive")
		w.WriteHeader(http.StatusOK)
		handler(&tailSSEWriter{w: w}, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// tailSSEWriter writes raw stream text and flushes it.
type tailSSEWriter struct{ w http.ResponseWriter }

func (s *tailSSEWriter) send(text string) {
	fmt.Fprint(s.w, text)
	http.NewResponseController(s.w).Flush()
}

// drop ends the connection without ending the response, as a crashed server or a
// cut network does; the client sees an unexpected EOF.
func (s *tailSSEWriter) drop() { panic(http.ErrAbortHandler) }

// startTailWS starts a WebSocket server and waits for its handlers when the test ends,
// so that no goroutine outlives it.
func startTailWS(t testing.TB, handler func(c *websocket.Conn, r *http.Request)) *httptest.Server {
	t.Helper()
	var wg sync.WaitGroup
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer c.Close()
		handler(c, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return srv
}

// tailWSURL is the ws:// URL of an httptest server.
func tailWSURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// tailCloseWS sends a close frame and waits for the client's answer (or its leaving).
func tailCloseWS(c *websocket.Conn, code int) {
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	tailDrainWS(c)
}

// tailDrainWS reads until the client goes, answering its close frame.
func tailDrainWS(c *websocket.Conn) {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

// tailUnusedAddr is an address nothing listens on.
func tailUnusedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
