package test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ssews/ssews/sse"
)

// ticker is an SSE upstream for shared-mode tests: events are pushed by the test
// through send, to every connection the upstream has open.
type ticker struct {
	*backend
	mu    sync.Mutex
	conns map[chan string]struct{}
	open  chan struct{} // one value per new upstream connection
}

func newTicker(tb testing.TB) *ticker {
	tk := &ticker{conns: map[chan string]struct{}{}, open: make(chan struct{}, 64)}
	tk.backend = newSSEBackend(tb, func(w http.ResponseWriter, r *http.Request, n int) {
		ch := make(chan string, 1024)
		tk.mu.Lock()
		tk.conns[ch] = struct{}{}
		tk.mu.Unlock()
		tk.open <- struct{}{}
		defer func() {
			tk.mu.Lock()
			delete(tk.conns, ch)
			tk.mu.Unlock()
			tk.gone <- struct{}{}
		}()
		for {
			select {
			case s, ok := <-ch:
				if !ok {
					return // the test dropped this connection
				}
				write(w, s)
			case <-r.Context().Done():
				return
			}
		}
	})
	return tk
}

// send writes raw stream text to every open upstream connection.
func (tk *ticker) send(s string) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for ch := range tk.conns {
		ch <- s
	}
}

// drop ends every open upstream connection, as a restarting backend would.
func (tk *ticker) drop() {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for ch := range tk.conns {
		close(ch)
		delete(tk.conns, ch)
	}
}

func (tk *ticker) connections() int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return len(tk.conns)
}

// sharedRoute writes a routes file with one shared route and extra YAML lines.
func sharedRoute(tb testing.TB, path, upstream string, extra ...string) string {
	y := fmt.Sprintf("- path: %s\n  upstream: %s\n  shared: true\n", path, upstream)
	for _, e := range extra {
		y += "  " + e + "\n"
	}
	return writeFile(tb, "routes.yaml", y)
}

var assignedID = regexp.MustCompile(`^[0-9a-z]+-[0-9]+$`)

func TestSharedFanOutOneUpstream(t *testing.T) {
	t.Parallel()
	tk := newTicker(t)
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": sharedRoute(t, "/live", tk.URL)})
	var sses []*sseStream
	var wss []*websocket.Conn
	for range 5 {
		sses = append(sses, openSSE(t, p.url+"/live", nil))
		wss = append(wss, dialWS(t, p.ws+"/live", nil))
	}
	recv(t, tk.open, "upstream connection")
	waitMetric(t, p, `ssews_connections{client="ws",route="/live"}`, 5)
	waitMetric(t, p, `ssews_connections{client="sse",route="/live"}`, 5)
	for i := range 3 {
		tk.send(fmt.Sprintf("event: tick\ndata: %d\n\n", i))
	}
	var ids []string
	for i := range 3 {
		for j, s := range sses {
			ev := s.nextData(t)
			if ev.Data != fmt.Sprint(i) || ev.Type != "tick" || !assignedID.MatchString(ev.ID) {
				t.Fatalf("sse client %d event %d: %+v", j, i, ev)
			}
			if j == 0 {
				ids = append(ids, ev.ID)
			} else if ev.ID != ids[i] {
				t.Errorf("sse client %d id %q; client 0 had %q", j, ev.ID, ids[i])
			}
		}
		for j, c := range wss {
			want := fmt.Sprintf(`{"event":"tick","data":"%d","id":"%s"}`, i, ids[i])
			if got := readText(t, c); got != want {
				t.Errorf("ws client %d: got %s; want %s", j, got, want)
			}
		}
	}
	if n := tk.count.Load(); n != 1 {
		t.Errorf("upstream got %d connections; want 1 for 10 clients", n)
	}
}

func TestSharedResumeFromReplay(t *testing.T) {
	t.Parallel()
	tk := newTicker(t)
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": sharedRoute(t, "/live", tk.URL, "gap_event: gap")})
	first := openSSE(t, p.url+"/live", nil)
	recv(t, tk.open, "upstream connection")
	waitMetric(t, p, `ssews_connections{client="sse",route="/live"}`, 1)
	for i := range 5 {
		tk.send(fmt.Sprintf("data: %d\n\n", i))
	}
	var ids []string
	for range 5 {
		ids = append(ids, first.nextData(t).ID)
	}
	// Resume after event 1: events 2, 3, 4 from the buffer, then live, no gap, no duplicate.
	s := openSSE(t, p.url+"/live", http.Header{"Last-Event-ID": {ids[1]}})
	c := dialWS(t, p.ws+"/live?format=raw&lastEventId="+ids[1], nil)
	tk.send("data: 5\n\n")
	for i := 2; i <= 5; i++ {
		if ev := s.nextData(t); ev.Data != fmt.Sprint(i) {
			t.Errorf("sse resume: got %+v; want data %d", ev, i)
		}
		if got := readText(t, c); got != fmt.Sprint(i) {
			t.Errorf("ws resume: got %q; want %d", got, i)
		}
	}
	// An id not in the buffer: a gap event, then the live stream, and a counted miss.
	g := openSSE(t, p.url+"/live", http.Header{"Last-Event-ID": {"gone-1"}})
	if ev := g.nextData(t); ev != (sse.Event{Type: "gap", Data: `{"lastEventId":"gone-1"}`}) {
		t.Errorf("gap event: got %+v", ev)
	}
	waitMetric(t, p, `ssews_replay_misses_total{route="/live"}`, 1)
	tk.send("data: 6\n\n")
	if ev := g.nextData(t); ev.Data != "6" {
		t.Errorf("after the gap: got %+v; want the live event", ev)
	}
}

func TestSharedKeepsUpstreamIDsAndSurvivesDrops(t *testing.T) {
	t.Parallel()
	tk := newTicker(t)
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": sharedRoute(t, "/live", tk.URL)})
	s := openSSE(t, p.url+"/live", nil)
	c := dialWS(t, p.ws+"/live?format=raw", nil)
	recv(t, tk.open, "upstream connection")
	waitMetric(t, p, `ssews_connections{client="ws",route="/live"}`, 1)
	tk.send("id: a1\ndata: one\n\n")
	tk.drop() // the backend restarts
	recv(t, tk.requests, "first upstream request")
	recv(t, tk.open, "upstream reconnection")
	if got := recv(t, tk.requests, "second upstream request").Header.Get("Last-Event-ID"); got != "a1" {
		t.Errorf("reconnect Last-Event-ID %q; want a1", got)
	}
	tk.send("id: a2\ndata: two\n\n")
	for _, want := range []sse.Event{{Type: "message", Data: "one", ID: "a1"}, {Type: "message", Data: "two", ID: "a2"}} {
		if got := s.nextData(t); got != want {
			t.Errorf("sse: got %+v; want %+v", got, want)
		}
		if got := readText(t, c); got != want.Data {
			t.Errorf("ws: got %q; want %q", got, want.Data)
		}
	}
}

func TestSharedSlowClientIsDisconnected(t *testing.T) {
	t.Parallel()
	tk := newTicker(t)
	p := startProxy(t, map[string]string{
		"SSEWS_CONFIG":        sharedRoute(t, "/live", tk.URL),
		"SSEWS_CLIENT_BUFFER": "4",
	})
	slow := dialWS(t, p.ws+"/live?format=raw", nil) // reads nothing until the end
	good := openSSE(t, p.url+"/live", nil)
	recv(t, tk.open, "upstream connection")
	waitMetric(t, p, `ssews_connections{client="ws",route="/live"}`, 1)
	waitMetric(t, p, `ssews_connections{client="sse",route="/live"}`, 1)
	big := strings.Repeat("x", 64<<10)
	const n = 300 // ~19 MB: far more than socket buffers and a 4-event queue hold
	for i := range n {
		// In step with the good client: it is never more than one event behind,
		// while the stalled one falls further back with every event.
		tk.send(fmt.Sprintf("data: %d %s\n\n", i, big))
		if ev := good.nextData(t); !strings.HasPrefix(ev.Data, fmt.Sprintf("%d ", i)) {
			t.Fatalf("good client event %d: got %.20q", i, ev.Data)
		}
	}
	waitMetric(t, p, `ssews_slow_client_disconnects_total{client="ws",route="/live"}`, 1)
	// The client never read, so its socket may be full: the 1013 close frame gets
	// through when there is room for it (ws tests pin that), otherwise the
	// connection is cut. Either way it ends, and a close frame says 1013.
	slow.SetReadDeadline(timeNowPlusWait())
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != websocket.CloseTryAgainLater && ce.Code != websocket.CloseAbnormalClosure {
			t.Errorf("slow client close %d; want 1013", ce.Code)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("slow client still connected after being let go")
		}
		break
	}
}

func TestSharedLingerAndDistinctStreams(t *testing.T) {
	t.Parallel()
	tk := newTicker(t)
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": sharedRoute(t, "/live", tk.URL, "linger: 200ms")})
	a := openSSE(t, p.url+"/live?topic=a", nil)
	b := openSSE(t, p.url+"/live?topic=b", nil)
	recv(t, tk.open, "upstream a")
	recv(t, tk.open, "upstream b")
	closed := time.Now()
	a.close()
	b.close()
	recv(t, tk.gone, "upstream closed after linger")
	recv(t, tk.gone, "upstream closed after linger")
	if d := time.Since(closed); d < 200*time.Millisecond {
		t.Errorf("upstreams closed %v after their last client left; want the 200ms linger first", d)
	}
	if n := tk.connections(); n != 0 {
		t.Errorf("%d upstream connections open after linger; want 0", n)
	}
}

func TestSharedWebSocketUpstreamFansOutFrames(t *testing.T) {
	t.Parallel()
	msgs := make(chan []byte, 8)
	up := newWSBackend(t, func(c *websocket.Conn, r *http.Request, n int) {
		var mu sync.Mutex // gorilla allows one writer at a time
		pushed := make(chan struct{})
		go func() {
			defer close(pushed)
			for m := range msgs {
				mu.Lock()
				c.WriteMessage(websocket.BinaryMessage, m)
				mu.Unlock()
			}
		}()
		defer func() { <-pushed }()
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			mu.Lock()
			c.WriteMessage(websocket.TextMessage, append([]byte("echo:"), p...))
			mu.Unlock()
		}
	})
	closeMsgs := sync.OnceFunc(func() { close(msgs) })
	t.Cleanup(closeMsgs) // before the upstream's cleanup waits for its handler
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": sharedRoute(t, "/chat", wsURL(up.URL))})
	c1 := dialWS(t, p.ws+"/chat", nil)
	c2 := dialWS(t, p.ws+"/chat", nil)
	s := openSSE(t, p.url+"/chat", nil)
	waitMetric(t, p, `ssews_connections{client="ws",route="/chat"}`, 2)
	waitMetric(t, p, `ssews_connections{client="sse",route="/chat"}`, 1)
	c1.WriteMessage(websocket.TextMessage, []byte("hi all"))
	for _, c := range []*websocket.Conn{c1, c2} {
		if got := readText(t, c); got != "echo:hi all" {
			t.Errorf("ws client: got %q; want the upstream's frame as it came", got)
		}
	}
	if ev := s.nextData(t); ev.Data != "echo:hi all" || !assignedID.MatchString(ev.ID) {
		t.Errorf("sse client: got %+v; want the message with an assigned id", ev)
	}
	msgs <- []byte{0xff, 0}
	closeMsgs()
	c2.SetReadDeadline(timeNowPlusWait())
	if typ, b, err := c2.ReadMessage(); err != nil || typ != websocket.BinaryMessage || string(b) != "\xff\x00" {
		t.Errorf("binary frame: type %d %q %v", typ, b, err)
	}
	if ev := s.nextData(t); ev.Type != "binary" || ev.Data != "/wA=" {
		t.Errorf("sse binary event: %+v", ev)
	}
	if n := up.count.Load(); n != 1 {
		t.Errorf("upstream connections %d; want 1", n)
	}
}

// TestSharedStreamHeaders: an HTTP/1.1 shared stream is served on a taken-over
// connection, so its response head is ssews's own: it must still carry the SSE and
// CORS headers and start with the retry.
func TestSharedStreamHeaders(t *testing.T) {
	t.Parallel()
	tk := newTicker(t)
	p := startProxy(t, map[string]string{
		"SSEWS_CONFIG":          sharedRoute(t, "/live", tk.URL),
		"SSEWS_ALLOWED_ORIGINS": "https://app.example",
		"SSEWS_RETRY":           "2s",
	})
	s := openSSE(t, p.url+"/live", http.Header{"Origin": {"https://app.example"}})
	for k, want := range map[string]string{
		"Content-Type":                     "text/event-stream",
		"Cache-Control":                    "no-cache",
		"Access-Control-Allow-Origin":      "https://app.example",
		"Access-Control-Allow-Credentials": "true",
		"Vary":                             "Origin",
	} {
		if got := s.resp.Header.Get(k); got != want {
			t.Errorf("%s: %q; want %q", k, got, want)
		}
	}
	recv(t, tk.open, "upstream connection")
	waitMetric(t, p, `ssews_connections{client="sse",route="/live"}`, 1)
	tk.send("data: x\n\n")
	if ev := s.next(t); ev.Data != "x" || ev.Retry != 2000 || !ev.HasRetry {
		t.Errorf("first event %+v; want data x after retry 2000", ev)
	}
}

// TestSharedRefusedReconnectClosesWith1014: when a shared stream's upstream drops
// and then refuses to come back, WebSocket clients get 1014 as in per-client mode,
// not 1000 ("finished").
func TestSharedRefusedReconnectClosesWith1014(t *testing.T) {
	t.Parallel()
	drop := make(chan struct{})
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n > 1 {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		write(w, "id: 1\ndata: hi\n\n")
		select {
		case <-drop:
		case <-r.Context().Done():
		}
	})
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": sharedRoute(t, "/live", up.URL)})
	c := dialWS(t, p.ws+"/live", nil)
	if got := readText(t, c); !strings.Contains(got, `"hi"`) {
		t.Fatalf("first frame %q", got)
	}
	close(drop)
	// gorilla refuses to parse 1014 (it predates the code's registration), so the
	// code is read from its error: "websocket: bad close code 1014".
	c.SetReadDeadline(time.Now().Add(wait))
	var err error
	for err == nil {
		_, _, err = c.ReadMessage()
	}
	if !strings.HasSuffix(err.Error(), "close code 1014") {
		t.Errorf("connection ended with %v after the upstream refused to come back; want close 1014", err)
	}
}

// TestSharedBurstArrivesWholeAndInOrder: a burst the upstream writes at once is
// delivered in batches; every client of both kinds gets every event once, in order,
// with the same ids, and none is taken for a slow client.
func TestSharedBurstArrivesWholeAndInOrder(t *testing.T) {
	t.Parallel()
	tk := newTicker(t)
	p := startProxy(t, map[string]string{"SSEWS_CONFIG": sharedRoute(t, "/burst", tk.URL)})
	sses := []*sseStream{openSSE(t, p.url+"/burst", nil), openSSE(t, p.url+"/burst", nil)}
	wss := []*websocket.Conn{dialWS(t, p.ws+"/burst", nil), dialWS(t, p.ws+"/burst?format=raw", nil)}
	recv(t, tk.open, "upstream connection")
	waitMetric(t, p, `ssews_connections{client="ws",route="/burst"}`, 2)
	waitMetric(t, p, `ssews_connections{client="sse",route="/burst"}`, 2)
	const n = 1000
	var burst strings.Builder
	for i := range n {
		fmt.Fprintf(&burst, "id: e%d\ndata: %d\ndata: line two\n\n", i, i)
	}
	tk.send(burst.String())
	for j, s := range sses {
		for i := range n {
			ev := s.nextData(t)
			if ev.Data != fmt.Sprintf("%d\nline two", i) || ev.ID != fmt.Sprintf("e%d", i) {
				t.Fatalf("sse client %d event %d: %+v", j, i, ev)
			}
		}
	}
	for i := range n {
		want := fmt.Sprintf(`{"event":"message","data":"%d\nline two","id":"e%d"}`, i, i)
		if got := readText(t, wss[0]); got != want {
			t.Fatalf("ws client event %d: got %s; want %s", i, got, want)
		}
		if got := readText(t, wss[1]); got != fmt.Sprintf("%d\nline two", i) {
			t.Fatalf("raw ws client event %d: got %q", i, got)
		}
	}
	for _, client := range []string{"ws", "sse"} {
		waitMetric(t, p, `ssews_events_out_total{client="`+client+`",route="/burst"}`, 2*n)
		if v, _ := metricValue(t, p, `ssews_slow_client_disconnects_total{client="`+client+`",route="/burst"}`); v != 0 {
			t.Errorf("%s: %v slow-client disconnects; want 0", client, v)
		}
	}
}

// TestSharedClientSetUpDuringABurst: a stream whose upstream sends a burst as soon as
// it connects fills a new client's queue past SSEWS_CLIENT_BUFFER before the client's
// own stream has started; that client is not slow, and gets the whole burst in order.
func TestSharedClientSetUpDuringABurst(t *testing.T) {
	t.Parallel()
	const n = 200
	var burst strings.Builder
	for i := range n {
		fmt.Fprintf(&burst, "data: %d\n\n", i)
	}
	up := newSSEBackend(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		write(w, burst.String())
		<-r.Context().Done()
	})
	p := startProxy(t, map[string]string{
		"SSEWS_CONFIG":        sharedRoute(t, "/burst", up.URL),
		"SSEWS_CLIENT_BUFFER": "4",
	})
	s := openSSE(t, p.url+"/burst?stream=sse", nil)
	c := dialWS(t, p.ws+"/burst?stream=ws&format=raw", nil)
	for i := range n {
		if ev := s.nextData(t); ev.Data != fmt.Sprint(i) {
			t.Fatalf("sse client event %d: %+v", i, ev)
		}
		if got := readText(t, c); got != fmt.Sprint(i) {
			t.Fatalf("ws client event %d: %q", i, got)
		}
	}
	for _, client := range []string{"ws", "sse"} {
		if v, _ := metricValue(t, p, `ssews_slow_client_disconnects_total{client="`+client+`",route="/burst"}`); v != 0 {
			t.Errorf("%s: %v slow-client disconnects; want 0", client, v)
		}
	}
}
